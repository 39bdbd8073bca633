#!/usr/bin/env python3
"""com.microsoft MatMulNBits nodes packed by hand (NumPy), for the forms ORT's
quantizer does not write and for the importer's errors; and
`unsupported_contrib`, a com.microsoft op kiln does not import.

usage: matmulnbits_models.py NAME OUT.onnx
       matmulnbits_models.py --list

Packing (ORT's contrib op spec): B [N, n_blocks, block_size * bits / 8]
uint8, column n's K values as one stream of `bits`-bit fields, low bits
first, the last block zero-padded; scales [N * n_blocks] (N-major); uint8
zero points packed the same way, N rows of ceil(n_blocks * bits / 8) bytes;
or float zero points [N * n_blocks]; g_idx int32 [K]; bias [N].
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def pack(values, bits):
    """Rows of ints in [0, 2^bits) -> rows of bytes, low bits first."""
    per = 8 // bits
    rows, n = values.shape
    nbytes = (n * bits + 7) // 8
    out = np.zeros((rows, nbytes), np.uint8)
    for i in range(n):
        out[:, i // per] |= (values[:, i].astype(np.uint8) << ((i % per) * bits)).astype(np.uint8)
    return out


def nbits_model(name, *, K, N, bits, block, a_shape, zp="packed", bias=False,
                g_idx=False, seed=0, b_as_input=False, attrs=None,
                scales_shape=None, g_idx_values=None, b_shape=None):
    rng = np.random.default_rng(seed)
    nb = (K + block - 1) // block
    q = rng.integers(0, 1 << bits, (N, nb * block))
    q[:, K:] = 0  # padding past K
    b = pack(q, bits).reshape(N, nb, block * bits // 8)
    if b_shape is not None:
        b = np.zeros(b_shape, np.uint8)
    scales = (rng.uniform(0.5, 1.5, (N, nb)) / (1 << bits)).astype(np.float32)
    inits = [numpy_helper.from_array(scales.reshape(scales_shape or (N * nb,)), "scales")]
    if not b_as_input:
        inits.append(numpy_helper.from_array(b, "B"))
    inputs = ["A", "B", "scales", "", "", ""]
    if zp == "packed":
        z = rng.integers(0, 1 << bits, (N, nb))
        inits.append(numpy_helper.from_array(pack(z, bits).reshape(-1), "zp"))
        inputs[3] = "zp"
    elif zp == "float":
        z = rng.uniform(0, (1 << bits) - 1, (N * nb,)).astype(np.float32)
        inits.append(numpy_helper.from_array(z, "zp"))
        inputs[3] = "zp"
    if g_idx:
        gi = (np.arange(K) // block if g_idx_values is None else g_idx_values)
        inits.append(numpy_helper.from_array(np.asarray(gi, np.int32), "g_idx"))
        inputs[4] = "g_idx"
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(N).astype(np.float32), "bias"))
        inputs[5] = "bias"
    while inputs[-1] == "":
        inputs.pop()
    at = dict(K=K, N=N, bits=bits, block_size=block, accuracy_level=0)
    at.update(attrs or {})
    node = helper.make_node("MatMulNBits", inputs, ["Y"], name="mm", domain="com.microsoft", **at)
    graph_inputs = [helper.make_tensor_value_info("A", TensorProto.FLOAT, a_shape)]
    if b_as_input:
        graph_inputs.append(helper.make_tensor_value_info("B", TensorProto.UINT8, list(b.shape)))
    y_shape = list(a_shape[:-1]) + [N]
    graph = helper.make_graph([node], name, graph_inputs,
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape)],
                              initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 10
    return m


MODELS = {
    # K = 80 with block 32: 3 blocks, the last one half padding; 4-bit zero
    # points of 3 blocks take 2 bytes per column (one nibble unused).
    "k_padded_4bit": dict(K=80, N=24, bits=4, block=32, a_shape=[3, 80]),
    "bias_4bit": dict(K=64, N=40, bits=4, block=16, a_shape=[2, 5, 64], bias=True),
    # ORT 1.32's CPU kernel ignores uint8 zero points when g_idx is given
    # (its reorder dequantization reads the nibble into a local it never
    # uses, so every block gets the default 8): g_idx is tested with float
    # zero points and without zero points, where ORT follows the spec.
    "gidx_float_zp_4bit": dict(K=64, N=40, bits=4, block=16, a_shape=[2, 5, 64],
                               g_idx=True, zp="float"),
    "gidx_nozp_4bit": dict(K=64, N=40, bits=4, block=16, a_shape=[2, 5, 64], g_idx=True, zp=None),
    # Act-order (GPTQ desc_act): each block's rows scattered over K.
    "act_order_4bit": dict(K=96, N=40, bits=4, block=32, a_shape=[2, 5, 96],
                           g_idx=True, zp="float",
                           g_idx_values=[(k * 7) % 3 for k in range(96)]),
    "act_order_nozp_4bit": dict(K=64, N=24, bits=4, block=16, a_shape=[3, 64],
                                g_idx=True, zp=None,
                                g_idx_values=[(k % 4) for k in range(64)]),
    "float_zp_4bit": dict(K=96, N=16, bits=4, block=32, a_shape=[4, 96], zp="float"),
    "no_zp_8bit": dict(K=128, N=32, bits=8, block=64, a_shape=[2, 128], zp=None),
    "zp_8bit_2d_scales": dict(K=48, N=8, bits=8, block=16, a_shape=[1, 3, 48],
                              scales_shape=(8, 3)),
    "bits2": dict(K=64, N=16, bits=2, block=32, a_shape=[4, 64]),
    # Errors.
    "err_b_input": dict(K=32, N=8, bits=4, block=32, a_shape=[2, 32], b_as_input=True),
    "err_bits3": dict(K=32, N=8, bits=4, block=32, a_shape=[2, 32], attrs=dict(bits=3)),
    "err_b_shape": dict(K=64, N=8, bits=4, block=32, a_shape=[2, 64], b_shape=(8, 1, 16)),
    "err_gidx_counts": dict(K=64, N=8, bits=4, block=32, a_shape=[2, 64], g_idx=True,
                            g_idx_values=[int(k >= 40) for k in range(64)]),
    "err_block": dict(K=48, N=8, bits=4, block=16, a_shape=[2, 48], attrs=dict(block_size=24)),
}


def unsupported_contrib():
    """A com.microsoft QLinearSigmoid (kiln has no handler for it)."""
    vi = helper.make_tensor_value_info
    node = helper.make_node(
        "QLinearSigmoid", ["X", "xs", "xz", "ys", "yz"], ["Y"], name="qsig",
        domain="com.microsoft")
    inits = [numpy_helper.from_array(np.array(0.1, np.float32), "xs"),
             numpy_helper.from_array(np.array(128, np.uint8), "xz"),
             numpy_helper.from_array(np.array(1 / 256, np.float32), "ys"),
             numpy_helper.from_array(np.array(0, np.uint8), "yz")]
    graph = helper.make_graph([node], "qsig", [vi("X", TensorProto.UINT8, [4])],
                              [vi("Y", TensorProto.UINT8, [4])], initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 10
    return m


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--list", action="store_true")
    a = p.parse_args(argv)
    if a.list or not a.name:
        print("\n".join(list(MODELS) + ["unsupported_contrib"]))
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    if a.name == "unsupported_contrib":
        onnx.save(unsupported_contrib(), a.out)
        return 0
    if a.name not in MODELS:
        p.error(f"unknown model {a.name}")
    onnx.save(nbits_model(a.name, **MODELS[a.name]), a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

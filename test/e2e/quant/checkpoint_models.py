"""GPTQ and AWQ int4 checkpoints and the ONNX float models they belong to,
for check_checkpoint.py (kiln compile --checkpoint DIR).

Written from the layouts in docs/techniques.md section 11 (HuggingFace
`quantization_config` conventions); nothing here imports a quantization
library, and the safetensors files are written and read by hand.

A linear layer with prefix P, K inputs and N outputs:
  GPTQ  P.qweight int32 [K*bits/32, N]  values packed along K: value
                                        k = r*(32/bits) + j sits at bits
                                        j*bits.. of row r (low bits first)
        P.qzeros  int32 [K/G, N*bits/32] zero points packed along N the
                                        same way; "gptq" (v1) stores
                                        zero - 1, "gptq_v2" the zero
        P.scales  float16 [K/G, N]
        P.g_idx   int32 [K]             group of each input row (optional)
        W[k, n] = scales[g_idx[k], n] * (q[k, n] - zero[g_idx[k], n])
  AWQ   P.qweight int32 [K, N/8]        packed along N, nibble i of word c
                                        holds column 8c + AWQ_ORDER[i]
        P.qzeros  int32 [K/G, N/8]      the same order
        P.scales  float16 [K/G, N]
        W[k, n] = (q[k, n] - zero[k//G, n]) * scales[k//G, n]
The ONNX graph holds P.weight [N, K] (torch's [out, in]), consumed by
Gemm(transB=1) or by Transpose(perm=[1, 0]) -> MatMul.

The packers and the unpackers are written independently (the packers
shift values into place by their logical index, the unpackers pull fields
out by bit position and undo the order with the reverse permutation), and
round_trip_checks() checks one against the other plus golden words.
"""

import json
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from quant_checks import check

# Logical column held by nibble i of an AWQ word, and its inverse: the
# nibble holding logical column j.
AWQ_ORDER = [0, 2, 4, 6, 1, 3, 5, 7]
AWQ_REVERSE_ORDER = [0, 4, 1, 5, 2, 6, 3, 7]


# --------------------------------------------------------------------------
# Quantization (fixed-seed float weights -> codes, fp16 scales, zeros)
# --------------------------------------------------------------------------

def random_weight(n, k, seed):
    """A torch-layout Linear weight [N, K] (out, in), fan-in scaled."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)


def act_order_g_idx(k, group, seed):
    """g_idx for act-order (desc_act): the input rows are visited in a
    random permutation and consecutive runs of G visited rows form a
    group, so every group has exactly G rows, scattered over K:
    g_idx[k] = invperm[k] // G."""
    perm = np.random.default_rng(seed).permutation(k)
    invperm = np.empty(k, np.int64)
    invperm[perm] = np.arange(k)
    return (invperm // group).astype(np.int32)


def quantize(w_nk, bits, group, sym, g_idx=None):
    """Min-max round-to-nearest quantization of a torch weight [N, K] in
    groups of G input rows (group -1: one group of all K).

    Returns a dict with codes [K, N] (int64, 0..2^bits-1), scales
    [K/G, N] float16, zeros [K/G, N] (int64) and g_idx [K] (int32):
    w[n, k] ~= scales[g_idx[k], n] * (codes[k, n] - zeros[g_idx[k], n]).
    Asymmetric: the range [min(w, 0), max(w, 0)] of each group and output
    column spans 0..2^bits-1. Symmetric: zero = 2^(bits-1), scale =
    2 max|w| / (2^bits - 1) (AutoGPTQ's sym). The scale is rounded to
    float16 before the codes are computed, so the codes are the nearest
    ones for the scale actually stored."""
    n, k = w_nk.shape
    g = k if group == -1 else group
    assert k % g == 0, "whole groups only"
    if g_idx is None:
        g_idx = (np.arange(k) // g).astype(np.int32)
    groups = k // g
    maxq = 2 ** bits - 1
    wt = w_nk.T.astype(np.float64)  # [K, N]
    scales = np.empty((groups, n), np.float16)
    zeros = np.empty((groups, n), np.int64)
    codes = np.empty((k, n), np.int64)
    for gi in range(groups):
        rows = np.nonzero(g_idx == gi)[0]
        assert len(rows) == g
        blk = wt[rows]
        if sym:
            amax = np.abs(blk).max(axis=0)
            s = np.where(amax > 0, 2 * amax / maxq, 1.0)
            z = np.full(n, 2 ** (bits - 1), np.int64)
        else:
            lo = np.minimum(blk.min(axis=0), 0.0)
            hi = np.maximum(blk.max(axis=0), 0.0)
            s = np.where(hi > lo, (hi - lo) / maxq, 1.0)
            s = s.astype(np.float16).astype(np.float64)
            z = np.clip(np.rint(-lo / s), 0, maxq).astype(np.int64)
        s16 = s.astype(np.float16)
        scales[gi] = s16
        zeros[gi] = z
        codes[rows] = np.clip(
            np.rint(blk / s16.astype(np.float64)) + z, 0, maxq)
    return {"codes": codes, "scales": scales, "zeros": zeros,
            "g_idx": g_idx.astype(np.int32), "bits": bits}


def dequantize(q):
    """The reference dequantization of quantize()'s (or an unpacker's)
    result: W [K, N] float32 (exact: an fp16 scale times a small
    integer)."""
    gi = q["g_idx"]
    s = q["scales"].astype(np.float32)[gi]
    return (s * (q["codes"] - q["zeros"][gi]).astype(np.float32)).astype(
        np.float32)


# --------------------------------------------------------------------------
# Packing (AutoGPTQ QuantLinear.pack, AutoAWQ WQLinear_GEMM layout)
# --------------------------------------------------------------------------

def _as_int32(words):
    return np.asarray(words, np.uint64).astype(np.uint32).view(np.int32)


def pack_gptq(q, version):
    """GPTQ tensors (qweight, qzeros, scales, g_idx) for quantize()'s
    result; version "gptq" (v1: stores zero - 1) or "gptq_v2"."""
    bits = q["bits"]
    per = 32 // bits
    codes, zeros = q["codes"], q["zeros"]
    k, n = codes.shape
    assert k % per == 0 and n % per == 0
    qweight = np.zeros((k // per, n), np.uint64)
    for kk in range(k):
        qweight[kk // per] |= codes[kk].astype(np.uint64) << np.uint64(
            bits * (kk % per))
    stored = zeros - 1 if version == "gptq" else zeros.copy()
    # v1 cannot store zero 0 (-1 would spill into the neighbours' bits in
    # AutoGPTQ's pack); the quantizer never makes one for these weights.
    assert stored.min() >= 0 and stored.max() < 2 ** bits
    qzeros = np.zeros((zeros.shape[0], n // per), np.uint64)
    for nn in range(n):
        qzeros[:, nn // per] |= stored[:, nn].astype(np.uint64) << np.uint64(
            bits * (nn % per))
    return {"qweight": _as_int32(qweight), "qzeros": _as_int32(qzeros),
            "scales": q["scales"].copy(), "g_idx": q["g_idx"].copy()}


def pack_awq(q):
    """AWQ GEMM tensors (qweight, qzeros, scales) for a 4-bit quantize()
    result without act-order."""
    assert q["bits"] == 4
    codes, zeros = q["codes"], q["zeros"]
    k, n = codes.shape
    assert n % 8 == 0
    assert np.array_equal(q["g_idx"], np.arange(k) // (k // len(zeros)))

    def pack_cols(vals):  # [R, N] -> [R, N/8], nibble i = column AWQ_ORDER[i]
        out = np.zeros((vals.shape[0], n // 8), np.uint64)
        for c in range(n // 8):
            for i, col in enumerate(AWQ_ORDER):
                out[:, c] |= vals[:, 8 * c + col].astype(np.uint64) << \
                    np.uint64(4 * i)
        return _as_int32(out)

    return {"qweight": pack_cols(codes), "qzeros": pack_cols(zeros),
            "scales": q["scales"].copy()}


# --------------------------------------------------------------------------
# Unpacking (independent reimplementation of the reference formulas)
# --------------------------------------------------------------------------

def _fields(words, bits):
    """int32 words [..., W] -> [..., W, 32/bits]: field f = bits f*bits.."""
    u = words.view(np.uint32).astype(np.int64)
    shifts = np.arange(0, 32, bits, dtype=np.int64)
    return (u[..., None] >> shifts) & (2 ** bits - 1)


def unpack_gptq(t, bits, version, k, group):
    """qweight/qzeros/scales[/g_idx] -> codes [K, N], zeros [K/G, N],
    scales, g_idx (i // G when the checkpoint has none)."""
    qw = t["qweight"]
    codes = _fields(qw, bits)                       # [K/per, N, per]
    codes = codes.transpose(0, 2, 1).reshape(-1, qw.shape[1])
    z = _fields(t["qzeros"], bits)                  # [G', N/per, per]
    z = z.reshape(z.shape[0], -1)
    if version == "gptq":
        z = z + 1
    g = k if group == -1 else group
    g_idx = t.get("g_idx")
    if g_idx is None:
        g_idx = np.arange(k, dtype=np.int32) // g
    return {"codes": codes, "zeros": z, "scales": t["scales"],
            "g_idx": np.asarray(g_idx, np.int32), "bits": bits}


def unpack_awq(t, group):
    """qweight/qzeros/scales -> codes [K, N], zeros [K/G, N], scales,
    g_idx = k // G; the nibbles are put back in logical order with
    AWQ_REVERSE_ORDER."""
    def cols(words):
        f = _fields(words, 4)[..., AWQ_REVERSE_ORDER]  # [R, N/8, 8] logical
        return f.reshape(f.shape[0], -1)
    codes = cols(t["qweight"])
    k = codes.shape[0]
    g = k if group == -1 else group
    return {"codes": codes, "zeros": cols(t["qzeros"]), "scales": t["scales"],
            "g_idx": (np.arange(k) // g).astype(np.int32), "bits": 4}


# --------------------------------------------------------------------------
# safetensors, config.json
# --------------------------------------------------------------------------

_ST_DTYPES = {"I32": np.dtype("<i4"), "F16": np.dtype("<f2"),
              "F32": np.dtype("<f4"), "I64": np.dtype("<i8")}


def to_bf16_bits(a):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even."""
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def from_bf16_bits(b):
    return (np.asarray(b, np.uint16).astype(np.uint32) << 16).view(np.float32)


class BF16:
    """A float32 array to be stored as BF16."""

    def __init__(self, a):
        self.bits = to_bf16_bits(a)
        self.shape = np.shape(a)


def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> numpy array (int32, float16, float32) or BF16."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if isinstance(t, BF16):
            dtype, raw, shape = "BF16", t.bits.astype("<u2").tobytes(), t.shape
        else:
            dtype = {np.dtype(np.int32): "I32", np.dtype(np.float16): "F16",
                     np.dtype(np.float32): "F32",
                     np.dtype(np.int64): "I64"}[t.dtype]
            raw = np.ascontiguousarray(t, _ST_DTYPES[dtype]).tobytes()
            shape = t.shape
        header[name] = {"dtype": dtype, "shape": [int(d) for d in shape],
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = metadata or {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """name -> numpy array (BF16 as float32)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b:base + e]
        if info["dtype"] == "BF16":
            a = from_bf16_bits(np.frombuffer(raw, "<u2"))
        else:
            a = np.frombuffer(raw, _ST_DTYPES[info["dtype"]])
        out[name] = a.reshape(info["shape"]).copy()
    return out


def read_checkpoint(ckpt):
    """config.json's quantization_config and every tensor of every
    *.safetensors file in the folder."""
    with open(os.path.join(ckpt, "config.json")) as f:
        qc = json.load(f)["quantization_config"]
    tensors = {}
    for name in sorted(os.listdir(ckpt)):
        if name.endswith(".safetensors"):
            part = read_safetensors(os.path.join(ckpt, name))
            assert not set(part) & set(tensors)
            tensors.update(part)
    return qc, tensors


def gptq_config(bits, group, desc_act, sym, version):
    qc = {"quant_method": "gptq", "bits": bits, "group_size": group,
          "desc_act": desc_act, "sym": sym, "damp_percent": 0.01,
          "true_sequential": True}
    if version is not None:  # None: absent (v1 by default)
        qc["checkpoint_format"] = version
    return qc


def awq_config(group):
    return {"quant_method": "awq", "bits": 4, "group_size": group,
            "zero_point": True, "version": "gemm"}


def write_checkpoint(ckpt, qconfig, files):
    """files: file name -> {tensor name: array}; writes config.json (a
    small Llama-like one with the quantization_config) and the files (and
    an index when there are several, as sharded HF checkpoints have)."""
    os.makedirs(ckpt, exist_ok=True)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
              "torch_dtype": "float16", "quantization_config": qconfig}
    with open(os.path.join(ckpt, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for fname, tensors in files.items():
        write_safetensors(os.path.join(ckpt, fname), tensors)
    if len(files) > 1:
        index = {"metadata": {}, "weight_map": {
            t: fname for fname, ts in files.items() for t in ts}}
        with open(os.path.join(ckpt, "model.safetensors.index.json"),
                  "w") as f:
            json.dump(index, f, indent=2)


def linear_weights_from_checkpoint(qc, tensors, prefix, k):
    """The dequantized W [K, N] float32 of layer `prefix`, from the tensors
    as read back from disk (unpack + reference formula)."""
    t = {name[len(prefix) + 1:]: v for name, v in tensors.items()
         if name.startswith(prefix + ".")}
    group = qc["group_size"]
    if qc["quant_method"] == "gptq":
        version = qc.get("checkpoint_format", "gptq")
        q = unpack_gptq(t, qc["bits"], version, k, group)
    else:
        q = unpack_awq(t, group)
    return dequantize(q)


# --------------------------------------------------------------------------
# Round trips and golden words
# --------------------------------------------------------------------------

def round_trip_checks():
    """pack -> unpack == codes, zeros, scales, g_idx for each format (GPTQ
    v1 with its zero - 1 offset, v2, 2/4/8 bits, act-order; AWQ with its
    nibble order), and golden words. Prints one ok/FAIL line each."""
    w = random_weight(64, 256, seed=5)
    for label, bits, group, sym, version, act in [
            ("gptq v1 4-bit g32 asym act-order", 4, 32, False, "gptq", True),
            ("gptq v1 4-bit g128 sym", 4, 128, True, "gptq", False),
            ("gptq_v2 4-bit g64 asym", 4, 64, False, "gptq_v2", False),
            ("gptq v1 8-bit g128 asym", 8, 128, False, "gptq", False),
            ("gptq v1 2-bit g-1 asym", 2, -1, False, "gptq", False)]:
        g_idx = act_order_g_idx(256, group, seed=6) if act else None
        q = quantize(w, bits, group, sym, g_idx)
        t = pack_gptq(q, version)
        if not act:
            del t["g_idx"]  # optional: i // G
        u = unpack_gptq(t, bits, version, 256, group)
        same = all(np.array_equal(q[f], u[f])
                   for f in ("codes", "zeros", "scales", "g_idx"))
        check(same and t["qweight"].shape == (256 * bits // 32, 64)
              and t["qzeros"].shape[1] == 64 * bits // 32,
              f"pack/unpack round trip {label}: codes, zeros, scales, g_idx "
              f"equal (qweight {list(t['qweight'].shape)}, qzeros "
              f"{list(t['qzeros'].shape)}, codes {q['codes'].min()}.."
              f"{q['codes'].max()}, zeros {q['zeros'].min()}.."
              f"{q['zeros'].max()})")
    for group in (32, 128, -1):
        q = quantize(w, 4, group, False)
        t = pack_awq(q)
        u = unpack_awq(t, group)
        same = all(np.array_equal(q[f], u[f])
                   for f in ("codes", "zeros", "scales", "g_idx"))
        check(same and t["qweight"].shape == (256, 8),
              f"pack/unpack round trip awq 4-bit g{group}: codes, zeros, "
              f"scales equal (qweight {list(t['qweight'].shape)}, qzeros "
              f"{list(t['qzeros'].shape)})")

    # AWQ golden: logical columns 0..7 holding codes 0..7 -> 0x75316420.
    q = {"codes": np.tile(np.arange(8), (8, 1)), "zeros": np.full((1, 8), 8),
         "scales": np.ones((1, 8), np.float16),
         "g_idx": np.zeros(8, np.int32), "bits": 4}
    t = pack_awq(q)
    word = int(t["qweight"].view(np.uint32)[0, 0])
    zword = int(t["qzeros"].view(np.uint32)[0, 0])
    check(word == 0x75316420 and zword == 0x88888888 and np.array_equal(
        unpack_awq(t, -1)["codes"], q["codes"]),
        f"awq golden: columns with codes 0..7 pack to 0x{word:08x} "
        "(0x75316420), zeros 8 to 0x{:08x}".format(zword))

    # GPTQ v1 golden: codes 0..7 along K in one column -> 0x76543210; the
    # zero 8 is stored as nibble 7 (v1) or 8 (v2).
    q = {"codes": np.tile(np.arange(8)[:, None], (1, 8)),
         "zeros": np.full((1, 8), 8), "scales": np.ones((1, 8), np.float16),
         "g_idx": np.zeros(8, np.int32), "bits": 4}
    t1, t2 = pack_gptq(q, "gptq"), pack_gptq(q, "gptq_v2")
    w1 = int(t1["qweight"].view(np.uint32)[0, 0])
    z1 = int(t1["qzeros"].view(np.uint32)[0, 0])
    z2 = int(t2["qzeros"].view(np.uint32)[0, 0])
    check(w1 == 0x76543210 and z1 == 0x77777777 and z2 == 0x88888888,
          f"gptq golden: codes 0..7 along K pack to 0x{w1:08x} (0x76543210); "
          f"zero 8 stored as 0x{z1:08x} in v1 (nibble 7), 0x{z2:08x} in v2")


# --------------------------------------------------------------------------
# ONNX float models
# --------------------------------------------------------------------------

UP, DOWN = "model.layers.0.mlp.up_proj", "model.layers.0.mlp.down_proj"
NORM = "model.layers.0.post_attention_layernorm"


def mlp_params(k, hidden, n, seed, gemm):
    """Float parameters (torch layouts) of the MLP: the norm (3-D model
    only), up_proj weight [H, K] + bias, down_proj weight [N, H] (+ bias in
    the Gemm model)."""
    rng = np.random.default_rng(seed)
    p = {UP + ".weight": random_weight(hidden, k, seed + 1),
         UP + ".bias": (rng.standard_normal(hidden) * 0.1).astype(np.float32),
         DOWN + ".weight": random_weight(n, hidden, seed + 2)}
    if gemm:
        p[DOWN + ".bias"] = (rng.standard_normal(n) * 0.1).astype(np.float32)
    else:
        p[NORM + ".weight"] = (1 + 0.2 * rng.standard_normal(k)).astype(
            np.float32)
        p[NORM + ".bias"] = (0.1 * rng.standard_normal(k)).astype(np.float32)
    return p


def make_mlp_model(path, x_shape, params, gemm):
    """The float model, as torch.onnx.export writes torch.nn.Linear.

    gemm=False (x [.., K], 3-D): LayerNormalization(norm weight, bias) ->
      Transpose(up_proj.weight) -> MatMul -> Add(up_proj.bias) -> Relu ->
      Transpose(down_proj.weight) -> MatMul -> y.
    gemm=True (x [M, K]): Gemm(x, up_proj.weight, up_proj.bias, transB=1)
      -> Relu -> Gemm(., down_proj.weight, down_proj.bias, transB=1) -> y.
    """
    n = params[DOWN + ".weight"].shape[0]
    if gemm:
        nodes = [
            helper.make_node("Gemm", ["x", UP + ".weight", UP + ".bias"],
                             ["/up_proj/Gemm_output_0"], transB=1,
                             name="/up_proj/Gemm"),
            helper.make_node("Relu", ["/up_proj/Gemm_output_0"], ["/act"],
                             name="/act/Relu"),
            helper.make_node("Gemm", ["/act", DOWN + ".weight",
                                      DOWN + ".bias"], ["y"], transB=1,
                             name="/down_proj/Gemm")]
    else:
        nodes = [
            helper.make_node("LayerNormalization",
                             ["x", NORM + ".weight", NORM + ".bias"],
                             ["/norm"], axis=-1, epsilon=1e-5,
                             name="/norm/LayerNormalization"),
            helper.make_node("Transpose", [UP + ".weight"], ["/up_proj/wT"],
                             perm=[1, 0], name="/up_proj/Transpose"),
            helper.make_node("MatMul", ["/norm", "/up_proj/wT"],
                             ["/up_proj/MatMul_output_0"],
                             name="/up_proj/MatMul"),
            helper.make_node("Add", ["/up_proj/MatMul_output_0",
                                     UP + ".bias"], ["/up_proj/out"],
                             name="/up_proj/Add"),
            helper.make_node("Relu", ["/up_proj/out"], ["/act"],
                             name="/act/Relu"),
            helper.make_node("Transpose", [DOWN + ".weight"],
                             ["/down_proj/wT"], perm=[1, 0],
                             name="/down_proj/Transpose"),
            helper.make_node("MatMul", ["/act", "/down_proj/wT"], ["y"],
                             name="/down_proj/MatMul")]
    out_shape = list(x_shape[:-1]) + [n]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v, np.float32), name)
         for name, v in params.items()])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


# --------------------------------------------------------------------------
# Checkpoints kiln must refuse (checkpoint.test's error cases)
# --------------------------------------------------------------------------

def write_error_cases(out):
    """Writes into `out` the 3-D MLP model.onnx (K 64 -> 64 -> 32), a model
    whose up_proj weight is also read by an Identity (misuse.onnx), and
    checkpoint folders: good (gptq v1 4-bit g32, plus a tensor no
    initializer has), renamed (layers under another prefix), bad_method
    (quant_method bitsandbytes), truncated (model.safetensors cut short),
    wrong_shape (up_proj quantized with K=128), no_tensors (config only),
    group8 (group_size 8)."""
    import shutil
    os.makedirs(out, exist_ok=True)
    k, hidden, n = 64, 64, 32
    params = mlp_params(k, hidden, n, seed=11, gemm=False)
    make_mlp_model(os.path.join(out, "model.onnx"), (1, 2, k), params, False)
    misuse = onnx.load(os.path.join(out, "model.onnx"))
    misuse.graph.node.append(helper.make_node(
        "Identity", [UP + ".weight"], ["w_copy"], name="/copy"))
    misuse.graph.output.append(helper.make_tensor_value_info(
        "w_copy", TensorProto.FLOAT, [hidden, k]))
    onnx.save(misuse, os.path.join(out, "misuse.onnx"))

    def layers(prefixes, group, shapes):
        t = {}
        for i, (prefix, (nn, kk)) in enumerate(zip(prefixes, shapes)):
            q = quantize(random_weight(nn, kk, 20 + i), 4, group, True)
            for field, v in pack_gptq(q, "gptq").items():
                t[f"{prefix}.{field}"] = v
        return t

    shapes = [(hidden, k), (n, hidden)]
    good = layers([UP, DOWN], 32, shapes)
    good["lm_head.weight"] = np.zeros((4, 4), np.float16)
    write_checkpoint(os.path.join(out, "good"),
                     gptq_config(4, 32, False, False, "gptq"),
                     {"model.safetensors": good})
    write_checkpoint(os.path.join(out, "renamed"),
                     gptq_config(4, 32, False, False, "gptq"),
                     {"model.safetensors": layers(
                         ["model.layers.7.mlp.up_proj", DOWN], 32, shapes)})
    bad = dict(gptq_config(4, 32, False, False, "gptq"),
               quant_method="bitsandbytes")
    write_checkpoint(os.path.join(out, "bad_method"), bad,
                     {"model.safetensors": layers([UP, DOWN], 32, shapes)})
    shutil.copytree(os.path.join(out, "good"), os.path.join(out, "truncated"))
    path = os.path.join(out, "truncated", "model.safetensors")
    os.truncate(path, os.path.getsize(path) - 100)
    write_checkpoint(os.path.join(out, "wrong_shape"),
                     gptq_config(4, 32, False, False, "gptq"),
                     {"model.safetensors": layers(
                         [UP, DOWN], 32, [(hidden, 128), (n, hidden)])})
    write_checkpoint(os.path.join(out, "no_tensors"),
                     gptq_config(4, 32, False, False, "gptq"), {})
    write_checkpoint(os.path.join(out, "group8"),
                     gptq_config(4, 8, False, False, "gptq"),
                     {"model.safetensors": layers([UP, DOWN], 8, shapes)})


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "errors":
        write_error_cases(sys.argv[2])
        sys.exit(0)
    from quant_checks import exit_status
    round_trip_checks()
    sys.exit(exit_status())

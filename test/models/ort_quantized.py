#!/usr/bin/env python3
"""Small fp32 models quantized with ONNX Runtime's own quantization tools.

usage: ort_quantized.py MODEL MODE OUT.onnx [--seed N] [--fp32 FP32.onnx]
       ort_quantized.py --list

MODEL (random weights, fixed seed, opset 21):
  mlp          [4,64] MatMul+Add+Relu -> MatMul+Add+Gelu -> MatMul+Add -> [4,32]
  cnn          [2,3,16,16] Conv+Relu+MaxPool -> Conv+Relu -> GlobalAveragePool
               -> Flatten -> Gemm -> [2,10]
  convs        [1,3,32,32] 7x7 stride-2 stem, 1x1 convs (stride 1 and 2),
               3x3 stride 2 with asymmetric pads, dilated 3x3, a residual
               Add, depthwise 3x3 (stride 1 and 2) -> GlobalAveragePool ->
               Gemm -> [1,10]
  transformer  [1,16,64] one pre-LN encoder block: LayerNorm, Q/K/V MatMul,
               4 heads, Softmax, output MatMul, residual, LayerNorm,
               MatMul+Gelu+MatMul FFN (256), residual

MODE (the ORT tool and its settings):
  qdq          quantize_static, QDQ format, uint8 activations, int8 weights
               per tensor (MinMax calibration on 4 random batches)
  qdq_pc       the same with per_channel=True (int8 weights per output channel)
  qop          quantize_static, QOperator format (QLinearConv, QLinearMatMul,
               and com.microsoft QLinearAdd/QGemm/... where ORT emits them)
  qop_pc       the same with per_channel=True
  dynamic      quantize_dynamic: DynamicQuantizeLinear + MatMulInteger /
               ConvInteger, int8 weights
  nbits4       MatMulNBitsQuantizer: com.microsoft MatMulNBits, 4 bits,
               block 32, asymmetric (uint8 packed zero points)
  nbits4_sym   the same, block 128, symmetric (no zero points)
  nbits8       8 bits, block 32, asymmetric

Calibration data and weights come from fixed seeds, so a model is the same on
every run with the same onnx/onnxruntime/numpy versions. Nothing written here
is committed (DESIGN.md: generated files are never committed).
"""

import argparse
import logging
import math
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import onnx  # noqa: E402

from util import GraphBuilder  # noqa: E402

OPSET = 21


def _w(rng, shape, fan_in):
    return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)


def _b(rng, n, scale=0.05):
    return (rng.standard_normal(n) * scale).astype(np.float32)


def build_mlp(seed=0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("mlp_q", opset=OPSET)
    h = b.input("input", np.float32, [4, 64])
    dims = [64, 128, 256, 32]
    for i, (fi, fo) in enumerate(zip(dims[:-1], dims[1:])):
        with b.scope(f"fc{i}"):
            h = b.op("MatMul", [h, b.init(f"fc{i}.weight", _w(rng, (fi, fo), fi))])
            h = b.op("Add", [h, b.init(f"fc{i}.bias", _b(rng, fo))])
        if i == 0:
            h = b.op("Relu", [h])
        elif i == 1:
            h = b.op("Gelu", [h])
    b.output(h, np.float32, [4, 32], name="output")
    return b.model(doc="ort_quantized mlp")


def build_cnn(seed=0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("cnn_q", opset=OPSET)
    h = b.input("input", np.float32, [2, 3, 16, 16])
    with b.scope("conv1"):
        h = b.op("Conv", [h, b.init("conv1.weight", _w(rng, (8, 3, 3, 3), 27)),
                          b.init("conv1.bias", _b(rng, 8))],
                 pads=[1, 1, 1, 1], kernel_shape=[3, 3])
        h = b.op("Relu", [h])
        h = b.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    with b.scope("conv2"):
        h = b.op("Conv", [h, b.init("conv2.weight", _w(rng, (16, 8, 3, 3), 72)),
                          b.init("conv2.bias", _b(rng, 16))],
                 pads=[1, 1, 1, 1], kernel_shape=[3, 3])
        h = b.op("Relu", [h])
        h = b.op("GlobalAveragePool", [h])
        h = b.op("Flatten", [h], axis=1)
    with b.scope("fc"):
        h = b.op("Gemm", [h, b.init("fc.weight", _w(rng, (10, 16), 16)),
                          b.init("fc.bias", _b(rng, 10))], transB=1)
    b.output(h, np.float32, [2, 10], name="output")
    return b.model(doc="ort_quantized cnn")


def build_convs(seed=0):
    """Every window the integer conv takes: a 7x7 stride-2 stem, 1x1 convs
    (stride 1 and 2), an asymmetrically padded 3x3 stride 2, a dilated 3x3,
    a residual Add, depthwise 3x3 convs (stride 1, and stride 2 with
    asymmetric pads), channel counts that are not multiples of 8."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("convs_q", opset=OPSET)
    x = b.input("input", np.float32, [1, 3, 32, 32])

    def conv(name, v, fi, fo, k, relu=True, **attrs):
        w = b.init(f"{name}.weight", _w(rng, (fo, fi, k, k), fi * k * k))
        with b.scope(name):
            v = b.op("Conv", [v, w, b.init(f"{name}.bias", _b(rng, fo))],
                     kernel_shape=[k, k], **attrs)
            return b.op("Relu", [v]) if relu else v

    h = conv("stem", x, 3, 12, 7, strides=[2, 2], pads=[3, 3, 3, 3])     # 12x16x16
    r = conv("reduce", h, 12, 20, 1)                                      # 20x16x16
    h = conv("down", r, 20, 20, 3, strides=[2, 2], pads=[0, 0, 1, 1])    # 20x8x8
    s = conv("shortcut", r, 20, 20, 1, relu=False, strides=[2, 2])       # 20x8x8
    with b.scope("residual"):
        h = b.op("Relu", [b.op("Add", [h, s])])
    h = conv("dilated", h, 20, 24, 3, pads=[2, 2, 2, 2], dilations=[2, 2])  # 24x8x8
    h = conv("depthwise", h, 1, 24, 3, pads=[1, 1, 1, 1], group=24)      # 24x8x8
    h = conv("depthwise_down", h, 1, 24, 3, strides=[2, 2],
             pads=[0, 0, 1, 1], group=24)                                 # 24x4x4
    with b.scope("head"):
        h = b.op("GlobalAveragePool", [h])
        h = b.op("Flatten", [h], axis=1)
        h = b.op("Gemm", [h, b.init("fc.weight", _w(rng, (10, 24), 24)),
                          b.init("fc.bias", _b(rng, 10))], transB=1)
    b.output(h, np.float32, [1, 10], name="output")
    return b.model(doc="ort_quantized convs")


def build_transformer(seed=0):
    rng = np.random.default_rng(seed)
    S, D, H, F = 16, 64, 4, 256
    dh = D // H
    b = GraphBuilder("transformer_q", opset=OPSET)
    x = b.input("input", np.float32, [1, S, D])

    def ln(name, v):
        g = b.init(f"{name}.weight", rng.uniform(0.8, 1.2, D).astype(np.float32))
        be = b.init(f"{name}.bias", _b(rng, D))
        return b.op("LayerNormalization", [v, g, be], axis=-1, epsilon=1e-5)

    def linear(name, v, fi, fo):
        v = b.op("MatMul", [v, b.init(f"{name}.weight", _w(rng, (fi, fo), fi))])
        return b.op("Add", [v, b.init(f"{name}.bias", _b(rng, fo))])

    with b.scope("attn"):
        h = ln("ln1", x)
        heads = b.init("heads_shape", np.array([1, S, H, dh], np.int64))
        qkv = []
        for n in ("q", "k", "v"):
            with b.scope(n):
                t = linear(n, h, D, D)
                t = b.op("Reshape", [t, heads])
                qkv.append(b.op("Transpose", [t], perm=[0, 2, 1, 3]))
        q, k, v = qkv
        kt = b.op("Transpose", [k], perm=[0, 1, 3, 2])
        s = b.op("MatMul", [q, kt])
        s = b.op("Mul", [s, b.init("inv_sqrt_dh",
                                   np.array(1.0 / math.sqrt(dh), np.float32))])
        p = b.op("Softmax", [s], axis=-1)
        c = b.op("MatMul", [p, v])
        c = b.op("Transpose", [c], perm=[0, 2, 1, 3])
        c = b.op("Reshape", [c, b.init("model_shape", np.array([1, S, D], np.int64))])
        with b.scope("out"):
            c = linear("out", c, D, D)
        x = b.op("Add", [x, c])
    with b.scope("ffn"):
        h = ln("ln2", x)
        with b.scope("up"):
            h = linear("up", h, D, F)
        h = b.op("Gelu", [h])
        with b.scope("down"):
            h = linear("down", h, F, D)
        x = b.op("Add", [x, h])
    b.output(x, np.float32, [1, S, D], name="output")
    return b.model(doc="ort_quantized transformer")


MODELS = {"mlp": build_mlp, "cnn": build_cnn, "convs": build_convs,
          "transformer": build_transformer}
MODES = ["qdq", "qdq_pc", "qop", "qop_pc", "dynamic", "nbits4", "nbits4_sym", "nbits8"]


class _Calibration:
    """onnxruntime.quantization.CalibrationDataReader: 4 N(0,1) batches."""

    def __init__(self, model, seed):
        rng = np.random.default_rng([seed, 1234])
        self.batches = []
        for _ in range(4):
            feed = {}
            for vi in model.graph.input:
                shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
                feed[vi.name] = rng.standard_normal(shape).astype(np.float32)
            self.batches.append(feed)
        self.it = iter(self.batches)

    def get_next(self):
        return next(self.it, None)

    def rewind(self):
        self.it = iter(self.batches)


def quantize(model, mode, out, seed=0):
    """Quantizes fp32 `model` with ORT's tool for `mode`; writes `out`."""
    from onnxruntime import quantization as q

    logging.getLogger().setLevel(logging.WARNING)  # the quantizers log at INFO
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if mode.startswith("nbits"):
        from onnxruntime.quantization import matmul_nbits_quantizer as mnb

        logging.getLogger().setLevel(logging.WARNING)
        bits = 8 if mode == "nbits8" else 4
        sym = mode.endswith("_sym")
        block = 128 if sym else 32
        cfg = mnb.DefaultWeightOnlyQuantConfig(
            block_size=block, is_symmetric=sym, accuracy_level=0, bits=bits)
        quant = mnb.MatMulNBitsQuantizer(model, bits=bits, block_size=block,
                                         is_symmetric=sym, accuracy_level=0,
                                         algo_config=cfg)
        quant.process()
        quant.model.save_model_to_file(out, use_external_data_format=False)
        return
    reduce_range = ort_u8s8_saturates()
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "fp32.onnx")
        onnx.save(model, src)
        if mode == "dynamic":
            q.quantize_dynamic(src, out, weight_type=q.QuantType.QInt8,
                               reduce_range=reduce_range)
            return
        fmt = q.QuantFormat.QOperator if mode.startswith("qop") else q.QuantFormat.QDQ
        q.quantize_static(src, out, _Calibration(model, seed), quant_format=fmt,
                          per_channel=mode.endswith("_pc"),
                          activation_type=q.QuantType.QUInt8,
                          weight_type=q.QuantType.QInt8,
                          reduce_range=reduce_range)


def ort_u8s8_saturates():
    """Whether ORT's u8 x s8 integer kernels saturate on this host.

    Without VNNI, MLAS multiplies u8 x s8 with vpmaddubsw, which adds each
    pair of products into a saturating int16: 255 * 127 * 2 overflows, so
    ORT's QLinearMatMul/MatMulInteger/QLinearConv results are not the ONNX
    ones (ORT's documentation: use reduce_range on such machines). kiln's
    kernels are exact (kiln on an AVX2 host matches ORT run node by node,
    --ort-opt basic, bit for bit). So the models are quantized with 7-bit
    weights there (reduce_range), which cannot saturate, and ORT stays an
    exact reference. KILN_TEST_REDUCE_RANGE=0/1 overrides the detection.
    """
    forced = os.environ.get("KILN_TEST_REDUCE_RANGE")
    if forced in ("0", "1"):
        return forced == "1"
    flags = host_cpu_flags()
    if "avx2" not in flags:
        return False  # not an x86 host ORT's AVX2 kernels run on
    return not ({"avx512_vnni", "avx_vnni"} & flags)


def host_cpu_flags():
    """The host CPU's feature flags from /proc/cpuinfo (empty if none)."""
    try:
        with open("/proc/cpuinfo") as f:
            return set(next((line.split(":", 1)[1].split() for line in f
                             if line.startswith("flags")), []))
    except OSError:
        return set()


def make(name, mode, out, seed=0, fp32_out=None):
    if name not in MODELS:
        raise SystemExit(f"ort_quantized: unknown model '{name}' (try --list)")
    if mode not in MODES:
        raise SystemExit(f"ort_quantized: unknown mode '{mode}' (try --list)")
    model = MODELS[name](seed)
    onnx.checker.check_model(model, full_check=True)
    if fp32_out:
        onnx.save(model, fp32_out)
    quantize(model, mode, out, seed)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?")
    p.add_argument("mode", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fp32", help="also write the fp32 model here")
    p.add_argument("--list", action="store_true")
    a = p.parse_args(argv)
    if a.list:
        print("models:", " ".join(MODELS))
        print("modes: ", " ".join(MODES))
        return 0
    if not (a.model and a.mode and a.out):
        p.error("MODEL MODE OUT.onnx are required")
    make(a.model, a.mode, a.out, a.seed, a.fp32)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark's model list: name -> (builder(seed) -> ModelProto, group,
one-line summary). Groups: `model` (whole networks), `kernel` (one-node
MatMul models). `QUICK` is what `run.sh --quick` runs by default.

Builders come from test/models/ (resnet50, bert_base) and from this folder.
"""

import dense
import gpt2_small
import mobilenetv2
import quantized
import resnet
import transformer

MODELS = {
    "resnet50": (resnet.build, "model", "ResNet-50 v1, [1,3,224,224] (test/models/resnet.py)"),
    "mobilenetv2": (mobilenetv2.build, "model", "MobileNetV2 1.0, [1,3,224,224], BN folded"),
    "bert_base": (transformer.build_bert_base, "model",
                  "BERT-base, batch 1, seq 128, with embeddings (test/models/transformer.py)"),
    "gpt2_small": (gpt2_small.build, "model",
                   "GPT-2 small, full-sequence forward, seq 128, with lm_head"),
    "mlp4096_b1": (dense.build_mlp4096_b1, "model", "MLP 3x(4096x4096), batch 1"),
    "mlp4096_b64": (dense.build_mlp4096_b64, "model", "MLP 3x(4096x4096), batch 64"),
    "digits_cnn": (dense.build_digits_cnn, "model", "MNIST-style CNN, [1,1,28,28]"),
    "mlp256_b1": (dense.build_mlp256_b1, "model", "MLP 3x(256x256), batch 1"),
    "gemm_1024": (dense.build_gemm_1024, "kernel", "MatMul M=N=K=1024, B constant"),
    "gemm_4096x4096x64": (dense.build_gemm_4096x4096x64, "kernel",
                          "MatMul M=4096 N=4096 K=64, B constant"),
    "gemv_4096": (dense.build_gemv_4096, "kernel", "MatMul M=1 N=4096 K=4096, W constant"),
    "gemv_4096_nbits4": (quantized.build_gemv_4096_nbits4, "kernel",
                         "MatMulNBits M=1 N=4096 K=4096, 4-bit W (ORT's quantizer, "
                         "block 32)"),
}

# Quantized variants: name -> (fp32 model it starts from, kiln compile
# flags, function(src, dst) writing the model ORT runs). Outputs are
# compared by cosine, not allclose (two different quantizations). Flags
# None: kiln compiles the model ORT's tool wrote, as ORT runs it (the same
# integer products; activations quantized per tensor by
# DynamicQuantizeLinear, so a value on a rounding boundary can differ).
def fp32_as_is(src, dst):
    """ORT runs the fp32 model itself (kiln's variant changes only how it
    computes, e.g. --winograd)."""
    import shutil

    shutil.copyfile(src, dst)


VARIANTS = {
    "resnet50_winograd": ("resnet50", ["--winograd"], fp32_as_is),
    "digits_cnn_winograd": ("digits_cnn", ["--winograd"], fp32_as_is),
    # bf16 matmuls (vdpbf16ps, AVX512_BF16) against ORT's fp32.
    "resnet50_bf16": ("resnet50", ["--precision=bf16"], fp32_as_is),
    "mobilenetv2_bf16": ("mobilenetv2", ["--precision=bf16"], fp32_as_is),
    "bert_base_bf16": ("bert_base", ["--precision=bf16"], fp32_as_is),
    "gpt2_small_bf16": ("gpt2_small", ["--precision=bf16"], fp32_as_is),
    "mlp4096_b64_bf16": ("mlp4096_b64", ["--precision=bf16"], fp32_as_is),
    "bert_base_w8a8": ("bert_base", ["--quantize=w8a8"], quantized.ort_dynamic),
    "mlp4096_b1_w8a8": ("mlp4096_b1", ["--quantize=w8a8"], quantized.ort_dynamic),
    "bert_base_ortq": ("bert_base", None, quantized.ort_dynamic),
    "bert_base_qdq": ("bert_base", None, quantized.ort_static_qdq),
    "resnet50_qdq": ("resnet50", None, quantized.ort_static_qdq),
    "mobilenetv2_qdq": ("mobilenetv2", None, quantized.ort_static_qdq),
    "digits_cnn_qdq": ("digits_cnn", None, quantized.ort_static_qdq),
}
for _name, (_base, _flags, _ort) in VARIANTS.items():
    MODELS[_name] = (MODELS[_base][0], MODELS[_base][1],
                     MODELS[_base][2] + (f"; both run ORT {_ort.__name__}'s model"
                                         if _flags is None else
                                         f"; kiln {' '.join(_flags)} vs ORT "
                                         f"{_ort.__name__}'s model"))

QUICK = ["digits_cnn", "mlp256_b1", "gemv_4096"]

# M x N x K of the single-kernel models (A [M, K] input, B [K, N] constant).
KERNEL_MNK = {"gemm_1024": (1024, 1024, 1024), "gemm_4096x4096x64": (4096, 4096, 64),
              "gemv_4096": (1, 4096, 4096), "gemv_4096_nbits4": (1, 4096, 4096)}


def source_files(name):
    """The generator's own module file and util.py (cache invalidation)."""
    import inspect
    import util

    builder = MODELS[name][0]
    return [inspect.getsourcefile(builder), inspect.getsourcefile(util)]


def main(argv):
    """registry.py NAME OUT.onnx [SEED]: write one model (single file)."""
    import os

    from util import save_model

    name, out = argv[0], argv[1]
    seed = int(argv[2]) if len(argv) > 2 else 0
    model = MODELS[name][0](seed)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    save_model(model, tmp)
    os.replace(tmp, out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    import sys

    sys.dont_write_bytecode = True
    main(sys.argv[1:])

#!/usr/bin/env python3
"""Write one of kiln's test models.

usage: make_model.py NAME OUT.onnx [--seed N] [--no-check]
       make_model.py --list

Deterministic for a given seed (same bytes on the same onnx/numpy versions).
Models with external data also write OUT.onnx.data next to OUT.onnx.
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import onnx  # noqa: E402

import cnn  # noqa: E402
import contractions  # noqa: E402
import convolutions  # noqa: E402
import depthwise  # noqa: E402
import gpt2  # noqa: E402
import mlp  # noqa: E402
import pooling  # noqa: E402
import resnet  # noqa: E402
import tiny  # noqa: E402
import transposes  # noqa: E402
import transformer  # noqa: E402
from util import save_model  # noqa: E402

# name -> (builder(seed) -> ModelProto, run onnx.checker?, one-line summary)
MODELS = {
    "mlp": (mlp.build, True, "[4,64] Gemm/Relu/MatMul/Add/Tanh/Gemm/Softmax -> [4,10]"),
    "cnn": (cnn.build, True, "[2,3,32,32] Conv/BN/pools/grouped+dilated conv -> [2,10]"),
    "contractions": (contractions.build, True,
                     "matmul shapes covering every tiled-kernel path"),
    "convolutions": (convolutions.build, True,
                     "conv shapes covering every direct-conv kernel path"),
    "depthwise": (depthwise.build, True,
                  "depthwise convs reading their zero padding in place"),
    "pooling": (pooling.build, True,
                "[2,3,37,41] max/average pools, strides 1-3, padded, ceil_mode"),
    "transposes": (transposes.build, True,
                   "elementwise ops reading an operand transposed"),
    "transformer": (transformer.build_transformer, True,
                    "one BERT encoder layer, [1,16,64], 4 heads"),
    "gpt2": (gpt2.build, True, "one GPT-2 decoder block, [1,16,64], 4 heads"),
    "resnet50": (resnet.build, True, "ResNet-50 v1, [1,3,224,224] -> [1,1000] (~100 MB)"),
    "bert_base": (transformer.build_bert_base, True,
                  "BERT-base with embeddings, int64 input_ids [1,128] (~440 MB)"),
    "bert_base_float": (transformer.build_bert_base_float, True,
                        "BERT-base encoder, float hidden [1,128,768] (~340 MB)"),
    "bad_unknown_op": (tiny.build_bad_unknown_op, False,
                       "node 'foo_node' with unknown op 'FooBar' (invalid on purpose)"),
    "initializer_forms": (tiny.build_initializer_forms, True,
                          "initializers in raw/float/int32/int64/external storage"),
    "symbolic_dim": (tiny.build_symbolic_dim, True, "input x [batch, 8] -> MatMul -> Relu"),
}


def make(name: str, out: str, seed: int = 0, check: bool = True) -> list:
    """Build model `name` and write it to `out`; returns the files written."""
    if name not in MODELS:
        raise SystemExit(f"make_model: unknown model '{name}' (try --list)")
    builder, checkable, _ = MODELS[name]
    model = builder(seed)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    files = save_model(model, out)
    if check and checkable:
        # By path, so external data and >2GB models are handled; full_check
        # also runs strict shape inference.
        onnx.checker.check_model(out, full_check=True)
    return files


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-check", action="store_true", help="skip onnx.checker")
    p.add_argument("--list", action="store_true", help="list model names")
    args = p.parse_args(argv)
    if args.list:
        for n, (_, _, summary) in MODELS.items():
            print(f"{n:18} {summary}")
        return 0
    if not args.name or not args.out:
        p.error("NAME and OUT are required")
    for f in make(args.name, args.out, args.seed, not args.no_check):
        print(f"wrote {f} ({os.path.getsize(f)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

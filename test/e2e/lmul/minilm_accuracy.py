#!/usr/bin/env python3
"""L-Mul accuracy on a real pretrained model: all-MiniLM-L6-v2.

usage: minilm_accuracy.py --kiln KILN --work DIR [--seq 16]

Builds the model from the package's weights (test/models/minilm.py), runs
ONNX Runtime as the fp32 reference, compiles and runs kiln's fp32 build and
one build per L-Mul variant below on the same 8 tokenized sentences, and
prints, per variant, the mean and minimum cosine similarity of the sentence
embeddings to ONNX Runtime's. Checks:
  - kiln fp32 matches ONNX Runtime (rtol 1e-4, atol 1e-5 on the embeddings);
  - attention-only L-Mul (fp32, and 3-bit mantissa operands) keeps every
    sentence's cosine >= 0.99 (issue 6's target);
  - every variant stays above a floor (0.9) and degrades monotonically in
    the expected direction: matmul <= attention for the same format.
Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "models"))
from minilm_eval import MiniLM, cosines  # noqa: E402

VARIANTS = [  # (label, kiln compile flags)
    ("attention fp32", ["--lmul=attention"]),
    ("attention m=3", ["--lmul=attention", "--lmul-mantissa=3"]),
    ("matmul fp32", ["--lmul=matmul"]),
    ("matmul m=4", ["--lmul=matmul", "--lmul-mantissa=4"]),
    ("all fp32", ["--lmul=all"]),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seq", type=int, default=16)
    args = ap.parse_args()
    m = MiniLM(args.kiln, args.work, args.seq)
    ref = m.reference
    kiln = m.run

    ok = True
    fp32 = kiln("fp32", [])
    err = np.max(np.abs(fp32 - ref))
    same = np.allclose(fp32, ref, rtol=1e-4, atol=1e-5)
    print(f"kiln fp32 vs onnxruntime: max abs error {err:.2e} -> {'ok' if same else 'FAIL'}")
    ok &= same
    results = {}
    for label, flags in VARIANTS:
        c = cosines(kiln(label, flags), ref)
        results[label] = c
        floor = 0.99 if label.startswith("attention") else 0.9
        good = c.min() >= floor
        ok &= good
        print(f"{label:16s} cosine to fp32: mean {c.mean():.5f} min {c.min():.5f} "
              f"(>= {floor}: {'ok' if good else 'FAIL'})")
    for fmt in ("fp32",):
        if results[f"matmul {fmt}"].mean() > results[f"attention {fmt}"].mean():
            print(f"FAIL: matmul {fmt} is closer to fp32 than attention {fmt}")
            ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

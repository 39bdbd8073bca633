#!/usr/bin/env python3
"""Quantization accuracy on a real pretrained model: all-MiniLM-L6-v2.

usage: minilm_quant_accuracy.py --kiln KILN --work DIR [--seq 16]

Builds the model from the package's weights (test/models/minilm.py), runs
ONNX Runtime as the fp32 reference and one kiln build per quantization mode
below on the same 8 tokenized sentences, and prints per mode the mean and
minimum cosine similarity of the sentence embeddings to ONNX Runtime's and
the max relative error (max |kiln - fp32| / max |fp32|). Checks: every
sentence's cosine >= 0.995 for w8a8 (issue 5's target) and for 8-bit
weights, and >= 0.98 (issue 5's w4 g32 target) for 4-bit weights in groups
of 32 rounded by GPTQ (--calibration on minilm.py's 16 calibration
sentences, none of them evaluated), symmetric and asymmetric. Rounded to
nearest (with the clipping search), w4 g32 measures a mean of 0.966
symmetric and 0.977 asymmetric, below the target; those floors only guard
against regressions. More bits never lose to fewer (w8 >= w4 g32 >= w4
g128 in mean cosine), the clipping search never loses to plain
round-to-nearest, and GPTQ never loses to round to nearest. Mixed 2/4-bit
(w2w4) is reported, with only a sanity floor.
Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "models"))
from minilm_eval import MiniLM, cosines, step  # noqa: E402

CALIB = "CALIB"  # replaced by the calibration folder

MODES = [  # (label, kiln compile flags, per-sentence cosine floor)
    ("w8 g128", ["--quantize=w8"], 0.995),
    ("w8a8", ["--quantize=w8a8"], 0.995),
    ("w4 g32", ["--quantize=w4"], 0.955),
    ("w4 g32 rtn", ["--quantize=w4", "--quant-clipping=none"], 0.95),
    ("w4 g32 asym", ["--quantize=w4", "--quant-asymmetric"], 0.97),
    ("w4 g32 gptq", ["--quantize=w4", "--calibration", CALIB], 0.98),
    ("w4 g32 asym gptq", ["--quantize=w4", "--quant-asymmetric",
                          "--calibration", CALIB], 0.98),
    ("w4 g128", ["--quantize=w4", "--quant-group-size=128"], 0.94),
    ("w2w4 g64", ["--quantize=w2w4"], 0.5),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seq", type=int, default=16)
    args = ap.parse_args()
    m = MiniLM(args.kiln, args.work, args.seq)
    calib = os.path.join(args.work, "calib")
    step([sys.executable, os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                       "models", "minilm.py"),
          "calibration", calib, "--seq", str(args.seq)])
    ok = True
    means = {}
    for label, flags, floor in MODES:
        y = m.run(label, [calib if f == CALIB else f for f in flags])
        c = cosines(y, m.reference)
        rel = np.max(np.abs(y - m.reference)) / np.max(np.abs(m.reference))
        means[label] = c.mean()
        good = c.min() >= floor
        ok &= good
        print(f"{label:16s} cosine to fp32: mean {c.mean():.5f} min {c.min():.5f} "
              f"max rel err {rel:.4f} (>= {floor}: {'ok' if good else 'FAIL'})")
    order = ["w8 g128", "w4 g32", "w4 g128"]
    for better, worse in list(zip(order, order[1:])) + [
            ("w4 g32", "w4 g32 rtn"), ("w4 g32 gptq", "w4 g32"),
            ("w4 g32 asym gptq", "w4 g32 asym")]:
        if means[better] < means[worse]:
            print(f"FAIL: {better} is further from fp32 than {worse}")
            ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

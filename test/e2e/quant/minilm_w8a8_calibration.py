#!/usr/bin/env python3
"""Static w8a8 (kiln compile --calibration) on a real pretrained model:
all-MiniLM-L6-v2.

usage: minilm_w8a8_calibration.py --kiln KILN --work DIR [--seq 16]

The model and the 8 evaluated sentences are test/models/minilm.py's (as
minilm_quant_accuracy.py); the calibration samples are 16 other sentences
(minilm.py calibration: 2 samples of 8), so no mode calibrates on the text
it is scored on. Per mode it prints the mean and minimum cosine of the
sentence embeddings to ONNX Runtime's fp32 and checks the minimum against
a floor. The floors are the measured values minus a margin (the runs are
deterministic). Issue 5's w8a8 target (every sentence >= 0.995) is met by
dynamic per-row scales and by static scales after SmoothQuant with
alpha 0.75. Plain static per-tensor scales (one scale for all 128 tokens
of a matmul's input) lose about 0.015 of cosine, most of it at each FFN's
second matmul, whose GELU output has a few outlier channels (keeping only
those 6 of the 36 matmuls dynamic, with a debugging switch that is not
in kiln, measured mean 0.993). Percentile
clipping recovers a little. SmoothQuant's alpha matters on this model:
mean cosine 0.983 at the default 0.5 (too much of the outliers' range
moves into the weights, quantized per output column), 0.995 at 0.6,
0.998 at 0.7-0.75, 0.997 at 0.8, 0.995 at 0.9, 0.988 at 1.0 (measured
once, as the README lists). Also checked: SmoothQuant at 0.75 beats plain
static.
Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "models"))
from minilm_eval import MiniLM, cosines, step  # noqa: E402

W8A8 = ["--quantize=w8a8"]
MODES = [  # (label, flags after --calibration DIR or None, min cosine floor)
    ("dynamic", None, 0.995),
    ("static minmax", [], 0.975),
    ("static p99.99", ["--calibration-method=percentile"], 0.978),
    ("sq0.5 minmax", ["--smoothquant"], 0.97),
    ("sq0.75 minmax", ["--smoothquant=0.75"], 0.995),
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
        extra = [] if flags is None else ["--calibration", calib] + flags
        c = cosines(m.run(label, W8A8 + extra), m.reference)
        means[label] = c.mean()
        good = c.min() >= floor
        ok &= good
        print(f"{label:14s} cosine to fp32: mean {c.mean():.5f} min "
              f"{c.min():.5f} (>= {floor}: {'ok' if good else 'FAIL'})")
    if means["sq0.75 minmax"] <= means["static minmax"]:
        print("FAIL: SmoothQuant (alpha 0.75) does not improve static w8a8")
        ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

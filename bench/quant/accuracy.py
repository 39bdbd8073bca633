#!/usr/bin/env python3
"""Accuracy of kiln's quantization modes on the benchmark models.

usage: accuracy.py [--kiln PATH] [--models bert_base,gpt2_small,mlp4096_b1]
                   [--modes w8,w4,w4-asym,w2w4,w8a8] [--cache DIR]

For each model of bench/perf (random weights, fixed seed; generated into
the bench cache as bench/perf does) compiles the fp32 build and one build
per mode, runs all on the same inputs (test/models/make_inputs.py) and
prints, per mode and output, the cosine similarity to the fp32 build and
the max relative error (max |q - fp32| / max |fp32|). Random weights are
not trained weights (no outlier channels, Gaussian groups): this measures
the quantizers on the shapes of real networks; test/e2e/quant/
minilm_quant_accuracy.py measures them on a real pretrained model.
Not a test: prints numbers.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "test", "models"))
sys.path.insert(0, os.path.join(ROOT, "bench", "perf"))
sys.path.insert(0, os.path.join(ROOT, "bench", "perf", "models"))
import make_inputs  # noqa: E402
from perf import ensure_model  # noqa: E402

MODES = {"w8": ["--quantize=w8"], "w4": ["--quantize=w4"],
         "w4-asym": ["--quantize=w4", "--quant-asymmetric"],
         "w2w4": ["--quantize=w2w4"], "w8a8": ["--quantize=w8a8"]}


def step(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"step failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")


def outputs(kiln, onnx_path, flags, inputs, work, label):
    so = os.path.join(work, label + ".so")
    step([kiln, "compile", onnx_path, "-o", so] + flags)
    out = os.path.join(work, label + "-out")
    step([kiln, "run", so, "--output-dir", out] +
         [f"--input={n}={p}" for n, p in inputs.items()])
    return {f[:-4]: np.load(os.path.join(out, f)).astype(np.float64)
            for f in sorted(os.listdir(out)) if f.endswith(".npy")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "tools", "kiln", "kiln"))
    ap.add_argument("--models", default="bert_base,gpt2_small,mlp4096_b1")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--cache", default=os.path.join(ROOT, "bench", "cache"))
    args = ap.parse_args()
    for name in args.models.split(","):
        onnx_path, _ = ensure_model(name, args.cache, 0)
        work = os.path.join(args.cache, "quant-work", name)
        os.makedirs(work, exist_ok=True)
        inputs = make_inputs.make_inputs(onnx_path, os.path.join(work, "inputs"))
        ref = outputs(args.kiln, onnx_path, [], inputs, work, "fp32")
        for mode in args.modes.split(","):
            got = outputs(args.kiln, onnx_path, MODES[mode], inputs, work, mode)
            for out, r in ref.items():
                q = got[out]
                cos = float(np.dot(q.ravel(), r.ravel()) /
                            (np.linalg.norm(q) * np.linalg.norm(r)))
                rel = float(np.max(np.abs(q - r)) / np.max(np.abs(r)))
                print(f"{name:12s} {mode:8s} {out:20s} cosine {cos:.5f} "
                      f"max rel err {rel:.4f}", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs a compiled model with several thread counts; outputs must be identical.

usage: threads_identical.py --kiln PATH --work DIR --model NAME [--threads 1 2 3]

Expects DIR to hold what run_e2e.py left there: DIR/NAME.onnx (for the input
names), DIR/inputs/<name>.npy and DIR/NAME.so. Runs `kiln run DIR/NAME.so
--threads N` for each N into DIR/threads-N/ and compares every output file
byte for byte with the first count's (kernels split only parallel dims
among threads, so no result may depend on the thread count). Prints one
line per output and count; exit 0 when all are identical, 1 otherwise.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "models"))

import make_inputs  # noqa: E402
from util import sanitize  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kiln", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2, 3])
    args = p.parse_args()
    model = onnx.load(os.path.join(args.work, args.model + ".onnx"),
                      load_external_data=False)
    specs = []
    for name, _, _ in make_inputs.graph_inputs(model):
        path = os.path.join(args.work, "inputs", sanitize(name) + ".npy")
        specs += ["--input", f"{name}={path}"]
    so = os.path.join(args.work, args.model + ".so")
    dirs = []
    for n in args.threads:
        out = os.path.join(args.work, f"threads-{n}")
        cmd = [args.kiln, "run", so, "--threads", str(n), "--output-dir", out]
        print("$ " + " ".join(cmd + specs), flush=True)
        r = subprocess.run(cmd + specs, capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            sys.stdout.write(r.stderr)
            print(f"error: kiln run --threads {n} exited with {r.returncode}")
            return 2
        dirs.append((n, out))
    ok = True
    base_n, base = dirs[0]
    names = sorted(f for f in os.listdir(base) if f.endswith(".npy"))
    if not names:
        print("error: no outputs")
        return 2
    for n, out in dirs[1:]:
        for f in names:
            a = open(os.path.join(base, f), "rb").read()
            b_path = os.path.join(out, f)
            b = open(b_path, "rb").read() if os.path.exists(b_path) else None
            same = a == b
            ok &= same
            diff = ""
            if not same and b is not None:
                x, y = np.load(os.path.join(base, f)), np.load(b_path)
                diff = f" (max abs diff {np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))})"
            print(f"{f}: threads {base_n} vs {n}: "
                  f"{'identical' if same else 'DIFFERENT'}{diff}")
    print("RESULT: " + ("IDENTICAL" if ok else "DIFFERENT"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

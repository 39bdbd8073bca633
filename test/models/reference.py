#!/usr/bin/env python3
"""Run an ONNX model with ONNX Runtime (CPUExecutionProvider) on .npy inputs and
write one .npy per output.

usage: reference.py MODEL.onnx INPUTDIR OUTDIR [--threads N] [--repeat N]
                                               [--opt all|extended|basic|disable]

Inputs are read from INPUTDIR/<name>.npy and outputs written to
OUTDIR/<name>.npy, where <name> is the tensor name with every character outside
[A-Za-z0-9_.-] replaced by '_'. Prints session-creation time and the median
run time over --repeat runs (after one warm-up run).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_inputs import graph_inputs, load_graph_only  # noqa: E402
from util import sanitize  # noqa: E402

OPT_LEVELS = {
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
}


class ReferenceError(Exception):
    pass


def load_inputs(model_path, input_dir):
    feeds = {}
    for name, dtype, _ in graph_inputs(load_graph_only(model_path)):
        path = os.path.join(input_dir, sanitize(name) + ".npy")
        if not os.path.exists(path):
            raise ReferenceError(f"missing input file for '{name}': {path}")
        arr = np.load(path)
        if arr.dtype != dtype:
            raise ReferenceError(f"input '{name}' is {arr.dtype}, model wants {dtype}")
        feeds[name] = arr
    return feeds


def run_reference(model_path, input_dir, output_dir, threads=0, repeat=5, opt="all"):
    """Returns {'outputs': {name: path}, 'load_s', 'first_run_s', 'run_s'}."""
    feeds = load_inputs(model_path, input_dir)
    so = ort.SessionOptions()
    so.graph_optimization_level = OPT_LEVELS[opt]
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    t0 = time.perf_counter()
    try:
        sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ORT raises several pybind types
        raise ReferenceError(f"onnxruntime cannot load {model_path}: {e}") from e
    load_s = time.perf_counter() - t0
    names = [o.name for o in sess.get_outputs()]
    t0 = time.perf_counter()
    try:
        results = sess.run(names, feeds)
    except Exception as e:  # noqa: BLE001
        raise ReferenceError(f"onnxruntime failed to run {model_path}: {e}") from e
    first_s = time.perf_counter() - t0
    times = []
    for _ in range(max(repeat, 0)):
        t0 = time.perf_counter()
        sess.run(names, feeds)
        times.append(time.perf_counter() - t0)
    os.makedirs(output_dir, exist_ok=True)
    written, files = {}, set()
    for name, arr in zip(names, results):
        fname = sanitize(name) + ".npy"
        if fname in files:
            raise ReferenceError(f"two outputs map to the file name {fname}")
        files.add(fname)
        path = os.path.join(output_dir, fname)
        np.save(path, np.asarray(arr))
        written[name] = path
    return {
        "outputs": written,
        "load_s": load_s,
        "first_run_s": first_s,
        "run_s": statistics.median(times) if times else first_s,
        "repeat": len(times),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("input_dir")
    p.add_argument("output_dir")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: ORT default)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--opt", choices=sorted(OPT_LEVELS), default="all")
    args = p.parse_args(argv)
    try:
        r = run_reference(args.model, args.input_dir, args.output_dir, args.threads,
                          args.repeat, args.opt)
    except ReferenceError as e:
        print(f"reference: error: {e}", file=sys.stderr)
        return 1
    for name, path in r["outputs"].items():
        a = np.load(path)
        print(f"{name}: {a.dtype}{list(a.shape)} -> {path}")
    print(f"ort: session {r['load_s'] * 1e3:.1f} ms, first run "
          f"{r['first_run_s'] * 1e3:.2f} ms, run {r['run_s'] * 1e3:.2f} ms "
          f"(median of {r['repeat']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

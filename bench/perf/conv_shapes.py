#!/usr/bin/env python3
"""kiln vs ONNX Runtime on single convolutions with ResNet-50's shapes.

usage: conv_shapes.py [--kiln PATH] [--threads 1] [--iterations 60]
                      [--repeats 2] [--only NAME,...] [--work DIR] [--json F]
                      [--chain N] [--compile-arg ARG ...]

Each shape is a one-Conv (+ bias) + Relu ONNX model, input [1, C, H, W]
(random weights, fixed seed). kiln compiles it with its defaults and
`kiln bench` times it; ONNX Runtime (Python API, intra-op threads as
given, default graph optimizations) runs the same file on the same input.
Both report the minimum over `--repeats` rounds of `--iterations` runs
(the two sides alternate per round). Work counts 2 * F * C * KH * KW *
OH * OW FLOP. The `kernel` column says which of kiln's conv kernels
`kiln compile --report` formed.

Alone, a conv's weights stay in cache between runs; in a model they come
from memory. `--chain N` times N such convs in a row (each with its own
weights; shapes with F == C and stride 1) and reports ms per conv, e.g.
`--chain 8 --compile-arg=--winograd --compile-arg=--winograd-tile=4`
against `--chain 8`: the measurements behind the --winograd estimate
(costmodel/ConvAlgorithmCost).

Not a test: numbers depend on the machine and on what else runs on it.
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import time

import numpy as np

from kiln_binary import default_kiln


# (output channels, input channels, kernel, stride, input side): every
# distinct conv of ResNet-50 v1 (bench/perf/models; its stride-2 1x1s read
# an already subsampled input), the 7x7 stem last.
SHAPES = [
    (64, 64, 1, 1, 56), (64, 64, 3, 1, 56), (256, 64, 1, 1, 56),
    (64, 256, 1, 1, 56),
    (128, 256, 1, 1, 28), (128, 128, 3, 1, 28), (512, 128, 1, 1, 28),
    (512, 256, 1, 1, 28), (128, 512, 1, 1, 28),
    (256, 512, 1, 1, 14), (256, 256, 3, 1, 14), (1024, 256, 1, 1, 14),
    (1024, 512, 1, 1, 14), (256, 1024, 1, 1, 14),
    (512, 1024, 1, 1, 7), (512, 512, 3, 1, 7), (2048, 512, 1, 1, 7),
    (2048, 1024, 1, 1, 7), (512, 2048, 1, 1, 7),
    (64, 3, 7, 2, 224),
]


def name_of(shape):
    f, c, k, s, h = shape
    return f"c{f}x{c}k{k}s{s}h{h}"


def make_model(path, shape, rng, chain=1):
    """One Conv + Relu, or `chain` of them in a row, each with its own
    weights (F == C, stride 1): with enough of them the weights no longer
    stay in cache between runs, as in a whole model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    f, c, k, s, h = shape
    pad = k // 2
    out = (h + 2 * pad - k) // s + 1
    nodes, inits, x = [], [], "x"
    for i in range(chain):
        w = (rng.standard_normal((f, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
        b = rng.standard_normal(f).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"],
                                   kernel_shape=[k, k], strides=[s, s], pads=[pad] * 4),
                  helper.make_node("Relu", [f"c{i}"], [f"y{i}"])]
        x = f"y{i}"
    graph = helper.make_graph(
        nodes, name_of(shape),
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, h])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, f, out, out])],
        inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              path)
    return 2 * f * c * k * k * out * out * chain


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=default_kiln())
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated shape names")
    ap.add_argument("--work", default=None)
    ap.add_argument("--json", default=None, help="write the rows here")
    ap.add_argument("--chain", type=int, default=1,
                    help="time N equal convs in a row, each with its own weights "
                         "(shapes with F == C and stride 1; others are skipped); "
                         "ms are per conv")
    ap.add_argument("--compile-arg", action="append", default=[],
                    help="extra kiln compile argument (e.g. --precision=bf16)")
    args = ap.parse_args()
    import onnxruntime as ort

    work = args.work or tempfile.mkdtemp(prefix="kiln-conv-")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(0)
    only = set(filter(None, args.only.split(",")))
    rows = []
    print(f"{'shape':22} {'kiln ms':>8} {'GFLOP/s':>8} {'ORT ms':>8} {'GFLOP/s':>8}"
          f" {'ORT/kiln':>8}  kernel")
    for shape in SHAPES:
        name = name_of(shape)
        if only and name not in only:
            continue
        if args.chain > 1 and (shape[0] != shape[1] or shape[3] != 1):
            continue
        onnx_path = os.path.join(work, name + ".onnx")
        so_path = os.path.join(work, name + ".so")
        flops = make_model(onnx_path, shape, rng, args.chain)
        report = subprocess.run(
            [args.kiln, "compile", onnx_path, "-o", so_path, "--report",
             "--report-runs=0"] + args.compile_arg, check=True, capture_output=True, text=True).stdout
        lines = [line.strip() for line in report.splitlines()]
        kernel = next((line for line in lines if line.startswith("conv2d")), "")
        kernel = re.sub(r"^conv2d \S+ stride \d+ -> \S+, ", "", kernel)
        # A conv run as Winograd forms transforms and a batched GEMM.
        winograd = next((m.group(1) for line in lines
                         if (m := re.match(r"winograd (F\(\dx\d\)) input", line))), "")
        kernel = kernel or (f"Winograd {winograd}" if winograd else "?")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        x = rng.standard_normal(sess.get_inputs()[0].shape).astype(np.float32)
        for _ in range(5):
            sess.run(None, {"x": x})
        kiln_ms, ort_ms = [], []
        for _ in range(args.repeats):
            out = subprocess.run(
                [args.kiln, "bench", so_path, "--threads", str(args.threads),
                 "--iterations", str(args.iterations), "--json"],
                check=True, capture_output=True, text=True).stdout
            kiln_ms.append(json.loads(out.strip().splitlines()[-1])["min_ms"])
            times = []
            for _ in range(args.iterations):
                t = time.perf_counter()
                sess.run(None, {"x": x})
                times.append(time.perf_counter() - t)
            ort_ms.append(min(times) * 1e3)
        k, o = min(kiln_ms) / args.chain, min(ort_ms) / args.chain
        flops //= args.chain
        rows.append({"shape": name, "flops": flops, "kiln_ms": k, "ort_ms": o,
                     "kiln_gflops": flops / k / 1e6, "ort_gflops": flops / o / 1e6,
                     "kernel": kernel, "threads": args.threads})
        print(f"{name:22} {k:8.3f} {flops / k / 1e6:8.1f} {o:8.3f} {flops / o / 1e6:8.1f}"
              f" {o / k:8.2f}  {kernel}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

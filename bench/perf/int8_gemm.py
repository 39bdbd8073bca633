#!/usr/bin/env python3
"""kiln's w8a8 int8 GEMM vs the machine's int8 dot-product peak.

usage: int8_gemm.py [--kiln PATH] [--size 1024] [--threads 1] [--repeats 3]
                    [--work DIR]

One run measures both sides: limits/int8dot.c (vpdpbusd with AVX-512 VNNI,
else the AVX2 sequence; best of its timed runs) and `kiln bench` of a
one-MatMul ONNX model, x [S, S] times a constant W [S, S], compiled with
`--quantize=w8a8` (kiln.dynamic_quantized_matmul: per-row activation
quantization, the int8 kernel, the fused rescale). Work counts 2*M*N*K ops
(the activation quantization is not counted, but its time is). Each side is
measured `--repeats` times; the minimum time of each is reported (the
machine is shared: slow runs are other people's work), with the ratio
kiln / peak. Prints one JSON object last.

Not a test: numbers depend on the machine and on what else runs on it;
check `uptime` first.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import limits  # noqa: E402
from kiln_binary import default_kiln  # noqa: E402


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def make_model(path, s, seed=0):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((s, s)) / np.sqrt(s)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [s, s])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [s, s])],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph,
                                opset_imports=[helper.make_opsetid("", 17)]),
              path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=default_kiln())
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="kiln-int8-gemm-")
    os.makedirs(work, exist_ok=True)

    cc = limits.find_compiler()
    dot = os.path.join(work, "int8dot")
    subprocess.run([cc, "-O3", "-march=native", "-pthread", "-o", dot,
                    os.path.join(HERE, "limits", "int8dot.c")], check=True)

    s = args.size
    onnx_path = os.path.join(work, f"gemm{s}.onnx")
    make_model(onnx_path, s)
    so = os.path.join(work, f"gemm{s}_w8a8.so")
    report = subprocess.run(
        [args.kiln, "compile", onnx_path, "-o", so, "--quantize=w8a8",
         "--report", "--report-runs=0"], check=True, capture_output=True,
        text=True).stdout
    kernel = [l.strip() for l in report.splitlines() if "int8 matmul" in l]
    xin = os.path.join(work, "x.npy")
    np.save(xin, np.random.default_rng(1).standard_normal((s, s)).astype(
        np.float32))

    ops = 2.0 * s * s * s
    peaks, kilns = [], []
    for _ in range(args.repeats):
        r = subprocess.run([dot, str(args.threads), "10000000", "10"],
                           check=True, capture_output=True, text=True)
        peak = last_json(r.stdout)
        peaks.append(peak["gops"])
        r = subprocess.run(
            [args.kiln, "bench", so, "--threads", str(args.threads),
             "--warmup", "3", "--iterations", str(args.iterations), "--json",
             f"--input=x={xin}"], check=True, capture_output=True, text=True)
        res = last_json(r.stdout)
        best_ms = res.get("min_ms", res["median_ms"])
        kilns.append((best_ms, res["median_ms"]))
        print(f"int8 peak {peak['gops']:.1f} GOP/s ({peak['isa']}); kiln "
              f"min {best_ms:.3f} ms ({ops / best_ms * 1e-6:.1f} GOP/s), "
              f"median {res['median_ms']:.3f} ms", flush=True)
    peak = max(peaks)
    best_ms = min(k[0] for k in kilns)
    gops = ops / best_ms * 1e-6
    result = {"size": s, "threads": args.threads, "kernel": kernel,
              "int8_peak_gops": peak, "kiln_min_ms": best_ms,
              "kiln_gops": gops, "fraction_of_peak": gops / peak,
              "uptime": open("/proc/loadavg").read().split()[:3]}
    print(f"w8a8 GEMM {s}^3, {args.threads} thread(s): {gops:.1f} GOP/s = "
          f"{100 * gops / peak:.1f}% of the int8 dot peak {peak:.1f} GOP/s")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Fuse-or-not by predicted cost (issue 4), measured: each model compiled
twice, identical but for the fusion rule, and timed in alternation.

  model    --cost-model=learned: kiln-fuse-elementwise asks the cost model
           whether to recompute a producer in its users (broadcasts, and
           producers with several elementwise users)
  rule     --cost-model=heuristic: a producer fuses into its single user,
           never recomputed elsewhere

Both builds force one kernel configuration (--force-kernel-config, default
6,16,384) on every matmul so that only the fusions differ (with
--cost-model the learned model would otherwise also pick tiles). ONNX
Runtime (its own LayerNorm fusion on) is timed beside them for scale.

Models: block_128x768 and block_2048x3072 (test/models/decomposed_norm.py:
a LayerNorm as opset-11 exporters write it, a GELU, a residual add),
bert_base_decomposed (BERT-base, batch 1, seq 128, its LayerNorms written
out the same way), gpt2_small_decomposed (GPT-2 small, seq 128; ~650 MB).

usage: bench/costmodel/fusion.py [--kiln PATH] [--models a,b] [--threads 1]
                                 [--rounds 3] [--iterations N]
                                 [--force-config 6,16,384] [--work DIR]
Not a test: timings need a quiet machine.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))
sys.path.insert(0, os.path.join(ROOT, "bench", "perf", "models"))
sys.path.insert(0, os.path.join(ROOT, "bench", "perf"))

import decomposed_norm  # noqa: E402
from kiln_binary import default_kiln  # noqa: E402


def build(name):
    if name == "block_128x768":
        return decomposed_norm.block(128, 768)
    if name == "block_2048x3072":
        return decomposed_norm.block(2048, 3072)
    if name == "bert_base_decomposed":
        import transformer
        return decomposed_norm.decompose_layer_norms(transformer.build_bert_base())
    if name == "gpt2_small_decomposed":
        import gpt2_small
        return decomposed_norm.decompose_layer_norms(gpt2_small.build())
    raise SystemExit(f"fusion.py: unknown model '{name}'")


def kiln_median_ms(kiln, so, threads, iterations):
    out = subprocess.run([kiln, "bench", so, "--threads", str(threads), "--json",
                          "--warmup", "3", "--iterations", str(iterations)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def ort_median_ms(path, threads, iterations):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = (np.zeros(shape, np.int64) if "int" in i.type
                         else rng.standard_normal(shape).astype(np.float32))
    for _ in range(3):
        session.run(None, feeds)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kiln", default=default_kiln())
    p.add_argument("--models", default="block_128x768,block_2048x3072,bert_base_decomposed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--force-config", default="6,16,384")
    p.add_argument("--work", default=os.path.join(ROOT, "bench", "cache", "fusion"))
    args = p.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    results = {}
    for name in args.models.split(","):
        path = os.path.join(args.work, name + ".onnx")
        if not os.path.exists(path):
            onnx.save(build(name), path, save_as_external_data=name.startswith("gpt2"))
        builds = {}
        decisions = ""
        for label, model in (("model", "learned"), ("rule", "heuristic")):
            so = os.path.join(args.work, f"{name}-{label}.so")
            r = subprocess.run([args.kiln, "compile", path, "-o", so,
                                f"--cost-model={model}",
                                f"--force-kernel-config={args.force_config}",
                                "--report", "--report-runs=0"],
                               check=True, capture_output=True, text=True)
            builds[label] = so
            if label == "model":
                m = re.search(r"fusion decisions \((\d+)\):\n((?:  .*\n)*)", r.stdout)
                decisions = m.group(0) if m else "fusion decisions (0)\n"
        times = {"model": [], "rule": [], "ort": []}
        for _ in range(args.rounds):
            for label, so in builds.items():
                times[label].append(kiln_median_ms(args.kiln, so, args.threads,
                                                   args.iterations))
            times["ort"].append(ort_median_ms(path, args.threads, args.iterations))
        results[name] = times
        fused = len(re.findall(r": fused:", decisions))
        kept = len(re.findall(r": kept:", decisions))
        print(f"{name}: {fused} recomputed, {kept} kept")
        print(f"  {'round':>5} {'model ms':>10} {'rule ms':>10} {'ORT ms':>10} "
              f"{'rule/model':>10} {'ORT/model':>10}")
        for i in range(args.rounds):
            m, r_, o = times["model"][i], times["rule"][i], times["ort"][i]
            print(f"  {i + 1:>5} {m:>10.3f} {r_:>10.3f} {o:>10.3f} "
                  f"{r_ / m:>10.2f} {o / m:>10.2f}")
        sys.stdout.flush()
    with open(os.path.join(args.work, "fusion.json"), "w") as f:
        json.dump({"threads": args.threads, "force_config": args.force_config,
                   "results": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])

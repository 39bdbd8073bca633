#!/usr/bin/env python3
"""Issue 4's measurements in one run (not a test; timings need a quiet
machine).

usage: bench/costmodel/run.py [--kiln-build build] [--out DIR]
                              [--minutes 12] [--isas avx512,avx2]
                              [--models mlp4096_b64,gemm_1024,...]
                              [--install-models] [--rounds 3] [--e2e-only]

Per ISA (avx2 = AVX2 kernels on this machine, --target-features=-avx512f):
  1. kiln-costmodel collect --minutes M       -> DIR/data_<isa>.jsonl
  2. kiln-costmodel train                     -> DIR/model_<isa>.json
  3. kiln-costmodel eval (held-out shapes)    -> DIR/metrics_<isa>.json
  4. exhaustive search of every candidate on a few real-model shapes
     (collect --shape ... --configs-per-shape 10000), and the measured
     latency of the learned, analytic and hand-written picks / the best;
  5. bench models compiled with --cost-model=heuristic, analytic and the new
     model of --e2e-isa (default: the first of --isas; avx2 compiles AVX2
     kernels, run on this machine): kiln bench median (1 thread; best of
     --rounds rounds that take the three in turn) and compile time.
--install-models copies the models to costmodel/models/x86-64-<isa>.json.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "perf", "models"))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))

EXHAUSTIVE = ["matmul:1x1024x1024x1024", "matmul:1x128x768x768", "matmul:1x128x3072x768",
              "matmul:1x1x4096x4096", "batch_matmul:12x128x128x64", "matmul:1x64x4096x1024"]


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, text=True, **kw)


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln-build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default="/tmp/kiln-costmodel-bench")
    ap.add_argument("--minutes", type=float, default=12)
    ap.add_argument("--isas", default="avx512,avx2")
    ap.add_argument("--models", default="mlp4096_b64,gemm_1024,gemm_4096x4096x64,digits_cnn,bert_base")
    ap.add_argument("--install-models", action="store_true")
    ap.add_argument("--rounds", type=int, default=3,
                    help="end-to-end timings: rounds of the three compiles run in turn; the best round's median counts")
    ap.add_argument("--e2e-isa", default=None,
                    help="ISA of the end-to-end step (default: the first of --isas)")
    ap.add_argument("--e2e-only", action="store_true",
                    help="skip collection and training; time the bench models with DIR/model_<isa>.json")
    args = ap.parse_args()
    tools = os.path.join(args.kiln_build, "tools")
    kiln = os.path.join(tools, "kiln", "kiln")
    cm = os.path.join(tools, "kiln-costmodel", "kiln-costmodel")
    os.makedirs(args.out, exist_ok=True)
    summary = {}
    for isa in ([] if args.e2e_only else args.isas.split(",")):
        flags = ["--target-features=-avx512f"] if isa == "avx2" else []
        data = os.path.join(args.out, f"data_{isa}.jsonl")
        model = os.path.join(args.out, f"model_{isa}.json")
        metrics = os.path.join(args.out, f"metrics_{isa}.json")
        t0 = time.time()
        run([cm, "collect", "--out", data, "--minutes", str(args.minutes)] + flags)
        collect_s = time.time() - t0
        # Judged on shapes it never saw; then refit on all for shipping.
        run([cm, "train", "--data", data, "--out", model + ".split"])
        run([cm, "eval", "--data", data, "--model", model + ".split", "--json", metrics])
        run([cm, "train", "--data", data, "--out", model, "--fit-all"])
        # Exhaustive search on real-model shapes.
        exhaustive = os.path.join(args.out, f"exhaustive_{isa}.jsonl")
        shape_args = [a for s in EXHAUSTIVE for a in ("--shape", s)]
        run([cm, "collect", "--out", exhaustive, "--configs-per-shape", "10000",
             "--minutes", "30"] + shape_args + flags)
        ex_metrics = os.path.join(args.out, f"exhaustive_metrics_{isa}.json")
        run([cm, "eval", "--data", exhaustive, "--model", model, "--all-shapes", "--json", ex_metrics])
        rows = load(exhaustive)
        heuristic = []
        for shape in sorted({r["shape"] for r in rows}):
            group = [r for r in rows if r["shape"] == shape]
            best = min(r["latency_ns"] for r in group)
            h = [r["latency_ns"] for r in group if r.get("heuristic")]
            if h:
                heuristic.append(h[0] / best)
            print(f"  {shape}: {len(group)} configs, best {best / 1e3:.1f} us, "
                  f"hand-written pick {h[0] / best if h else float('nan'):.3f}x best")
        summary[isa] = {
            "collect_seconds": collect_s,
            "samples": len(load(data)),
            "held_out": json.load(open(metrics)),
            "exhaustive": json.load(open(ex_metrics)),
            "heuristic_regret_geomean": math.exp(sum(map(math.log, heuristic)) / len(heuristic)) if heuristic else None,
        }
        if args.install_models:
            dest = os.path.join(ROOT, "costmodel", "models", f"x86-64-{isa}.json")
            shutil.copy(model, dest)
            print(f"installed {dest}")

    # End to end on bench models, 1 thread.
    import registry
    from util import save_model
    e2e_isa = args.e2e_isa or args.isas.split(",")[0]
    e2e_flags = ["--target-features=-avx512f"] if e2e_isa == "avx2" else []
    host_model = os.path.join(args.out, f"model_{e2e_isa}.json")
    e2e = {}
    for name in [m for m in args.models.split(",") if m]:
        onnx_path = os.path.join(args.out, "models", name + ".onnx")
        if not os.path.exists(onnx_path):
            os.makedirs(os.path.dirname(onnx_path), exist_ok=True)
            save_model(registry.MODELS[name][0](0), onnx_path)
        e2e[name] = {}
        labels = [("heuristic", "heuristic"), ("analytic", "analytic"), ("learned", host_model)]
        for label, spec in labels:
            lib = os.path.join(args.out, f"{name}_{e2e_isa}_{label}.so")
            t0 = time.time()
            run([kiln, "compile", onnx_path, "-o", lib, "--cost-model=" + spec] + e2e_flags,
                stdout=subprocess.DEVNULL)
            e2e[name][label] = {"compile_s": time.time() - t0, "round_ms": []}
        # Rounds take the three libraries in turn, so a drift of the machine's
        # speed (clock, neighbours) hits all of them alike.
        for _ in range(args.rounds):
            for label, _spec in labels:
                lib = os.path.join(args.out, f"{name}_{e2e_isa}_{label}.so")
                r = run([kiln, "bench", lib, "--threads", "1", "--iterations", "15", "--json"], capture_output=True)
                e2e[name][label]["round_ms"].append(json.loads(r.stdout)["median_ms"])
        for label, _spec in labels:
            entry = e2e[name][label]
            entry["median_ms"] = min(entry["round_ms"])
            print(f"  {name} {label}: {entry['median_ms']:.3f} ms (rounds {entry['round_ms']}), "
                  f"compile {entry['compile_s']:.1f} s", flush=True)
    summary["end_to_end"] = {"isa": e2e_isa, "models": e2e}
    out = os.path.join(args.out, f"summary_e2e_{e2e_isa}.json" if args.e2e_only else "summary.json")
    with open(out, "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Decode-step benchmark (issue 9): kiln's compiler-owned KV cache vs ONNX
Runtime on the same exported past/present decoder, side by side in one run.

usage: .venv/bin/python bench/perf/decode.py [--config gpt2|tiny]
         [--contexts 128,1024] [--threads 1,2] [--iterations 10]
         [--kiln PATH] [--out FILE.json] [--quantize w4] [--precision bf16]
         [--kv int8|qjl|think] [--kv-qjl-sketch M] [--kv-think-ratio L]
         [--prefill S] [--kv-block N] [--rounds R]

For each context length N and thread count T:
  kiln  `kiln bench decoder.so --decode --context N`: the cache is filled
        with N tokens, then each timed step appends token N+1 in place
        (the state is truncated back to N between steps);
  ORT   InferenceSession (Python API, intra_op_num_threads=T) on the same
        ONNX file with past_key_values.* of length N (N(0,1) values) and one
        new token; each step returns present.* = past + the new row (the copy
        an app pays for without kiln).
With --prefill S both time one call appending S tokens at context N
instead (kiln: `kiln bench --prefill`, the prefill entry of
`--prefill seq=S`; ORT: seq = S), and the floor counts the weights once.
Both report the median step. The machine's memory bandwidth drifts while a
run goes on (a shared VM: the 2-thread triad read 45 and 78 GB/s an hour
apart), so each (context, threads) point is measured in --rounds rounds of
triad, kiln, ORT in turn; the table gives each round and the median of the
rounds' ratios. The floor is the bytes a step must read --
the weights except the embedding tables (a Gather reads one row of each;
with --quantize, the packed weights the artifact reports) plus the K/V
cache, layers x 2 x kv_heads x N x head_dim x 4 (--kv int8, qjl: their
row bytes; --kv think: the keys before the last 32 keep T = head_dim -
floor(L head_dim) channels, as the cache filled one token per step is
pruned) -- divided by
the STREAM triad bandwidth measured in the same run (bench/perf/limits).
The model (test/models/decoder.py, GPT-2 small: 12 layers, 768 wide,
vocab 50257; random weights) is generated into bench/cache/models and the
artifacts into bench/cache/decode-work. Not a test: numbers depend on the
machine and its load.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "e2e", "kv"))
import decoder  # noqa: E402
import limits as machine  # noqa: E402
from kiln_binary import default_kiln  # noqa: E402


def log(msg):
    print(msg, flush=True)


def ensure_model(config, cache):
    path = os.path.join(cache, "models", f"decoder_{config}-s0.onnx")
    src = os.path.join(ROOT, "test", "models", "decoder.py")
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(src):
        return path
    import onnx
    os.makedirs(os.path.dirname(path), exist_ok=True)
    log(f"generating {path}")
    onnx.save(decoder.build(config), path)
    return path


def step_bytes(model_path, config, context, kv="f32", sketch=256,
               think_ratio=0.4, think_recent=32):
    import onnx
    m = onnx.load(model_path, load_external_data=False)
    weights = sum(np.prod(t.dims) * 4 for t in m.graph.initializer
                  if t.name not in ("wte", "wpe"))
    c = decoder.CONFIGS[config]
    head_dim = c["hidden"] // c["heads"]
    # f32 rows, or int8 rows with an f32 scale each (--kv int8); --kv qjl:
    # keys as sketch / 8 bytes of sign bits + an f32 scale, int8 values
    # (the window of recent whole keys is a fixed few KB, left out).
    value_row = head_dim * 4 if kv in ("f32", "think") else head_dim + 4
    key_row = sketch // 8 + 4 if kv == "qjl" else value_row
    key_bytes = context * key_row
    if kv == "think":
        pruned = max(0, context - think_recent)
        kept = head_dim - int(head_dim * think_ratio)
        key_bytes = pruned * kept * 4 + (context - pruned) * key_row
    kv_bytes = c["layers"] * c["kv_heads"] * (key_bytes + context * value_row)
    return int(weights), int(kv_bytes)


def kiln_step(kiln, so, context, threads, iterations, mode="--decode"):
    r = subprocess.run([kiln, "bench", so, mode, "--context", str(context),
                        "--threads", str(threads), "--json", "--warmup", "2",
                        "--iterations", str(iterations)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stdout + r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def ort_step(model_path, config, context, threads, iterations, tokens=1):
    import onnxruntime as ort
    from ort_decode import past_inputs, step_feeds
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    s = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    pasts = {}
    for name, shape in past_inputs(s):
        shape[2] = context
        pasts[name] = rng.standard_normal(shape, dtype=np.float32)
    # GPT-2 has 1024 positions: the step at context 1024 reads the last
    # position row (kiln's Gather clamps the same way); the bytes a step
    # reads do not depend on which row.
    n_pos = decoder.CONFIGS[config]["n_pos"]
    feeds = step_feeds([11] * tokens, min(context, n_pos - tokens), pasts)
    for _ in range(2):
        s.run(None, feeds)
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        s.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return {"median_ms": float(np.median(times)), "min_ms": times[0]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="gpt2", choices=sorted(decoder.CONFIGS))
    ap.add_argument("--contexts", default="128,1024")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--kiln", default=default_kiln())
    ap.add_argument("--quantize", default="", help="kiln --quantize mode (e.g. w4)")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="kiln --precision (bf16: weights' matmuls in bf16)")
    ap.add_argument("--kv", default="f32",
                    choices=["f32", "int8", "qjl", "think"],
                    help="kiln --kv: the cache's layout")
    ap.add_argument("--kv-qjl-sketch", type=int, default=256,
                    help="kiln --kv-qjl-sketch (with --kv qjl)")
    ap.add_argument("--kv-think-ratio", type=float, default=0.4,
                    help="kiln --kv-think-ratio (with --kv think)")
    ap.add_argument("--prefill", type=int, default=0,
                    help="time a prefill call of this many tokens instead "
                         "of a decode step (kiln --prefill seq=N)")
    ap.add_argument("--kv-block", type=int, default=0,
                    help="page the cache in blocks of this many tokens "
                         "(kiln --kv-block; the pool holds one sequence)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of (triad, kiln, ORT) per point; the median "
                         "ratio counts")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    contexts = [int(c) for c in args.contexts.split(",")]
    threads = [int(t) for t in args.threads.split(",")]
    cache = os.path.join(ROOT, "bench", "cache")
    work = os.path.join(cache, "decode-work")
    os.makedirs(work, exist_ok=True)

    built = machine.build(os.path.join(work, "limits"), log)
    bandwidth = {}
    for t in threads:
        r = machine._run(built[2]["stream"], t, 1 << 30, 3)
        bandwidth[t] = r["triad_gbs"]
        log(f"memory {t} thr: triad {r['triad_gbs']:.1f} GB/s, read {r['read_gbs']:.1f} GB/s")

    model = ensure_model(args.config, cache)
    rows = []
    for n in contexts:
        tag = f"_p{args.prefill}" if args.prefill else ""
        tag += f"_b{args.kv_block}" if args.kv_block else ""
        so = os.path.join(work, f"decoder_{args.config}_ctx{n}{args.quantize}_{args.precision}_{args.kv}{tag}.so")
        cmd = [args.kiln, "compile", model, "-o", so, "--shape", "seq=1",
               "--shape", "past_seq=1", "--max-seq-len",
               str(n + max(16, args.prefill))]
        if args.prefill:
            cmd += ["--prefill", f"seq={args.prefill}"]
        if args.quantize:
            cmd += ["--quantize", args.quantize]
        cmd += ["--kv", args.kv, "--precision", args.precision]
        if args.kv == "qjl":
            cmd += ["--kv-qjl-sketch", str(args.kv_qjl_sketch)]
        if args.kv == "think":
            cmd += ["--kv-think-ratio", str(args.kv_think_ratio)]
        if args.kv_block:
            cmd += ["--kv-block", str(args.kv_block)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        log(f"compiled {os.path.basename(so)} in {time.perf_counter() - t0:.1f} s")
        wbytes, kvbytes = step_bytes(model, args.config, n, args.kv,
                                     args.kv_qjl_sketch, args.kv_think_ratio)
        if args.quantize or args.precision != "fp32":
            # The packed weights the artifact holds, minus the embedding
            # tables (still f32; a Gather reads one row of each).
            c = decoder.CONFIGS[args.config]
            tables = (c["vocab"] + c["n_pos"]) * c["hidden"] * 4
            wbytes = kiln_step(args.kiln, so, 0, 1, 1)["weights_bytes"] - tables
        mode = "--prefill" if args.prefill else "--decode"
        for t in threads:
            rounds = []
            for _ in range(max(1, args.rounds)):
                bw = machine._run(built[2]["stream"], t, 1 << 30, 3)["triad_gbs"]
                k = kiln_step(args.kiln, so, n, t, args.iterations, mode)
                o = ort_step(model, args.config, n, t, args.iterations,
                             max(1, args.prefill))
                floor_ms = (wbytes + kvbytes) / (bw * 1e9) * 1e3
                rounds.append({"triad_gbs": bw, "kiln_ms": k["median_ms"],
                               "ort_ms": o["median_ms"],
                               "speedup": o["median_ms"] / k["median_ms"],
                               "floor_ms": floor_ms,
                               "kiln_of_floor": floor_ms / k["median_ms"],
                               "ort_of_floor": floor_ms / o["median_ms"]})
                log(f"  round: triad {bw:.1f} GB/s, kiln {k['median_ms']:.2f} ms, "
                    f"ORT {o['median_ms']:.2f} ms, ORT/kiln {rounds[-1]['speedup']:.2f}x")
            med = {key: float(np.median([r[key] for r in rounds]))
                   for key in rounds[0]}
            row = {"context": n, "threads": t, "tokens": max(1, args.prefill),
                   "kiln_ms": med["kiln_ms"], "ort_ms": med["ort_ms"],
                   "speedup": med["speedup"], "weight_bytes": wbytes,
                   "kv_bytes": kvbytes, "floor_ms": med["floor_ms"],
                   "kiln_of_floor": med["kiln_of_floor"],
                   "ort_of_floor": med["ort_of_floor"], "rounds": rounds}
            if args.prefill and not args.quantize:
                # The matmul work of the chunk (2 flops per weight and token;
                # attention left out): the rate kiln reaches on it.
                row["kiln_gflops"] = 2 * wbytes / 4 * args.prefill / (med["kiln_ms"] * 1e6)
                log(f"  prefill {args.prefill} tokens: kiln "
                    f"{row['kiln_gflops']:.1f} GFLOP/s on the weights' matmuls")
            rows.append(row)
            log(f"context {n:5d} threads {t}: kiln {row['kiln_ms']:.2f} ms, ORT "
                f"{row['ort_ms']:.2f} ms, ORT/kiln {row['speedup']:.2f}x (median of "
                f"{len(rounds)} rounds); kiln {100 * row['kiln_of_floor']:.0f}%, ORT "
                f"{100 * row['ort_of_floor']:.0f}% of the floor")
    out = args.out or os.path.join(cache, f"decode-{args.config}.json")
    with open(out, "w") as f:
        json.dump({"config": args.config, "quantize": args.quantize, "kv": args.kv,
                   "kv_block": args.kv_block,
                   "prefill": args.prefill,
                   "bandwidth_triad_gbs": bandwidth, "rows": rows}, f, indent=1)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()

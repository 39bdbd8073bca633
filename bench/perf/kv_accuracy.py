#!/usr/bin/env python3
"""Accuracy of kiln's KV-cache layouts (issue 9) on a decoder: every
step's logits of a `--kv` layout against the f32 cache's, over a token
sequence fed one per step.

usage: .venv/bin/python bench/perf/kv_accuracy.py [--config gpt2|tiny]
         [--kv int8,qjl,qjl:4,qjl+o8,think,think:0.5] [--kv-qjl-sketch M]
         [--kv-qjl-outlier-sketch M] [--tokens 256] [--kiln PATH]

A layout LAYOUT:B (e.g. qjl:4, int8:2) stores values at B bits
(--kv-value-bits B); think:R prunes the ratio R of the key channels
(--kv think --kv-think-ratio R; think alone: kiln's default ratio);
qjl+oK (also qjl:B+oK) splits K outlier channels off per group of 32 keys
(--kv-qjl-outliers K).

Two sequences of --tokens tokens: random ids, and the f32 cache's own
greedy continuation of a 4-token prompt (so both layouts read the same
tokens: the comparison is of logits, not of where generation drifts).
Prints, per layout, the cache's bytes per token (from --report) and the
min / mean cosine and max |diff| / max |f32| of the logits. The model
(test/models/decoder.py, random weights) is generated into bench/cache.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "perf"))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))
import decoder  # noqa: E402
from decode import ensure_model, log  # noqa: E402


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="gpt2", choices=sorted(decoder.CONFIGS))
    ap.add_argument("--kv", default="int8,qjl")
    ap.add_argument("--kv-qjl-sketch", type=int, default=256)
    ap.add_argument("--kv-qjl-outlier-sketch", type=int, default=0)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--kiln", default=os.environ.get(
        "KILN", os.path.join(ROOT, "build", "tools", "kiln", "kiln")))
    args = ap.parse_args()
    cache = os.path.join(ROOT, "bench", "cache")
    work = os.path.join(cache, "kv-accuracy-work")
    os.makedirs(work, exist_ok=True)
    model = ensure_model(args.config, cache)
    vocab = decoder.CONFIGS[args.config]["vocab"]
    layouts = ["f32"] + args.kv.split(",")
    libs = {}
    for kv in layouts:
        libs[kv] = os.path.join(
            work, f"{args.config}_{kv.replace(':', '-v').replace('+', '-')}.so")
        kv_name, _, outliers = kv.partition("+o")
        layout, _, arg = kv_name.partition(":")
        cmd = [args.kiln, "compile", model, "-o", libs[kv], "--shape", "seq=1",
               "--shape", "past_seq=1", "--max-seq-len", str(args.tokens + 8),
               "--kv", layout, "--report"]
        if layout == "qjl":
            cmd += ["--kv-qjl-sketch", str(args.kv_qjl_sketch)]
        if outliers:
            cmd += ["--kv-qjl-outliers", outliers]
            if args.kv_qjl_outlier_sketch:
                cmd += ["--kv-qjl-outlier-sketch", str(args.kv_qjl_outlier_sketch)]
        if arg:
            cmd += ["--kv-think-ratio" if layout == "think" else "--kv-value-bits",
                    arg]
        line = [l for l in run(cmd).splitlines() if l.startswith("kv cache:")]
        log(f"{kv}: {' / '.join(line) if line else 'no kv cache'}")

    rng = np.random.default_rng(1)
    sequences = {"random": rng.integers(0, vocab, args.tokens).tolist()}
    out = os.path.join(work, "greedy-f32")
    # The same four ids on GPT-2, folded into a smaller vocabulary (tiny).
    prompt = ",".join(str(t % vocab) for t in (464, 3290, 318, 257))
    run([args.kiln, "run", libs["f32"], "--prompt", prompt,
         "--generate", str(args.tokens - 4), "--output-dir", out])
    sequences["greedy"] = np.load(os.path.join(out, "tokens.npy")).tolist()
    for case, tokens in sequences.items():
        logits = {}
        for kv, lib in libs.items():
            out = os.path.join(work, f"{case}-{kv.replace(':', '-v').replace('+', '-')}")
            run([args.kiln, "run", lib, "--prompt", ",".join(map(str, tokens)),
                 "--generate", "0", "--output-dir", out])
            logits[kv] = np.load(os.path.join(out, "logits.npy"))
        ref = logits["f32"]
        for kv in layouts[1:]:
            a = logits[kv]
            c = (a * ref).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(ref, axis=1)
            log(f"{case:6s} {kv:9s}: {len(c)} steps, cosine min {c.min():.6f} "
                f"mean {c.mean():.6f}, max |diff| / max |f32| "
                f"{np.abs(a - ref).max() / np.abs(ref).max():.2e}")


if __name__ == "__main__":
    main()

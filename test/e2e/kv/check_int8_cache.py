#!/usr/bin/env python3
"""An int8 KV cache (kiln compile --max-seq-len N --kv int8) against the f32
cache, on test/models/decoder.py's tiny decoder.

usage: check_int8_cache.py --kiln PATH/TO/kiln --work DIR

Checked:
  - `--report` states the cache's bytes per token: int8 rows plus an f32
    scale per row, 2 x kv_heads x (head_dim + 4) per layer = 160 bytes for
    2 layers of 2 heads of 16, against 2 x 2 x 16 x 4 x 2 = 512 for f32;
  - over 256 tokens (a random prompt fed one per step, and 252 tokens
    generated greedily after a 4-token prompt) every step's logits have
    cosine >= 0.99 to the f32 cache's (the issue's accuracy target), and
    the greedy tokens are the same;
  - the f32 cache's logits equal ONNX Runtime's on the random sequence
    (the reference the int8 error is measured from is itself right).

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import sys

import numpy as np
import onnx

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "models"))
sys.path.insert(0, os.path.join(here, "..", "quant"))
import decoder  # noqa: E402
from ort_decode import cosines, decode_logits  # noqa: E402
from quant_checks import check, failures, run  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model = os.path.join(args.work, "decoder.onnx")
    onnx.save(decoder.build("tiny"), model)
    libs = {}
    for kv in ("f32", "int8"):
        libs[kv] = os.path.join(args.work, f"{kv}.so")
        log = run([args.kiln, "compile", model, "-o", libs[kv], "--shape", "seq=1",
                   "--shape", "past_seq=1", "--max-seq-len", "300", "--kv", kv,
                   "--report"])
        line = [l for l in log.splitlines() if l.startswith("kv cache:")]
        print(line[0] if line else "no kv cache line")
        want = "160 bytes per token" if kv == "int8" else "512 bytes per token"
        check(bool(line) and want in line[0], f"{kv} cache: {want}")

    rng = np.random.default_rng(1)
    random_prompt = rng.integers(0, 96, 256).tolist()
    logits = {}
    for case, prompt, gen in (("random", random_prompt, 0), ("greedy", [5, 7, 9, 11], 252)):
        for kv, lib in libs.items():
            out = os.path.join(args.work, f"{case}-{kv}")
            run([args.kiln, "run", lib, "--prompt", ",".join(map(str, prompt)),
                 "--generate", str(gen), "--output-dir", out])
            logits[case, kv] = (np.load(os.path.join(out, "logits.npy")),
                                np.load(os.path.join(out, "tokens.npy")))
        (a, ta), (b, tb) = logits[case, "int8"], logits[case, "f32"]
        c = cosines(a, b)
        print(f"{case}: {len(c)} steps, cosine int8 vs f32 min {c.min():.6f} "
              f"mean {c.mean():.6f}, max |diff| / max |f32| "
              f"{np.abs(a - b).max() / np.abs(b).max():.2e}")
        check(len(c) == 256 and c.min() >= 0.99,
              f"{case}: every step's logits within cosine 0.99 of the f32 cache's")
        if gen:
            check(ta.tolist() == tb.tolist(), f"{case}: same greedy tokens")
    ref = decode_logits(model, random_prompt)
    f32 = logits["random", "f32"][0]
    check(np.allclose(f32, ref, rtol=1e-4, atol=1e-5 * np.abs(ref).max()),
          "f32 cache equals ORT on the random sequence")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

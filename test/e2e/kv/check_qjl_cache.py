#!/usr/bin/env python3
"""A QJL key cache (kiln compile --max-seq-len N --kv qjl) on
test/models/decoder.py's tiny decoder (2 layers, 2 key/value heads of 16).

usage: check_qjl_cache.py --kiln PATH/TO/kiln --work DIR

Checked:
  - `--report` states the bytes the layout formula gives: per token, layer
    and head m / 8 bytes of key sign bits + a 4-byte scale, and int8 values
    (head_dim + 4 bytes); fixed: the windows of W whole keys (4 W head_dim
    bytes per head) and their W 8-byte tags, per layer;
  - the estimator is QJL's: kiln's logits match ONNX Runtime fed, as past
    keys, each key's QJL reconstruction sqrt(pi/2)/m |k| P sign(k P) (which
    is what the sketched score computes: q . that) outside the last W
    tokens, and int8-dequantized values, with the projection P restated
    here from passes/KVLayout/QJLSketch.h. The one difference left is the
    newest token's value, which kiln reads as int8 and ORT whole; so kiln
    must sit at least 10x nearer this reference than the f32 cache's logits
    (a wrong bit order, norm, sketch or window would not);
  - over 256 tokens (a random sequence, and the f32 cache's own greedy
    continuation of a 4-token prompt, both fed one per step) every step's
    logits have cosine >= 0.99 to the f32 cache's (the issue's target).

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "models"))
sys.path.insert(0, os.path.join(here, "..", "quant"))
import decoder  # noqa: E402
from ort_decode import past_inputs, step_feeds  # noqa: E402
from quant_checks import check, failures, run  # noqa: E402

M, W, LAYERS, KV_HEADS, HEAD_DIM = 256, 32, 2, 2, 16
MASK = (1 << 64) - 1


def sketch(d, m, seed):
    """P [d, m]: splitmix64 uniforms in (0, 1], Box-Muller pairs, then
    orthogonalized blocks."""
    x = seed

    def uniform():
        nonlocal x
        x = (x + 0x9E3779B97F4A7C15) & MASK
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        return ((z >> 11) + 1) * 2.0 ** -53

    out = []
    while len(out) < d * m:
        r = math.sqrt(-2.0 * math.log(uniform()))
        a = 2.0 * math.pi * uniform()
        out += [r * math.cos(a), r * math.sin(a)]
    p = np.array(out[:d * m], np.float32).reshape(d, m)
    # Orthogonalized in blocks of d columns: Q of the QR with diag(R) > 0.
    for c0 in range(0, m, d):
        q, r = np.linalg.qr(p[:, c0:c0 + d].astype(np.float64))
        q *= np.sign(np.diag(r))
        p[:, c0:c0 + d] = (q * math.sqrt(d)).astype(np.float32)
    return p


def qjl_key(k, p):
    """The key the sketched score reads: sqrt(pi/2)/m |k| P sign(k P)."""
    signs = np.where(k.astype(np.float64) @ p > 0, 1.0, -1.0)
    scale = np.float32(math.sqrt(math.pi / 2) / p.shape[1]) * np.linalg.norm(k)
    return (scale * (signs @ p.T.astype(np.float64))).astype(np.float32)


def int8_row(v):
    s = np.float32(np.abs(v).max() / np.float32(127)) if np.abs(v).max() > 0 \
        else np.float32(1)
    return np.clip(np.rint(v / s), -127, 127).astype(np.float32) * s


def qjl_reference(model, tokens):
    """ORT, step by step, reading QJL keys (outside the window) and int8
    values from the past."""
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    pasts = dict(past_inputs(s))
    sketches = [sketch(HEAD_DIM, M, 42 + i) for i in range(LAYERS)]
    exact = {n: np.zeros([1, KV_HEADS, 0, HEAD_DIM], np.float32) for n in pasts}
    approx = {n: np.zeros([1, KV_HEADS, 0, HEAD_DIM], np.float32) for n in pasts}
    rows = []
    for pos, t in enumerate(tokens):
        feeds = {}
        for name in pasts:
            past = approx[name].copy()
            if name.endswith(".key"):
                keep = max(0, pos + 1 - W)  # rows before it are sketched
                past[:, :, keep:] = exact[name][:, :, keep:]
            feeds[name] = past
        out = dict(zip(names, s.run(None, step_feeds([t], pos, feeds))))
        rows.append(out["logits"].reshape(-1))
        for name in pasts:
            new = out[name.replace("past_key_values.", "present.")][:, :, -1:]
            layer = int(name.split(".")[1])
            if name.endswith(".key"):
                rec = np.stack([qjl_key(new[0, h, 0], sketches[layer])
                                for h in range(KV_HEADS)])[None, :, None]
            else:
                rec = np.stack([int8_row(new[0, h, 0])
                                for h in range(KV_HEADS)])[None, :, None]
            exact[name] = np.concatenate([exact[name], new], 2)
            approx[name] = np.concatenate([approx[name], rec], 2)
    return np.stack(rows)


def cosines(a, b):
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model = os.path.join(args.work, "decoder.onnx")
    onnx.save(decoder.build("tiny"), model)
    libs = {}
    for kv in ("f32", "qjl"):
        libs[kv] = os.path.join(args.work, f"{kv}.so")
        log = run([args.kiln, "compile", model, "-o", libs[kv], "--shape", "seq=1",
                   "--shape", "past_seq=1", "--max-seq-len", "300", "--kv", kv,
                   "--report"])
        line = [l for l in log.splitlines() if l.startswith("kv cache:")]
        print(line[0] if line else "no kv cache line")
    per_layer = KV_HEADS * (M // 8 + 4) + KV_HEADS * (HEAD_DIM + 4)
    fixed = LAYERS * (KV_HEADS * W * HEAD_DIM * 4 + W * 8)
    want = (f"{LAYERS * per_layer} bytes per token ({per_layer} per layer) + "
            f"{fixed} bytes fixed")
    check(bool(line) and want in line[0], f"qjl cache: {want}")
    print(f"key bits per coordinate: (m + 32) / head_dim = "
          f"{(M + 32) / HEAD_DIM:.2f}")

    rng = np.random.default_rng(1)
    sequences = {"random": rng.integers(0, 96, 256).tolist()}
    out = os.path.join(args.work, "greedy-f32")
    run([args.kiln, "run", libs["f32"], "--prompt", "5,7,9,11", "--generate",
         "252", "--output-dir", out])
    sequences["greedy"] = np.load(os.path.join(out, "tokens.npy")).tolist()
    logits = {}
    for case, tokens in sequences.items():
        for kv, lib in libs.items():
            out = os.path.join(args.work, f"{case}-{kv}")
            run([args.kiln, "run", lib, "--prompt", ",".join(map(str, tokens)),
                 "--generate", "0", "--output-dir", out])
            logits[case, kv] = np.load(os.path.join(out, "logits.npy"))
        a, b = logits[case, "qjl"], logits[case, "f32"]
        c = cosines(a, b)
        print(f"{case}: {len(c)} steps, cosine qjl vs f32 min {c.min():.6f} "
              f"mean {c.mean():.6f}")
        check(len(c) == 256 and c.min() >= 0.99,
              f"{case}: every step's logits within cosine 0.99 of the f32 cache's")

    tokens = sequences["random"][:96]
    ref = qjl_reference(model, tokens)
    got, f32 = logits["random", "qjl"][:96], logits["random", "f32"][:96]
    near, far = np.abs(got - ref).max(), np.abs(got - f32).max()
    print(f"first 96 steps: max |kiln qjl - QJL reference| {near:.2e}, "
          f"max |kiln qjl - f32 cache| {far:.2e}")
    check(near * 10 <= far, "kiln's QJL scores are the QJL estimator's")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

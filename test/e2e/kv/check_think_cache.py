#!/usr/bin/env python3
"""A ThinK key cache (kiln compile --max-seq-len N --kv think) on
test/models/decoder.py's tiny decoder (2 layers, 4 query heads sharing 2
key/value heads of D = 16).

usage: check_think_cache.py --kiln PATH/TO/kiln --work DIR

ThinK (docs/techniques.md section 4) keeps, per layer and key/value head,
the T = D - floor(ratio D) key channels whose observed queries and cached
keys weigh most (score_i = sum q_i^2 * sum k_i^2), and drops the others
from every key older than the last R tokens. kiln's rule, per call
appending S tokens at position p (restated by think_reference):
  - the channels are chosen in the first decode call (S = 1) with p > R,
    from the p keys then cached and the queries of the tokens in
    [p - W, p) that earlier calls recorded (each call records its last
    min(S, W) queries; ties go to the lower channel);
  - from then on every call, prefill or decode, first prunes the keys that
    have left the last R: rows [0, p - R) keep only their channels, the
    others read as zero. Values and the newer keys stay whole f32.
(R = --kv-think-recent, W = --kv-think-window, ratio = --kv-think-ratio;
defaults 32, 32, 0.4.)

Checked:
  - the reference, ONNX Runtime fed those pruned past keys step by step,
    is plain ORT when nothing is pruned (ratio 0), and prunes rows as the
    rule says (printed per call);
  - kiln's logits are the reference's, to float rounding: 100x nearer it
    than the unpruned cache's (ORT's f32 logits) and within 1e-4 of the
    logits' scale, per step, for ratio 0.4, R 8, W 8 through 8-token
    prefill chunks then decode steps; ratio 0.5, R 12, W 4 (a window
    shorter than a chunk); ratio 0.4, R 4, W 16 with the prompt fed one
    token per decode step (the window reaches back past position 0); and
    the defaults over 256 random tokens. A pruning boundary one row off,
    a head grouping other than h * G + g, or channels chosen in a prefill
    call or from other keys or queries (the current call's) moves the
    logits by 1e-2 or more, far past rounding (1e-6);
  - `--report` states the bytes a pruned token keeps: 4 T bytes of keys
    per layer and head instead of 4 D;
  - over 256 tokens (a random sequence, and the f32 cache's own greedy
    continuation of a 4-token prompt, both fed one per step) the cosine of
    every step's logits to the f32 cache's, with the defaults, is printed
    (not required: the issue's 0.99 target is for int8 and QJL caches;
    measured min 0.967 random, 0.999 greedy on this random-weight model).

Not covered: `kiln run` starts each sequence empty and feeds prefill chunks
only at its start, so P's clamp to the position (reset, truncate), the
window's bounds on stale observation tags, and prefill calls after the
channels are chosen are not exercised here.

Exit status: 0 pass, 1 a check failed, 2 a step failed (also when kiln
rejects --kv think: a kiln without the ThinK layout).
"""

import argparse
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "models"))
sys.path.insert(0, os.path.join(here, "..", "quant"))
import decoder  # noqa: E402
from ort_decode import cosines, decode_logits, past_inputs, step_feeds  # noqa: E402
from quant_checks import check, failures, run  # noqa: E402

LAYERS, KV_HEADS, HEAD_DIM = 2, 2, 16

# name: (prefill chunk (0: none), ratio, recent, window, prompt, generated).
CASES = {"think": (8, 0.4, 8, 8, 21, 20),
         "think-0.5": (8, 0.5, 12, 4, 30, 10),
         "think-decode": (0, 0.4, 4, 16, 21, 20)}
DEFAULTS = (0.4, 32, 32)  # kiln's ratio, recent, window (think-256: no flags)


def with_queries(model):
    """`model` also returning each layer's attention query (the Attention
    op's q, [1, seq, heads * D]) as query.{layer}."""
    g = model.graph
    attention = [n for n in g.node if n.op_type == "Attention"]
    for layer, n in enumerate(attention):
        g.node.append(helper.make_node("Identity", [n.input[0]],
                                       [f"query.{layer}"]))
        g.output.append(helper.make_tensor_value_info(
            f"query.{layer}", TensorProto.FLOAT, None))
    return model


def calls_of(chunk, prompt, tokens):
    """Tokens per call as `kiln run --prompt` makes them: whole prefill
    chunks of the prompt, then one decode step per token."""
    chunks = prompt // chunk if chunk else 0
    return [chunk] * chunks + [1] * (tokens - chunks * chunk)


def think_reference(model, tokens, calls, ratio, recent, window):
    """ORT on `model` (with_queries) fed `tokens` in kiln's calls, one
    token at a time, reading every past key row below the pruned count P
    with only its layer's and head's kept channels (a call's P and channels
    hold for all its tokens, so this is the call). The sequence starts
    empty and is never reset, so P only grows and the channels, once
    chosen, stay. Returns the logits [len(tokens), vocab] and P per call."""
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    rows = {n: np.zeros([KV_HEADS, 0, HEAD_DIM], np.float32)
            for n, _ in past_inputs(s)}  # whole, as computed
    keep = HEAD_DIM - int(HEAD_DIM * ratio)
    kept = None  # per layer [kv heads, D]: the channels pruned rows keep
    # Observation ring: the token that last wrote each slot, and its query's
    # sum over the head's group of q^2 per layer [kv heads, D].
    tags = np.full(window, -1)
    observed = np.zeros([LAYERS, window, KV_HEADS, HEAD_DIM])
    pruned, p, logits, history = 0, 0, [], []
    for size in calls:
        valid = (tags >= max(0, p - window)) & (tags < p)
        if size == 1 and pruned == 0 and p > recent and valid.any():
            kept, gap = [], np.inf
            for layer in range(LAYERS):
                k = rows[f"past_key_values.{layer}.key"].astype(np.float64)
                score = observed[layer, valid].sum(0) * (k ** 2).sum(1)
                order = np.argsort(-score, axis=1, kind="stable")
                mask = np.zeros([KV_HEADS, HEAD_DIM], bool)
                np.put_along_axis(mask, order[:, :keep], True, axis=1)
                kept.append(mask)
                if keep < HEAD_DIM:
                    top = np.take_along_axis(score, order, 1)
                    gap = min(gap, (1 - top[:, keep] / top[:, keep - 1]).min())
            # kiln ranks f32 sums: a gap near rounding could flip a channel.
            if keep < HEAD_DIM:
                print(f"  channels chosen at p={p} from {valid.sum()} queries, "
                      f"kept per layer and head "
                      f"{[np.flatnonzero(m).tolist() for l in kept for m in l]}, "
                      f"least relative score gap kept/dropped {gap:.1e}")
        if kept is not None:
            pruned = max(pruned, p - recent)
        history.append(pruned)
        for t in range(p, p + size):
            feeds = {}
            for name, r in rows.items():
                past = r.copy()
                if name.endswith(".key") and pruned:
                    mask = kept[int(name.split(".")[1])][:, None]
                    past[:, :pruned] = np.where(mask, past[:, :pruned], 0)
                feeds[name] = past[None]
            out = dict(zip(names, s.run(None, step_feeds([tokens[t]], t, feeds))))
            logits.append(out["logits"].reshape(-1))
            for name in rows:
                new = out[name.replace("past_key_values.", "present.")][0, :, -1:]
                rows[name] = np.concatenate([rows[name], new], 1)
            if t >= p + size - window:  # the call's last min(S, W) queries
                tags[t % window] = t
                for layer in range(LAYERS):
                    # Query head h * G + g reads key/value head h.
                    q = out[f"query.{layer}"].reshape(KV_HEADS, -1, HEAD_DIM)
                    observed[layer, t % window] = (q.astype(np.float64) ** 2).sum(1)
        p += size
    return np.stack(logits), history


def think_flags(ratio, recent, window):
    return ["--kv", "think", "--kv-think-ratio", str(ratio),
            "--kv-think-recent", str(recent), "--kv-think-window", str(window)]


def kiln_run(kiln, lib, prompt, generate, out):
    """`kiln run --prompt --generate`: its logits and tokens."""
    run([kiln, "run", lib, "--prompt", ",".join(map(str, prompt)),
         "--generate", str(generate), "--output-dir", out])
    return (np.load(os.path.join(out, "logits.npy")),
            np.load(os.path.join(out, "tokens.npy")).tolist())


def matches(what, got, ref, f32):
    """Checks that kiln's logits `got` are the reference's to float
    rounding: 100x nearer `ref` than the unpruned `f32`, and within 1e-4
    of the logits' scale."""
    step = np.abs(got - ref).max(1)
    near, far, scale = step.max(), np.abs(got - f32).max(), np.abs(ref).max()
    print(f"{what}: per-step max |kiln - reference|: "
          + " ".join(f"{d:.0e}" for d in step))
    print(f"{what}: max |kiln - reference| {near:.2e}, max |kiln - f32| "
          f"{far:.2e}, max |logit| {scale:.2f}")
    check(got.shape == ref.shape and near * 100 <= far and near <= 1e-4 * scale,
          f"{what}: kiln's logits are the ThinK reference's")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model = os.path.join(args.work, "decoder.onnx")
    onnx.save(decoder.build("tiny"), model)
    queries = os.path.join(args.work, "decoder-queries.onnx")
    onnx.save(with_queries(decoder.build("tiny")), queries)

    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 96, 41).tolist()
    calls = calls_of(8, 21, 41)
    ref, history = think_reference(queries, tokens, calls, 0.0, 8, 8)
    plain = decode_logits(model, tokens)
    diff = np.abs(ref - plain).max()
    print(f"reference, ratio 0: max |diff| to plain ORT {diff:.2e}, pruned "
          f"rows per call {history}")
    check(diff <= 1e-6 * np.abs(plain).max(),
          "the reference with nothing pruned is plain ORT")
    ref, history = think_reference(queries, tokens, calls, 0.4, 8, 8)
    print(f"reference, ratio 0.4 R 8 W 8: pruned rows per call {history}, max "
          f"|diff| to plain ORT {np.abs(ref - plain).max():.2e}")
    check(history == [0, 0] + list(range(8, 33)),
          "the reference prunes from the first decode call, keeping the "
          "last 8 keys whole")

    libs, logs = {}, {}
    f32 = os.path.join(args.work, "f32.so")
    run([args.kiln, "compile", model, "-o", f32, "--shape", "seq=1", "--shape",
         "past_seq=1", "--max-seq-len", "300", "--kv", "f32"])
    builds = {name: (["--max-seq-len", "64"] + think_flags(*case[1:4])
                     + (["--prefill", f"seq={case[0]}"] if case[0] else []))
              for name, case in CASES.items()}
    builds["think-256"] = ["--max-seq-len", "300", "--kv", "think"]
    try:
        for name, flags in builds.items():
            libs[name] = os.path.join(args.work, f"{name}.so")
            logs[name] = run([args.kiln, "compile", model, "-o", libs[name],
                              "--shape", "seq=1", "--shape", "past_seq=1",
                              "--report"] + flags)
    except SystemExit:
        print("kiln compile --kv think failed (above): a kiln without the "
              "ThinK layout rejects --kv think and --kv-think-*", flush=True)
        raise
    # The bytes a pruned token keeps: T of D key channels per layer and
    # head (4 bytes each), the layout formula.
    for name, log in logs.items():
        ratio = CASES[name][1] if name in CASES else DEFAULTS[0]
        keep = HEAD_DIM - int(HEAD_DIM * ratio)
        pruned, whole = 4 * LAYERS * KV_HEADS * keep, 4 * LAYERS * KV_HEADS * HEAD_DIM
        want = (f"kv cache: ThinK keys past the recent window keep {keep} of "
                f"{HEAD_DIM} channels: {pruned} key bytes per pruned token "
                f"instead of {whole} (-{100 * (whole - pruned) / whole:.1f}%)")
        lines = [line for line in log.splitlines() if line.startswith("kv")]
        for line in lines:
            print(f"{name} report: {line}")
        check(any(line.startswith(want) for line in lines),
              f"{name}: --report states '{want}'")

    for name, (chunk, ratio, recent, window, prompt, generate) in CASES.items():
        out = os.path.join(args.work, name)
        got, tokens = kiln_run(args.kiln, libs[name], rng.integers(0, 96, prompt),
                               generate, out)
        print(f"{name}: {len(tokens)} tokens, ratio {ratio}, R {recent}, "
              f"W {window}, prefill chunk {chunk or 'none'}")
        ref, history = think_reference(queries, tokens,
                                       calls_of(chunk, prompt, len(tokens)),
                                       ratio, recent, window)
        print(f"{name}: pruned rows per call {history}")
        matches(name, got, ref, decode_logits(model, tokens))

    sequences = {"random": rng.integers(0, 96, 256).tolist()}
    _, sequences["greedy"] = kiln_run(args.kiln, f32, [5, 7, 9, 11], 252,
                                      os.path.join(args.work, "greedy-f32"))
    for case, tokens in sequences.items():
        got, _ = kiln_run(args.kiln, libs["think-256"], tokens, 0,
                          os.path.join(args.work, f"{case}-think"))
        base, _ = kiln_run(args.kiln, f32, tokens, 0,
                           os.path.join(args.work, f"{case}-f32"))
        c = cosines(got, base)
        print(f"{case}: {len(c)} steps, cosine think vs f32 min {c.min():.6f} "
              f"mean {c.mean():.6f}, steps below 0.99: "
              f"{np.flatnonzero(c < 0.99).tolist()}")
        # Reported, not required: the cosine target is for int8 and
        # QJL caches; ThinK drops 6 of this model's 16 random channels.
        check(len(c) == 256, f"{case}: 256 steps")
        if case == "random":
            ref, history = think_reference(queries, tokens, [1] * 256,
                                           *DEFAULTS)
            print(f"{case}: pruned rows at the last call {history[-1]}")
            matches(f"{case}, defaults", got, ref, base)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

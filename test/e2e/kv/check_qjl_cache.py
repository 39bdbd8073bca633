#!/usr/bin/env python3
"""A QJL key cache (kiln compile --max-seq-len N --kv qjl) and 4-bit grouped
values (--kv-value-bits 4) on test/models/decoder.py's tiny decoder (2
layers, 2 key/value heads of 16).

usage: check_qjl_cache.py --kiln PATH/TO/kiln --work DIR

Checked:
  - `--report` states the bytes the layout formula gives: per token, layer
    and head m / 8 bytes of key sign bits + a 4-byte scale, and int8 values
    (head_dim + 4 bytes); fixed: the windows of W whole keys (4 W head_dim
    bytes per head) and their W 8-byte tags, per layer;
  - the estimator is QJL's: kiln's logits match ONNX Runtime fed, as past
    keys, each key's QJL reconstruction sqrt(pi/2)/m |k| P sign(k P) (which
    is what the sketched score computes: q . that) outside the last W
    tokens, with the projection P restated here from
    passes/KVLayout/QJLSketch.h, and running a copy of the model whose
    attention reads int8-rebuilt values (fake_quantized), newest included;
    kiln must sit 100x nearer this reference than the f32 cache's logits
    (it does to float rounding; a wrong bit order, norm, sketch or window
    would not);
  - the same for 4- and 2-bit values (--kv int8 --kv-value-bits 4
    --kv-value-group 8, and 2 with one group): ORT on the model with int8
    keys and low-bit values (per token, head and group, asymmetric
    min-max) rebuilt in the graph;
  - a prompt fed through 8-token prefill chunks gives the logits and tokens
    of feeding it one decode step at a time (each query reads the W keys
    before it whole, whatever the chunking);
  - over 256 tokens (a random sequence, and the f32 cache's own greedy
    continuation of a 4-token prompt, both fed one per step) every step's
    logits have cosine >= 0.99 to the f32 cache's (the issue's target), for
    QJL keys with int8 and with 4-bit values.

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import math
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "models"))
sys.path.insert(0, os.path.join(here, "..", "quant"))
import decoder  # noqa: E402
from ort_decode import cosines, past_inputs, step_feeds  # noqa: E402
from quant_checks import check, failures, run  # noqa: E402

M, W, LAYERS, KV_HEADS, HEAD_DIM = 256, 32, 2, 2, 16
# --kv-qjl-outliers: channels per group of GROUP keys, outlier sketch bits.
OUTLIERS, M_OUT, GROUP = 4, 128, 32
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


def qjl_outlier_keys(keys, p, q):
    """The keys [T, D] of whole groups as the sketched scores read them
    with outlier channels: per group the OUTLIERS channels of largest
    squared norm (the lowest index first among equals) are split off;
    each key rebuilds as mask_in (s_in P sign(k_in P)) + mask_out (s_out Q
    sign(k_out Q)), s = sqrt(pi/2) / m |part| (q_in . that is the inlier
    estimator, q_out . that the outlier one)."""
    out = keys.copy()
    for g0 in range(0, len(keys) - GROUP + 1, GROUP):
        k = keys[g0:g0 + GROUP]
        norms = (k.astype(np.float32) ** 2).sum(0)
        chans = np.argsort(-norms, kind="stable")[:OUTLIERS]
        mask = np.zeros(HEAD_DIM, bool)
        mask[chans] = True
        kin, kout = np.where(mask, 0, k), np.where(mask, k, 0)
        out[g0:g0 + GROUP] = (np.where(mask, 0, [qjl_key(r, p) for r in kin])
                              + np.where(mask, [qjl_key(r, q) for r in kout],
                                         0))
    return out


def fake_quantized(model, keys, values, group=HEAD_DIM):
    """`model` with the new keys / values of every Attention quantized and
    rebuilt in the graph, as kiln's cache stores them: "int8" (per token
    and head, s = max|x| / 127, 1 for zeros; rint) or "grouped4" / 2 (per
    token, head and group of `group` channels: lo = min, s = (max -
    lo) / top, 1 for 0, top = 2^bits - 1; codes clip(rint((x - lo) / s), 0,
    top) -> codes * s + lo).
    ORT then reads the newest row as kiln does, not only the past ones."""
    g = model.graph
    consts = {"zero": 0.0, "one": 1.0, "c127": 127.0, "cm127": -127.0,
              "grouped4": 15.0, "grouped2": 3.0}
    for name, v in consts.items():
        g.initializer.append(numpy_helper.from_array(np.array(v, np.float32),
                                                     f"fq.{name}"))
    g.initializer.append(numpy_helper.from_array(
        np.array([1, -1, KV_HEADS, HEAD_DIM // group, group], np.int64),
        "fq.groups"))
    g.initializer.append(numpy_helper.from_array(
        np.array([1, -1, KV_HEADS, HEAD_DIM], np.int64), "fq.rows"))
    g.initializer.append(numpy_helper.from_array(
        np.array([1, -1, KV_HEADS * HEAD_DIM], np.int64), "fq.flat"))
    g.initializer.append(numpy_helper.from_array(np.array([-1], np.int64),
                                                 "fq.last"))
    nodes, count = [], [0]

    def node(op, inputs, **attrs):
        count[0] += 1
        out = f"fq.{count[0]}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def rebuild(x, mode):
        x = node("Reshape", [x, "fq.rows" if mode == "int8" else "fq.groups"])
        if mode == "int8":
            a = node("ReduceMax", [node("Abs", [x]), "fq.last"], keepdims=1)
            s = node("Where", [node("Equal", [a, "fq.zero"]), "fq.one",
                               node("Div", [a, "fq.c127"])])
            code = node("Clip", [node("Round", [node("Div", [x, s])]),
                                 "fq.cm127", "fq.c127"])
            y = node("Mul", [code, s])
        else:
            lo = node("ReduceMin", [x, "fq.last"], keepdims=1)
            hi = node("ReduceMax", [x, "fq.last"], keepdims=1)
            top = f"fq.{mode}"  # 2^bits - 1
            s = node("Div", [node("Sub", [hi, lo]), top])
            s = node("Where", [node("Equal", [s, "fq.zero"]), "fq.one", s])
            code = node("Clip", [node("Round", [node("Div", [node("Sub", [x, lo]),
                                                             s])]),
                                 "fq.zero", top])
            y = node("Add", [node("Mul", [code, s]), lo])
        return node("Reshape", [y, "fq.flat"])

    out = []
    for n in g.node:
        if n.op_type == "Attention":
            if keys:
                n.input[1] = rebuild(n.input[1], keys)
            if values:
                n.input[2] = rebuild(n.input[2], values)
            out += nodes
            nodes.clear()
        out.append(n)
    del g.node[:]
    g.node.extend(out)
    return model


def reference(model, tokens, key_row, window, outliers=False):
    """ORT on `model` (see fake_quantized), step by step, reading past keys
    rebuilt by key_row outside the last `window` tokens (with key_row None,
    the present rows as the model rebuilt them; with `outliers`, the whole
    groups rebuilt by qjl_outlier_keys instead)."""
    so = ort.SessionOptions()
    so.log_severity_level = 3  # the unused fq.* constants are no news
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in s.get_outputs()]
    pasts = dict(past_inputs(s))
    sketches = [sketch(HEAD_DIM, M, 42 + i) for i in range(LAYERS)]
    outlier_sketches = [sketch(HEAD_DIM, M_OUT, 1042 + i) for i in range(LAYERS)]
    exact = {n: np.zeros([1, KV_HEADS, 0, HEAD_DIM], np.float32) for n in pasts}
    approx = {n: np.zeros([1, KV_HEADS, 0, HEAD_DIM], np.float32) for n in pasts}
    rows = []
    for pos, t in enumerate(tokens):
        feeds = {}
        for name in pasts:
            past = approx[name].copy()
            if name.endswith(".key"):
                keep = max(0, pos + 1 - window)  # rows before it are rebuilt
                past[:, :, keep:] = exact[name][:, :, keep:]
                if outliers:
                    layer = int(name.split(".")[1])
                    for h in range(KV_HEADS):
                        past[0, h, :keep] = qjl_outlier_keys(
                            exact[name][0, h], sketches[layer],
                            outlier_sketches[layer])[:keep]
            feeds[name] = past
        out = dict(zip(names, s.run(None, step_feeds([t], pos, feeds))))
        rows.append(out["logits"].reshape(-1))
        for name in pasts:
            new = out[name.replace("past_key_values.", "present.")][:, :, -1:]
            layer = int(name.split(".")[1])
            rec = new
            if key_row and name.endswith(".key"):
                rec = np.stack([key_row(new[0, h, 0], sketches[layer])
                                for h in range(KV_HEADS)])[None, :, None]
            exact[name] = np.concatenate([exact[name], new], 2)
            approx[name] = np.concatenate([approx[name], rec], 2)
    return np.stack(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model = os.path.join(args.work, "decoder.onnx")
    onnx.save(decoder.build("tiny"), model)
    libs, lines = {}, {}
    layouts = {"f32": ["--kv", "f32"], "qjl": ["--kv", "qjl"],
               "qjl-v4": ["--kv", "qjl", "--kv-value-bits", "4"],
               "int8-v4": ["--kv", "int8", "--kv-value-bits", "4",
                           "--kv-value-group", "8"],
               "int8-v2": ["--kv", "int8", "--kv-value-bits", "2"],
               "qjl-prefill": ["--kv", "qjl", "--prefill", "seq=8"],
               "qjl-out": ["--kv", "qjl", "--kv-qjl-outliers", str(OUTLIERS),
                           "--kv-qjl-outlier-sketch", str(M_OUT)],
               "qjl-out-prefill": ["--kv", "qjl", "--kv-qjl-outliers",
                                   str(OUTLIERS), "--kv-qjl-outlier-sketch",
                                   str(M_OUT), "--prefill", "seq=8"]}
    for kv, flags in layouts.items():
        libs[kv] = os.path.join(args.work, f"{kv}.so")
        log = run([args.kiln, "compile", model, "-o", libs[kv], "--shape", "seq=1",
                   "--shape", "past_seq=1", "--max-seq-len", "300", "--report"]
                  + flags)
        line = [l for l in log.splitlines() if l.startswith("kv cache:")]
        lines[kv] = "\n".join(line) if line else "no kv cache line"
        print(f"{kv}: {lines[kv]}")
    line = lines["qjl"]
    per_layer = KV_HEADS * (M // 8 + 4) + KV_HEADS * (HEAD_DIM + 4)
    fixed = LAYERS * (KV_HEADS * W * HEAD_DIM * 4 + W * 8)
    want = (f"{LAYERS * per_layer} bytes per token ({per_layer} per layer) + "
            f"{fixed} bytes fixed")
    check(want in line, f"qjl cache: {want}")
    # 4-bit values: D / 2 bytes + a 4-byte scale and min per group (one
    # group of 16 here).
    per_layer = KV_HEADS * (M // 8 + 4) + KV_HEADS * (HEAD_DIM // 2 + 8)
    want = f"{LAYERS * per_layer} bytes per token ({per_layer} per layer)"
    check(want in lines["qjl-v4"], f"qjl cache, 4-bit values: {want}")
    want = f"(m + 32) / D, m = {M}, D = {HEAD_DIM}: {(M + 32) / HEAD_DIM:.2f}"
    check(want in lines["qjl"], f"qjl key bits per coordinate: {want}")
    # Outliers: m_out sign bits and a scale more per key, and OUTLIERS
    # 8-bit channels per group of 32 keys (ceil(300 / 32) = 10 groups).
    per_layer = (KV_HEADS * (M // 8 + 4 + M_OUT // 8 + 4)
                 + KV_HEADS * (HEAD_DIM + 4))
    fixed += LAYERS * KV_HEADS * 10 * OUTLIERS
    bits = (M + 32 + M_OUT + 32 + 8 * OUTLIERS / GROUP) / HEAD_DIM
    for want in (f"{LAYERS * per_layer} bytes per token ({per_layer} per layer)"
                 f" + {fixed} bytes fixed",
                 f"m_out = {M_OUT}, k = {OUTLIERS}, m = {M}, D = {HEAD_DIM}: "
                 f"{bits:.2f}"):
        check(want in lines["qjl-out"], f"qjl cache with outliers: {want}")

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
        for kv in ("qjl", "qjl-v4", "qjl-out"):
            c = cosines(logits[case, kv], logits[case, "f32"])
            print(f"{case}: {len(c)} steps, cosine {kv} vs f32 min {c.min():.6f} "
                  f"mean {c.mean():.6f}")
            check(len(c) == 256 and c.min() >= 0.99,
                  f"{case} {kv}: every step's logits within cosine 0.99 of "
                  "the f32 cache's")

    tokens = sequences["random"][:96]
    f32 = logits["random", "f32"][:96]
    for kv, keys, values, group, key_row, window, what in (
            ("qjl", None, "int8", HEAD_DIM, qjl_key, W,
             "kiln's QJL scores are the QJL estimator's"),
            ("qjl-out", None, "int8", HEAD_DIM, "outliers", W,
             "kiln's QJL scores with outlier channels are the two "
             "estimators' sum"),
            ("int8-v4", "int8", "grouped4", 8, None, 0,
             "kiln's 4-bit values (2 groups of 8) are the asymmetric group "
             "codes'"),
            ("int8-v2", "int8", "grouped2", HEAD_DIM, None, 0,
             "kiln's 2-bit values are the asymmetric group codes'")):
        out = os.path.join(args.work, f"random96-{kv}")
        run([args.kiln, "run", libs[kv], "--prompt", ",".join(map(str, tokens)),
             "--generate", "0", "--output-dir", out])
        got = np.load(os.path.join(out, "logits.npy"))
        fq = os.path.join(args.work, f"decoder-{kv}.onnx")
        onnx.save(fake_quantized(onnx.load(model), keys, values, group), fq)
        if key_row == "outliers":
            ref = reference(fq, tokens, None, window, outliers=True)
        else:
            ref = reference(fq, tokens, key_row, window)
        near, far = np.abs(got - ref).max(), np.abs(got - f32).max()
        print(f"{kv}, first 96 steps: max |kiln - reference| {near:.2e}, "
              f"max |kiln - f32 cache| {far:.2e}")
        check(near * 100 <= far, what)

    # A prompt through 8-token prefill chunks reads, per query, the same
    # whole and sketched keys as one token per decode step (the ring holds
    # W + 7 keys): the same logits.
    # With outliers, groups complete inside chunks too (a 75-token prompt
    # crosses two group ends).
    for base, length in (("qjl", 45), ("qjl-out", 75)):
        prompt = ",".join(map(str, sequences["random"][:length]))
        got = {}
        for kv in (base, f"{base}-prefill"):
            out = os.path.join(args.work, f"prompt-{kv}")
            run([args.kiln, "run", libs[kv], "--prompt", prompt, "--generate",
                 "20", "--output-dir", out])
            got[kv] = (np.load(os.path.join(out, "logits.npy")),
                       np.load(os.path.join(out, "tokens.npy")))
        (a, ta), (b, tb) = got[f"{base}-prefill"], got[base]
        diff = np.abs(a - b).max() / np.abs(b).max()
        print(f"{base}: {length}-token prompt in 8-token prefill chunks vs "
              f"decode steps: max |diff| / max |logit| {diff:.2e}")
        check(a.shape == b.shape and diff <= 1e-5 and ta.tolist() == tb.tolist(),
              f"{base}: prefill chunks read the cache as decode steps do")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""ONNX Runtime as the reference for a past/present decoder: runs a token
sequence one step at a time, feeding each step's present.* outputs back as
the next step's past_key_values.* inputs (what an app does without kiln),
and the per-step cosine the cache checks compare logits by. Shared by the
decode and cache e2e tests and bench/perf/decode.py."""

import numpy as np
import onnxruntime as ort


def past_inputs(session):
    """[(name, [1, kv_heads, 0, head_dim])] of the past_key_values.* inputs."""
    out = []
    for i in session.get_inputs():
        if i.name.startswith("past_key_values."):
            shape = [d if isinstance(d, int) else 0 for d in i.shape]
            out.append((i.name, shape))
    return out


def step_feeds(tokens, position, pasts):
    feeds = {"input_ids": np.array([tokens], np.int64),
             "position_ids": np.array([range(position, position + len(tokens))],
                                      np.int64)}
    feeds.update(pasts)
    return feeds


def decode_logits(model_path, tokens, threads=1):
    """Logits [len(tokens), vocab] of feeding `tokens` one per step."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    s = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    pasts = {name: np.zeros(shape, np.float32) for name, shape in past_inputs(s)}
    names = [o.name for o in s.get_outputs()]
    rows = []
    for pos, t in enumerate(tokens):
        out = dict(zip(names, s.run(None, step_feeds([t], pos, pasts))))
        rows.append(out["logits"].reshape(-1))
        for name in pasts:
            pasts[name] = out[name.replace("past_key_values.", "present.")]
    return np.stack(rows)


def cosines(a, b):
    """Cosine of each row of a [steps, vocab] to the same row of b."""
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

"""`decoder`: a GPT-2-style decoder with a key/value cache, in the form an
exporter writes for token-by-token generation (opset 23):

  inputs   input_ids [1, seq] int64, position_ids [1, seq] int64,
           past_key_values.{i}.key / .value [1, kv_heads, past_seq, head_dim]
  outputs  logits [1, seq, vocab],
           present.{i}.key / .value [1, kv_heads, past_seq + seq, head_dim]

  wte/wpe Gather + Add; per layer: LayerNormalization; q/k/v as MatMul +
  Add + Split; ONNX `Attention` (3-D q/k/v, q_num_heads, kv_num_heads,
  is_causal=1, past_key/past_value in, present_key/present_value out);
  c_proj MatMul + Add; residual; LayerNormalization; MLP with Gelu (tanh);
  residual. ln_f; lm_head MatMul.

`seq` and `past_seq` are symbolic: compile with --shape seq=1 (a decode
step) and --shape past_seq=N. Configs: `tiny` (2 layers, 64 wide, 4 query
heads sharing 2 key/value heads, vocab 96: tests) and `gpt2` (GPT-2 small:
12 layers, 768 wide, 12 heads, vocab 50257: bench, ~650 MB, never
committed). Random weights, fixed seed.
"""

import math
import sys

import numpy as np

from util import GraphBuilder

CONFIGS = {
    "tiny": dict(layers=2, hidden=64, heads=4, kv_heads=2, vocab=96, n_pos=256),
    "gpt2": dict(layers=12, hidden=768, heads=12, kv_heads=12, vocab=50257,
                 n_pos=1024),
}


def _normal(rng, shape, std):
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)


def build(config: str = "tiny", seed: int = 0):
    c = CONFIGS[config]
    hidden, heads, kv_heads = c["hidden"], c["heads"], c["kv_heads"]
    head_dim = hidden // heads
    kv_width = kv_heads * head_dim
    rng = np.random.default_rng(seed)
    b = GraphBuilder(f"decoder_{config}", opset=23)
    ids = b.input("input_ids", np.int64, [1, "seq"])
    pos = b.input("position_ids", np.int64, [1, "seq"])
    past_shape = [1, kv_heads, "past_seq", head_dim]
    pasts = []
    for i in range(c["layers"]):
        pasts.append((b.input(f"past_key_values.{i}.key", np.float32, past_shape),
                      b.input(f"past_key_values.{i}.value", np.float32, past_shape)))

    def ln(x, name):
        g = b.init(f"{name}.weight", rng.uniform(0.8, 1.2, hidden).astype(np.float32))
        beta = b.init(f"{name}.bias", _normal(rng, (hidden,), 0.02))
        return b.op("LayerNormalization", [x, g, beta], axis=-1, epsilon=1e-5)

    def linear(x, name, fan_in, fan_out, gain=1.0):
        w = b.init(f"{name}.weight", _normal(rng, (fan_in, fan_out), gain / math.sqrt(fan_in)))
        bias = b.init(f"{name}.bias", _normal(rng, (fan_out,), 0.02))
        return b.op("Add", [b.op("MatMul", [x, w]), bias])

    wte = _normal(rng, (c["vocab"], hidden), 0.5)
    with b.scope("transformer"):
        x = b.op("Add", [b.op("Gather", [b.init("wte", wte), ids], axis=0),
                         b.op("Gather", [b.init("wpe", _normal(rng, (c["n_pos"], hidden), 0.1)),
                                         pos], axis=0)])
    presents = []
    for i in range(c["layers"]):
        with b.scope(f"transformer/h.{i}/attn"):
            h = ln(x, f"h.{i}.ln_1")
            qkv = linear(h, f"h.{i}.attn.qkv", hidden, hidden + 2 * kv_width)
            q, k, v = b.op("Split", [qkv, b.i64(hidden, kv_width, kv_width)],
                           outputs=3, axis=2)
            a, pk, pv = b.op("Attention", [q, k, v, "", pasts[i][0], pasts[i][1]],
                             outputs=3, q_num_heads=heads, kv_num_heads=kv_heads,
                             is_causal=1)
            presents.append((pk, pv))
            a = linear(a, f"h.{i}.attn.c_proj", hidden, hidden, gain=0.5)
            x = b.op("Add", [x, a])
        with b.scope(f"transformer/h.{i}/mlp"):
            h = ln(x, f"h.{i}.ln_2")
            h = b.op("Gelu", [linear(h, f"h.{i}.mlp.c_fc", hidden, 4 * hidden)],
                     approximate="tanh")
            x = b.op("Add", [x, linear(h, f"h.{i}.mlp.c_proj", 4 * hidden, hidden, gain=0.5)])
    with b.scope("lm_head"):
        x = ln(x, "ln_f")
        w = np.ascontiguousarray(wte.T) * np.float32(0.1)
        logits = b.op("MatMul", [x, b.init("lm_head.weight", w)])
    b.output(logits, np.float32, [1, "seq", c["vocab"]], name="logits")
    present_shape = [1, kv_heads, "total_seq", head_dim]
    for i, (pk, pv) in enumerate(presents):
        b.output(pk, np.float32, present_shape, name=f"present.{i}.key")
        b.output(pv, np.float32, present_shape, name=f"present.{i}.value")
    return b.model(doc=__doc__)


if __name__ == "__main__":
    import onnx
    config = sys.argv[1] if len(sys.argv) > 1 else "tiny"
    out = sys.argv[2] if len(sys.argv) > 2 else f"decoder_{config}.onnx"
    onnx.save(build(config), out)
    print(out)

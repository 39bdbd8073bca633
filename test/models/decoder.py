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

With `decomposed` (command line: a third argument `decomposed`) the same
interface is written as PyTorch's TorchScript exporter writes HF decoders
(opset 17, no Attention op): per layer q/k/v heads by Reshape + Transpose;
rotary embeddings on q and k (cos/sin Gathered from constant tables at
position_ids, rotate_half by Slice/Neg/Concat; no wpe);
Concat(past, k) / Concat(past, v) on axis 2 returned as present; repeat_kv
(Unsqueeze, Expand, Reshape from Shape ops) to the query heads;
MatMul(q, Transpose(k)); even layers: scores / sqrt(head_dim) and GPT-2's
mask (Where(Slice of a tril table, scores, finfo.min)), odd layers: q and
k^T each times head_dim^-1/4 and Llama's additive mask (scores +
Where(Range compare, 0, finfo.min)); the mask rows are sliced from
Shape(q) and Shape(present), so they fold at static shapes; Softmax(-1);
MatMul(p, v); Gelu (tanh) written out.

`seq` and `past_seq` are symbolic: compile with --shape seq=1 (a decode
step) and --shape past_seq=N. Configs: `tiny` (2 layers, 64 wide, 4 query
heads sharing 2 key/value heads, vocab 96: tests) and `gpt2` (GPT-2 small:
12 layers, 768 wide, 12 heads, vocab 50257: bench, ~650 MB, never
committed). Random weights, fixed seed.
"""

import math
import sys

import numpy as np

from util import GraphBuilder, concat_shape, shape_dims

CONFIGS = {
    "tiny": dict(layers=2, hidden=64, heads=4, kv_heads=2, vocab=96, n_pos=256),
    "gpt2": dict(layers=12, hidden=768, heads=12, kv_heads=12, vocab=50257,
                 n_pos=1024),
}


def _normal(rng, shape, std):
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)


def _inputs_and_layers(b, rng, c):
    """The inputs both variants share (input_ids, position_ids, the pasts)
    and their LayerNormalization and linear-layer builders."""
    hidden, kv_heads = c["hidden"], c["kv_heads"]
    head_dim = hidden // c["heads"]
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

    return ids, pos, pasts, ln, linear


def _head_and_outputs(b, c, ln, x, wte, presents):
    """The final LayerNorm, the LM head (the embedding, transposed and
    scaled) and the outputs both variants share: logits and the presents."""
    with b.scope("lm_head"):
        x = ln(x, "ln_f")
        w = np.ascontiguousarray(wte.T) * np.float32(0.1)
        logits = b.op("MatMul", [x, b.init("lm_head.weight", w)])
    b.output(logits, np.float32, [1, "seq", c["vocab"]], name="logits")
    present_shape = [1, c["kv_heads"], "total_seq", c["hidden"] // c["heads"]]
    for i, (pk, pv) in enumerate(presents):
        b.output(pk, np.float32, present_shape, name=f"present.{i}.key")
        b.output(pv, np.float32, present_shape, name=f"present.{i}.value")
    return b.model(doc=__doc__)


def build(config: str = "tiny", seed: int = 0, decomposed: bool = False):
    if decomposed:
        return _build_decomposed(config, seed)
    c = CONFIGS[config]
    hidden, heads, kv_heads = c["hidden"], c["heads"], c["kv_heads"]
    head_dim = hidden // heads
    kv_width = kv_heads * head_dim
    rng = np.random.default_rng(seed)
    b = GraphBuilder(f"decoder_{config}", opset=23)
    ids, pos, pasts, ln, linear = _inputs_and_layers(b, rng, c)

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
    return _head_and_outputs(b, c, ln, x, wte, presents)


FINFO_MIN = float(np.finfo(np.float32).min)


def _rotary_tables(n_pos, head_dim, base=10000.0):
    inv = 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    freqs = np.outer(np.arange(n_pos, dtype=np.float64), inv)
    emb = np.concatenate([freqs, freqs], axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)


def _build_decomposed(config, seed):
    c = CONFIGS[config]
    hidden, heads, kv_heads = c["hidden"], c["heads"], c["kv_heads"]
    head_dim = hidden // heads
    kv_width = kv_heads * head_dim
    n_rep = heads // kv_heads
    rng = np.random.default_rng(seed)
    b = GraphBuilder(f"decoder_{config}_decomposed", opset=17)
    ids, pos, pasts, ln, linear = _inputs_and_layers(b, rng, c)

    def gelu_tanh(x):
        x3 = b.op("Mul", [b.op("Mul", [x, x]), x])
        inner = b.op("Mul", [b.op("Add", [x, b.op("Mul", [x3, b.f32(0.044715)])]),
                             b.f32(math.sqrt(2.0 / math.pi))])
        one_plus = b.op("Add", [b.op("Tanh", [inner]), b.f32(1.0)])
        return b.op("Mul", [b.op("Mul", [x, b.f32(0.5)]), one_plus])

    def heads_of(x, n):
        """[1, seq, n * head_dim] -> [1, n, seq, head_dim]."""
        x = b.op("Reshape", [x, b.i64(0, 0, n, head_dim)])
        return b.op("Transpose", [x], perm=[0, 2, 1, 3])

    def rotate_half(x):
        half = head_dim // 2
        x1 = b.op("Slice", [x, b.i64(0), b.i64(half), b.i64(3)])
        x2 = b.op("Slice", [x, b.i64(half), b.i64(2**63 - 1), b.i64(3)])
        return b.op("Concat", [b.op("Neg", [x2]), x1], axis=-1)

    def rotary(x, cos, sin):
        return b.op("Add", [b.op("Mul", [x, cos]),
                            b.op("Mul", [rotate_half(x), sin])])

    def repeat_kv(x):
        """HF repeat_kv: [1, kv, L, d] -> [1, kv * n_rep, L, d]."""
        if n_rep == 1:
            return x
        bsz, kvh, length, d = shape_dims(b, x, 0, 1, 2, 3)
        x = b.op("Unsqueeze", [x, b.i64(2)])
        x = b.op("Expand", [x, concat_shape(b, [bsz, kvh, n_rep, length, d])])
        return b.op("Reshape", [x, concat_shape(b, [bsz, heads, length, d])])

    cos_t, sin_t = _rotary_tables(c["n_pos"], head_dim)
    tril = np.tril(np.ones((c["n_pos"], c["n_pos"]), bool)).reshape(
        1, 1, c["n_pos"], c["n_pos"])
    with b.scope("model/rotary_emb"):
        cos = b.op("Unsqueeze", [b.op("Gather", [b.init("rotary.cos", cos_t), pos], axis=0),
                                 b.i64(1)])
        sin = b.op("Unsqueeze", [b.op("Gather", [b.init("rotary.sin", sin_t), pos], axis=0),
                                 b.i64(1)])
    bias = b.init("attn.bias", tril)
    wte = _normal(rng, (c["vocab"], hidden), 0.5)
    with b.scope("model/embed_tokens"):
        x = b.op("Gather", [b.init("wte", wte), ids], axis=0)
    presents = []
    for i in range(c["layers"]):
        with b.scope(f"model/layers.{i}/self_attn"):
            h = ln(x, f"h.{i}.ln_1")
            qkv = linear(h, f"h.{i}.attn.qkv", hidden, hidden + 2 * kv_width)
            q, k, v = b.op("Split", [qkv, b.i64(hidden, kv_width, kv_width)],
                           outputs=3, axis=2)
            q = rotary(heads_of(q, heads), cos, sin)
            k = rotary(heads_of(k, kv_heads), cos, sin)
            v = heads_of(v, kv_heads)
            pk = b.op("Concat", [pasts[i][0], k], axis=2)
            pv = b.op("Concat", [pasts[i][1], v], axis=2)
            presents.append((pk, pv))
            (q_len,) = shape_dims(b, q, 2)
            (k_len,) = shape_dims(b, pk, 2)
            kt = b.op("Transpose", [repeat_kv(pk)], perm=[0, 1, 3, 2])
            if i % 2 == 0:
                # GPT-2: scores / sqrt(d), Where(bias[.., L-S:L, :L], s, min).
                s = b.op("Div", [b.op("MatMul", [q, kt]),
                                 b.f32(math.sqrt(head_dim))])
                start = b.op("Sub", [k_len, q_len])
                cond = b.op("Slice", [bias,
                                      concat_shape(b, [start, 0]),
                                      concat_shape(b, [k_len, k_len]),
                                      b.i64(2, 3)])
                s = b.op("Where", [cond, s, b.f32(FINFO_MIN)])
            else:
                # q and k^T each scaled by d^-1/4; Llama's additive mask:
                # key j is visible to query i (at L-S+i) iff j <= L-S+i.
                r = b.f32(head_dim ** -0.25)
                s = b.op("MatMul", [b.op("Mul", [q, r]), b.op("Mul", [kt, r])])
                one = b.const(np.array(1, np.int64))
                q_pos = b.op("Range", [b.op("Sub", [k_len, q_len]), k_len, one])
                k_pos = b.op("Range", [b.const(np.array(0, np.int64)), k_len, one])
                cond = b.op("LessOrEqual", [k_pos, b.op("Unsqueeze", [q_pos, b.i64(1)])])
                mask = b.op("Where", [cond, b.f32(0.0), b.f32(FINFO_MIN)])
                s = b.op("Add", [s, mask])
            p = b.op("Softmax", [s], axis=-1)
            a = b.op("MatMul", [p, repeat_kv(pv)])
            a = b.op("Reshape", [b.op("Transpose", [a], perm=[0, 2, 1, 3]),
                                 b.i64(0, 0, hidden)])
            a = linear(a, f"h.{i}.attn.c_proj", hidden, hidden, gain=0.5)
            x = b.op("Add", [x, a])
        with b.scope(f"model/layers.{i}/mlp"):
            h = ln(x, f"h.{i}.ln_2")
            h = gelu_tanh(linear(h, f"h.{i}.mlp.c_fc", hidden, 4 * hidden))
            x = b.op("Add", [x, linear(h, f"h.{i}.mlp.c_proj", 4 * hidden, hidden, gain=0.5)])
    return _head_and_outputs(b, c, ln, x, wte, presents)


if __name__ == "__main__":
    import onnx
    config = sys.argv[1] if len(sys.argv) > 1 else "tiny"
    out = sys.argv[2] if len(sys.argv) > 2 else f"decoder_{config}.onnx"
    decomposed = len(sys.argv) > 3 and sys.argv[3] == "decomposed"
    onnx.save(build(config, decomposed=decomposed), out)
    print(out)

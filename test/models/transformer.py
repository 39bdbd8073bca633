"""BERT-style encoders, written the way PyTorch's TorchScript exporter emits
HuggingFace's BertModel (opset 17):

  Q/K/V: MatMul + Add; heads split with shape arithmetic
         (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and Transpose;
  scores: MatMul, Div by sqrt(head_dim), Add extended attention mask
          (computed from an int64 mask: Unsqueeze, Cast, Sub, Mul), Softmax;
  context: MatMul, Transpose, Reshape; output projection; residual Add;
  LayerNormalization; FFN with GELU from Erf (x * (1 + erf(x / sqrt 2)) * 0.5);
  residual; LayerNormalization.

Models:
  transformer      one encoder layer, hidden [1,16,64], 4 heads, FFN 256
  bert_base        BERT-base (12 layers, 768, 12 heads, FFN 3072, seq 128) with
                   embeddings: int64 `input_ids` [1,128] -> Gather, ...
  bert_base_float  the same encoder fed with float `hidden` [1,128,768]
"""

import math

import numpy as np

from util import GraphBuilder, concat_shape, shape_dims

VOCAB, MAX_POS, TYPE_VOCAB = 30522, 512, 2


class _Weights:
    """Exporter naming: Linear weights consumed by MatMul become transposed
    initializers called `onnx::MatMul_<n>`; the rest keep parameter names."""

    def __init__(self, b, rng):
        self.b, self.rng, self.n = b, rng, 1000

    def matmul(self, fan_in, fan_out):
        self.n += 1
        w = self.rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)
        return self.b.init(f"onnx::MatMul_{self.n}", w.astype(np.float32))

    def bias(self, name, n, scale=0.02):
        return self.b.init(name, (self.rng.standard_normal(n) * scale).astype(np.float32))

    def ln(self, name, n):
        g = self.b.init(f"{name}.weight", self.rng.uniform(0.8, 1.2, n).astype(np.float32))
        beta = self.bias(f"{name}.bias", n)
        return g, beta


def _linear(b, wts, x, prefix, fan_in, fan_out):
    w = wts.matmul(fan_in, fan_out)
    bias = wts.bias(f"{prefix}.bias", fan_out)
    return b.op("Add", [bias, b.op("MatMul", [x, w])])


def _extended_mask(b, mask):
    """HF get_extended_attention_mask: (1 - mask[:, None, None, :]) * -10000."""
    with b.scope("embeddings_mask"):
        m = b.op("Unsqueeze", [mask, b.i64(1)])
        m = b.op("Unsqueeze", [m, b.i64(2)])
        m = b.op("Cast", [m], to=1)  # FLOAT
        m = b.op("Sub", [b.f32(1.0), m])
        return b.op("Mul", [m, b.f32(-10000.0)])


def _layer(b, wts, x, ext_mask, i, hidden, heads, ffn):
    head_dim = hidden // heads
    p = f"encoder.layer.{i}"
    with b.scope(f"encoder/layer.{i}/attention/self"):

        def split_heads(t, perm):
            d0, d1 = shape_dims(b, t, 0, 1)
            t = b.op("Reshape", [t, concat_shape(b, [d0, d1, heads, head_dim])])
            return b.op("Transpose", [t], perm=perm)

        q = _linear(b, wts, x, f"{p}.attention.self.query", hidden, hidden)
        k = _linear(b, wts, x, f"{p}.attention.self.key", hidden, hidden)
        v = _linear(b, wts, x, f"{p}.attention.self.value", hidden, hidden)
        q = split_heads(q, [0, 2, 1, 3])
        k = split_heads(k, [0, 2, 3, 1])  # transpose(-1, -2) folded in
        v = split_heads(v, [0, 2, 1, 3])
        scores = b.op("MatMul", [q, k])
        scores = b.op("Div", [scores, b.f32(math.sqrt(head_dim))])
        scores = b.op("Add", [scores, ext_mask])
        probs = b.op("Softmax", [scores], axis=-1)
        ctx = b.op("MatMul", [probs, v])
        ctx = b.op("Transpose", [ctx], perm=[0, 2, 1, 3])
        d0, d1 = shape_dims(b, ctx, 0, 1)
        ctx = b.op("Reshape", [ctx, concat_shape(b, [d0, d1, hidden])])
    with b.scope(f"encoder/layer.{i}/attention/output"):
        h = _linear(b, wts, ctx, f"{p}.attention.output.dense", hidden, hidden)
        h = b.op("Add", [h, x])
        g, beta = wts.ln(f"{p}.attention.output.LayerNorm", hidden)
        attn_out = b.op("LayerNormalization", [h, g, beta], axis=-1, epsilon=1e-12)
    with b.scope(f"encoder/layer.{i}/intermediate"):
        h = _linear(b, wts, attn_out, f"{p}.intermediate.dense", hidden, ffn)
        # GELU (erf form), as the exporter writes `x * 0.5 * (1 + erf(x / sqrt2))`.
        e = b.op("Erf", [b.op("Div", [h, b.f32(1.4142135381698608)])])
        e = b.op("Add", [e, b.f32(1.0)])
        h = b.op("Mul", [b.op("Mul", [h, e]), b.f32(0.5)])
    with b.scope(f"encoder/layer.{i}/output"):
        h = _linear(b, wts, h, f"{p}.output.dense", ffn, hidden)
        h = b.op("Add", [h, attn_out])
        g, beta = wts.ln(f"{p}.output.LayerNorm", hidden)
        return b.op("LayerNormalization", [h, g, beta], axis=-1, epsilon=1e-12)


def _embeddings(b, wts, rng, input_ids, hidden):
    with b.scope("embeddings"):
        word_tab = b.init("embeddings.word_embeddings.weight",
                          (rng.standard_normal((VOCAB, hidden)) * 0.5).astype(np.float32))
        pos_tab = b.init("embeddings.position_embeddings.weight",
                         (rng.standard_normal((MAX_POS, hidden)) * 0.5).astype(np.float32))
        type_tab = b.init("embeddings.token_type_embeddings.weight",
                          (rng.standard_normal((TYPE_VOCAB, hidden)) * 0.5).astype(np.float32))
        pos_buf = b.init("embeddings.position_ids",
                         np.arange(MAX_POS, dtype=np.int64)[None, :])
        type_buf = b.init("embeddings.token_type_ids",
                          np.zeros((1, MAX_POS), dtype=np.int64))
        batch, seq = shape_dims(b, input_ids, 0, 1)
        seq_1d = b.op("Unsqueeze", [seq, b.i64(0)])
        # token_type_ids = buffered[:, :seq].expand(batch, seq)
        tt = b.op("Slice", [type_buf, b.i64(0), seq_1d, b.i64(1), b.i64(1)])
        tt = b.op("Expand", [tt, concat_shape(b, [batch, seq])])
        # position_ids = buffered[:, 0:seq]
        pos_ids = b.op("Slice", [pos_buf, b.i64(0), seq_1d, b.i64(1)])
        e = b.op("Gather", [word_tab, input_ids], axis=0)
        e = b.op("Add", [e, b.op("Gather", [type_tab, tt], axis=0)])
        e = b.op("Add", [e, b.op("Gather", [pos_tab, pos_ids], axis=0)])
        g, beta = wts.ln("embeddings.LayerNorm", hidden)
        return b.op("LayerNormalization", [e, g, beta], axis=-1, epsilon=1e-12)


def build_encoder(name, seed, layers, hidden, heads, ffn, seq, batch=1,
                  embeddings=False, masked_tail=0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder(name)
    wts = _Weights(b, rng)
    if embeddings:
        ids = b.input("input_ids", np.int64, [batch, seq])
        x = _embeddings(b, wts, rng, ids, hidden)
    else:
        x = b.input("hidden", np.float32, [batch, seq, hidden])
    mask = np.ones((batch, seq), dtype=np.int64)
    if masked_tail:
        mask[:, seq - masked_tail:] = 0  # padded positions
    ext = _extended_mask(b, b.init("attention_mask", mask))
    for i in range(layers):
        x = _layer(b, wts, x, ext, i, hidden, heads, ffn)
    b.output(x, np.float32, [batch, seq, hidden], name="last_hidden_state")
    meta = {"kiln.input_range.input_ids": f"0,{VOCAB}"} if embeddings else {}
    return b.model(doc=__doc__, metadata=meta)


def build_transformer(seed=0):
    return build_encoder("transformer", seed, layers=1, hidden=64, heads=4,
                         ffn=256, seq=16, masked_tail=3)


def build_bert_base(seed=0):
    return build_encoder("bert_base", seed, layers=12, hidden=768, heads=12,
                         ffn=3072, seq=128, embeddings=True, masked_tail=28)


def build_bert_base_float(seed=0):
    return build_encoder("bert_base_float", seed, layers=12, hidden=768, heads=12,
                         ffn=3072, seq=128, masked_tail=28)

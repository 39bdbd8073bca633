"""`gpt2_small`: GPT-2 small (124M: 12 layers, 768 wide, 12 heads, vocab
50257), one full-sequence forward over 128 tokens (no KV cache), int64
`input_ids` [1,128] -> `logits` [1,128,50257], in the opset-17 exporter's
shape with the dynamic shape arithmetic constant-folded:

  wte/wpe Gather + Add; per block: LayerNormalization; c_attn as
  Reshape(-1, 768) -> Gemm(addmm) -> Reshape(1, 128, 2304); Split q/k/v;
  heads via Reshape + Transpose; MatMul, Div by sqrt(64); causal mask as
  Where(constant bool tril, scores, -1e4); Softmax; MatMul; merge heads;
  c_proj MatMul + Add; residual; LayerNormalization; MLP c_fc, GELU (tanh
  form: Pow/Mul/Add/Tanh), c_proj; residual. ln_f; lm_head as MatMul with
  the tied embedding stored transposed ([768, 50257], a second copy, as
  constant folding writes it).

Random weights (fixed seed). ~650 MB: generated into bench/cache, never
committed.
"""

import math

import numpy as np
from onnx import numpy_helper

from util import GraphBuilder

LAYERS, HIDDEN, HEADS, VOCAB, N_POS = 12, 768, 12, 50257, 1024
HEAD_DIM = HIDDEN // HEADS


def _normal(rng, shape, std):
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std))


def _ln(b, rng, x, name):
    g = b.init(f"{name}.weight", rng.uniform(0.8, 1.2, HIDDEN).astype(np.float32))
    beta = b.init(f"{name}.bias", _normal(rng, (HIDDEN,), 0.02))
    return b.op("LayerNormalization", [x, g, beta], axis=-1, epsilon=1e-5)


def _matmul_add(b, rng, x, name, fan_in, fan_out, gain=1.0):
    w = b.init(f"{name}.weight", _normal(rng, (fan_in, fan_out), gain / math.sqrt(fan_in)))
    bias = b.init(f"{name}.bias", _normal(rng, (fan_out,), 0.02))
    return b.op("Add", [b.op("MatMul", [x, w]), bias])


def build(seed: int = 0, seq: int = 128):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("gpt2_small")
    ids = b.input("input_ids", np.int64, [1, seq])
    wte = _normal(rng, (VOCAB, HIDDEN), 0.5)
    with b.scope("transformer"):
        e = b.op("Gather", [b.init("transformer.wte.weight", wte), ids], axis=0)
        wpe = b.init("transformer.wpe.weight", _normal(rng, (N_POS, HIDDEN), 0.1))
        pos = b.const(np.arange(seq, dtype=np.int64)[None, :])
        x = b.op("Add", [e, b.op("Gather", [wpe, pos], axis=0)])
    tril = np.tril(np.ones((seq, seq), dtype=bool))[None, None]
    for i in range(LAYERS):
        p = f"transformer.h.{i}"
        with b.scope(f"transformer/h.{i}/ln_1"):
            h = _ln(b, rng, x, f"{p}.ln_1")
        with b.scope(f"transformer/h.{i}/attn/c_attn"):
            flat = b.op("Reshape", [h, b.i64(-1, HIDDEN)])
            w = b.init(f"{p}.attn.c_attn.weight",
                       _normal(rng, (HIDDEN, 3 * HIDDEN), 1 / math.sqrt(HIDDEN)))
            bias = b.init(f"{p}.attn.c_attn.bias", _normal(rng, (3 * HIDDEN,), 0.02))
            qkv = b.op("Gemm", [flat, w, bias], alpha=1.0, beta=1.0)
            qkv = b.op("Reshape", [qkv, b.i64(1, seq, 3 * HIDDEN)])
        with b.scope(f"transformer/h.{i}/attn"):
            q, k, v = b.op("Split", [qkv, b.i64(HIDDEN, HIDDEN, HIDDEN)],
                           outputs=3, axis=2)
            heads = b.i64(1, seq, HEADS, HEAD_DIM)
            q = b.op("Transpose", [b.op("Reshape", [q, heads])], perm=[0, 2, 1, 3])
            k = b.op("Transpose", [b.op("Reshape", [k, heads])], perm=[0, 2, 3, 1])
            v = b.op("Transpose", [b.op("Reshape", [v, heads])], perm=[0, 2, 1, 3])
            s = b.op("MatMul", [q, k])
            s = b.op("Div", [s, b.f32(math.sqrt(HEAD_DIM))])
            s = b.op("Where", [b.const(tril), s, b.f32(-1e4)])
            s = b.op("Softmax", [s], axis=-1)
            a = b.op("MatMul", [s, v])
            a = b.op("Transpose", [a], perm=[0, 2, 1, 3])
            a = b.op("Reshape", [a, b.i64(1, seq, HIDDEN)])
        with b.scope(f"transformer/h.{i}/attn/c_proj"):
            a = _matmul_add(b, rng, a, f"{p}.attn.c_proj", HIDDEN, HIDDEN, gain=0.5)
        with b.scope(f"transformer/h.{i}"):
            x = b.op("Add", [a, x])
        with b.scope(f"transformer/h.{i}/ln_2"):
            h = _ln(b, rng, x, f"{p}.ln_2")
        with b.scope(f"transformer/h.{i}/mlp/c_fc"):
            h = _matmul_add(b, rng, h, f"{p}.mlp.c_fc", HIDDEN, 4 * HIDDEN)
        with b.scope(f"transformer/h.{i}/mlp/act"):
            cube = b.op("Pow", [h, b.f32(3.0)])
            inner = b.op("Add", [h, b.op("Mul", [cube, b.f32(0.044715)])])
            t = b.op("Tanh", [b.op("Mul", [inner, b.f32(math.sqrt(2.0 / math.pi))])])
            h = b.op("Mul", [b.op("Mul", [h, b.f32(0.5)]), b.op("Add", [t, b.f32(1.0)])])
        with b.scope(f"transformer/h.{i}/mlp/c_proj"):
            h = _matmul_add(b, rng, h, f"{p}.mlp.c_proj", 4 * HIDDEN, HIDDEN, gain=0.5)
        with b.scope(f"transformer/h.{i}"):
            x = b.op("Add", [x, h])
    with b.scope("transformer/ln_f"):
        x = _ln(b, rng, x, "transformer.ln_f")
    with b.scope("lm_head"):
        # Tied to wte; the folded export stores the transpose as its own tensor.
        # Scaled so logits are O(1) rather than O(sqrt(768) * 0.5).
        w = b.add_initializer(numpy_helper.from_array(
            np.ascontiguousarray(wte.T) * np.float32(0.1), "onnx::MatMul_lm_head"))
        logits = b.op("MatMul", [x, w])
    b.output(logits, np.float32, [1, seq, VOCAB], name="logits")
    return b.model(doc=__doc__,
                   metadata={"kiln.input_range.input_ids": f"0,{VOCAB}"})

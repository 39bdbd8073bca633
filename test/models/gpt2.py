"""`gpt2`: one GPT-2 decoder block (full-sequence forward, no KV cache), written
the way the TorchScript exporter emits HuggingFace's GPT2Block (opset 17):

  ln_1: LayerNorm unrolled (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div,
        Mul, Add) as older exporters wrote it;
  c_attn: Conv1D = view(-1, C) -> Gemm(addmm) -> view(B, T, 3C); Split into q/k/v;
  heads: Reshape (shape arithmetic) + Transpose;
  attn: MatMul, Div by sqrt(head_dim), causal mask = Slice of a constant uint8
        lower-triangular buffer `bias[:, :, ns-nd:ns, :ns]`, Cast to bool,
        Expand to the scores' shape, Where(mask, w, ConstantOfShape(-1e4)),
        Softmax, MatMul; merge heads: Transpose + Reshape(Mul of dims);
  c_proj (MatMul + Add), residual; ln_2; MLP: c_fc, GELU tanh form
        (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))), c_proj; residual.

Input `hidden` [1,16,64]; output `block.0/output:0` [1,16,64] (a name with
file-unsafe characters, to exercise the output-file naming rule).
"""

import math

import numpy as np
from onnx import numpy_helper

from util import GraphBuilder, concat_shape, shape_dims

SEQ, HIDDEN, HEADS, N_POS = 16, 64, 4, 32
HEAD_DIM = HIDDEN // HEADS
OUTPUT_NAME = "block.0/output:0"


def _layer_norm(b, rng, x, name):
    g = b.init(f"{name}.weight", rng.uniform(0.8, 1.2, HIDDEN).astype(np.float32))
    beta = b.init(f"{name}.bias", (rng.standard_normal(HIDDEN) * 0.02).astype(np.float32))
    mean = b.op("ReduceMean", [x], axes=[-1], keepdims=1)
    d = b.op("Sub", [x, mean])
    var = b.op("ReduceMean", [b.op("Pow", [d, b.f32(2.0)])], axes=[-1], keepdims=1)
    std = b.op("Sqrt", [b.op("Add", [var, b.f32(1e-5)])])
    y = b.op("Div", [d, std])
    return b.op("Add", [b.op("Mul", [y, g]), beta])


def _matmul_add(b, rng, x, name, fan_in, fan_out):
    w = b.init(f"{name}.weight",
               (rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)).astype(np.float32))
    bias = b.init(f"{name}.bias", (rng.standard_normal(fan_out) * 0.02).astype(np.float32))
    return b.op("Add", [b.op("MatMul", [x, w]), bias])


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("gpt2")
    x = b.input("hidden", np.float32, [1, SEQ, HIDDEN])

    with b.scope("h.0/ln_1"):
        h = _layer_norm(b, rng, x, "h.0.ln_1")

    with b.scope("h.0/attn/c_attn"):
        # Conv1D: size_out = x.size()[:-1] + (nf,); addmm(bias, x.view(-1, nx), w)
        d0, d1 = shape_dims(b, h, 0, 1)
        flat = b.op("Reshape", [h, b.i64(-1, HIDDEN)])
        w = b.init("h.0.attn.c_attn.weight",
                   (rng.standard_normal((HIDDEN, 3 * HIDDEN)) / math.sqrt(HIDDEN))
                   .astype(np.float32))
        bias = b.init("h.0.attn.c_attn.bias",
                      (rng.standard_normal(3 * HIDDEN) * 0.02).astype(np.float32))
        qkv = b.op("Gemm", [flat, w, bias], alpha=1.0, beta=1.0)
        qkv = b.op("Reshape", [qkv, concat_shape(b, [d0, d1, 3 * HIDDEN])])

    with b.scope("h.0/attn"):
        q, k, v = b.op("Split", [qkv, b.i64(HIDDEN, HIDDEN, HIDDEN)], outputs=3, axis=2)

        def split_heads(t, perm):
            t0, t1 = shape_dims(b, t, 0, 1)
            t = b.op("Reshape", [t, concat_shape(b, [t0, t1, HEADS, HEAD_DIM])])
            return b.op("Transpose", [t], perm=perm)

        q = split_heads(q, [0, 2, 1, 3])
        k = split_heads(k, [0, 2, 3, 1])
        v = split_heads(v, [0, 2, 1, 3])

        w = b.op("MatMul", [q, k])
        w = b.op("Div", [w, b.f32(math.sqrt(HEAD_DIM))])
        # mask = self.bias[:, :, ns - nd:ns, :ns]
        nd, ns = shape_dims(b, w, -2, -1)
        tril = b.init("h.0.attn.bias",
                      np.tril(np.ones((N_POS, N_POS), dtype=np.uint8))[None, None])
        start = b.op("Unsqueeze", [b.op("Sub", [ns, nd]), b.i64(0)])
        ns_1d = b.op("Unsqueeze", [ns, b.i64(0)])
        mask = b.op("Slice", [tril, start, ns_1d, b.i64(2), b.i64(1)])
        mask = b.op("Slice", [mask, b.i64(0), ns_1d, b.i64(3), b.i64(1)])
        mask = b.op("Cast", [mask], to=9)  # BOOL
        w_shape = b.op("Shape", [w])
        mask = b.op("Expand", [mask, w_shape])
        fill = b.op("ConstantOfShape", [w_shape],
                    value=numpy_helper.from_array(np.array([-10000.0], np.float32)))
        w = b.op("Where", [mask, w, fill])
        w = b.op("Softmax", [w], axis=-1)
        a = b.op("MatMul", [w, v])
        # merge_heads: permute(0, 2, 1, 3); view(*size()[:-2], size(-2) * size(-1))
        a = b.op("Transpose", [a], perm=[0, 2, 1, 3])
        a0, a1, a2, a3 = shape_dims(b, a, 0, 1, 2, 3)
        a = b.op("Reshape", [a, concat_shape(b, [a0, a1, b.op("Mul", [a2, a3])])])

    with b.scope("h.0/attn/c_proj"):
        a = _matmul_add(b, rng, a, "h.0.attn.c_proj", HIDDEN, HIDDEN)
    with b.scope("h.0"):
        x = b.op("Add", [a, x])
    with b.scope("h.0/ln_2"):
        h = _layer_norm(b, rng, x, "h.0.ln_2")
    with b.scope("h.0/mlp/c_fc"):
        h = _matmul_add(b, rng, h, "h.0.mlp.c_fc", HIDDEN, 4 * HIDDEN)
    with b.scope("h.0/mlp/act"):
        cube = b.op("Pow", [h, b.f32(3.0)])
        inner = b.op("Add", [h, b.op("Mul", [cube, b.f32(0.044715)])])
        t = b.op("Tanh", [b.op("Mul", [inner, b.f32(math.sqrt(2.0 / math.pi))])])
        h = b.op("Mul", [b.op("Mul", [h, b.f32(0.5)]), b.op("Add", [t, b.f32(1.0)])])
    with b.scope("h.0/mlp/c_proj"):
        h = _matmul_add(b, rng, h, "h.0.mlp.c_proj", 4 * HIDDEN, HIDDEN)
    with b.scope("h.0"):
        x = b.op("Add", [x, h])
    b.output(x, np.float32, [1, SEQ, HIDDEN], name=OUTPUT_NAME)
    return b.model(doc=__doc__)

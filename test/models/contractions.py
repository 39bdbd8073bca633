"""`contractions`: matmul shapes that exercise every path of the tiled CPU
kernel (kiln-lower-contractions): ragged N panels and M row tiles, K longer
than one K block, constant B in both layouts, runtime B read in place and
packed at run time (Einsum's K^T), broadcast batch dims, GEMV."""

import numpy as np

from util import GraphBuilder


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("contractions")

    def weight(name, shape):
        return b.init(name, (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32))

    def out(value, shape, name):
        b.output(value, np.float32, shape, name=name)

    x1 = b.input("x1", np.float32, [37, 70])
    out(b.op("MatMul", [x1, weight("w1", (70, 50))]), [37, 50], "y1")

    x2 = b.input("x2", np.float32, [2, 3, 9, 40])
    out(b.op("MatMul", [x2, weight("w2", (40, 33))]), [2, 3, 9, 33], "y2")

    q = b.input("q", np.float32, [2, 4, 13, 24])
    k = b.input("k", np.float32, [2, 4, 17, 24])
    kt = b.op("Transpose", [k], perm=[0, 1, 3, 2])
    out(b.op("MatMul", [q, kt]), [2, 4, 13, 17], "y3")

    p = b.input("p", np.float32, [2, 4, 13, 17])
    v = b.input("v", np.float32, [2, 4, 17, 20])
    out(b.op("MatMul", [p, v]), [2, 4, 13, 20], "y4")

    x5 = b.input("x5", np.float32, [5, 300])
    w5 = weight("w5", (70, 300))
    b5 = b.init("b5", rng.standard_normal(70).astype(np.float32))
    out(b.op("Gemm", [x5, w5, b5], transB=1), [5, 70], "y5")

    x6 = b.input("x6", np.float32, [1, 600])
    out(b.op("MatMul", [x6, weight("w6", (600, 40))]), [1, 40], "y6")

    a7 = b.input("a7", np.float32, [3, 1, 8, 16])
    b7 = b.input("b7", np.float32, [1, 5, 16, 12])
    out(b.op("MatMul", [a7, b7]), [3, 5, 8, 12], "y7")

    # Einsum reads K as (n, k): the B operand is packed at run time.
    out(b.op("Einsum", [q, k], equation="bhqd,bhkd->bhqk"), [2, 4, 13, 17], "y8")

    # Fused epilogues: bias + Relu (Gemm), a masked score (bool constant
    # read per element), a residual add with a graph input.
    h = b.op("Gemm", [x5, w5, b5], transB=1)
    out(b.op("Relu", [h]), [5, 70], "y9")
    mask = b.init("mask", rng.random((1, 1, 13, 17)) > 0.3)
    scores = b.op("MatMul", [q, kt])
    neg = b.init("neg", np.array(-1e4, dtype=np.float32))
    out(b.op("Where", [mask, scores, neg]), [2, 4, 13, 17], "y10")
    res = b.input("res", np.float32, [37, 50])
    out(b.op("Add", [b.op("MatMul", [x1, weight("w11", (70, 50))]), res]), [37, 50], "y11")
    return b.model(doc=__doc__)

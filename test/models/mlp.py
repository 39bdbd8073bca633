"""`mlp`: input [4,64] -> Gemm(transB=1)+Relu -> MatMul+Add+Tanh -> Gemm -> Softmax."""

import numpy as np

from util import GraphBuilder, he_normal, small, xavier_normal

BATCH, IN, HIDDEN, OUT = 4, 64, 128, 10


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("mlp")
    x = b.input("input", np.float32, [BATCH, IN])

    with b.scope("fc1"):
        # nn.Linear exports as Gemm with weight [out, in] and transB=1.
        w1 = b.init("fc1.weight", he_normal(rng, (HIDDEN, IN), IN))
        b1 = b.init("fc1.bias", small(rng, (HIDDEN,)))
        h = b.op("Gemm", [x, w1, b1], alpha=1.0, beta=1.0, transB=1)
    with b.scope("act1"):
        h = b.op("Relu", [h])
    with b.scope("fc2"):
        # A batched-style linear (MatMul against [in, out] + Add).
        w2 = b.init("fc2.weight", xavier_normal(rng, (HIDDEN, IN), HIDDEN, IN))
        b2 = b.init("fc2.bias", small(rng, (IN,)))
        h = b.op("MatMul", [h, w2])
        h = b.op("Add", [h, b2])
    with b.scope("act2"):
        h = b.op("Tanh", [h])
    with b.scope("fc3"):
        # Plain Gemm, weight already [in, out] (transB=0), bias broadcast [1, out].
        w3 = b.init("fc3.weight", xavier_normal(rng, (IN, OUT), IN, OUT) * 3.0)
        b3 = b.init("fc3.bias", small(rng, (1, OUT)))
        h = b.op("Gemm", [h, w3, b3])
    with b.scope("softmax"):
        h = b.op("Softmax", [h], axis=-1)
    b.output(h, np.float32, [BATCH, OUT], name="output")
    return b.model(doc=__doc__)

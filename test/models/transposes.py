"""`transposes`: elementwise ops that read an operand transposed
(codegen/cpu/VectorizeTranspose.cpp: blocks loaded along the operand's
last dim and transposed in registers): NHWC -> NCHW with a Relu (a ragged
16-lane block in both dims), a 2-D transpose added to another input, and
a uint8 NHWC -> NCHW Transpose then Cast, batch 2."""

import numpy as np

from util import GraphBuilder


def build(seed: int = 0):
    b = GraphBuilder("transposes")
    x = b.input("x", np.float32, [2, 5, 12, 37])
    b.output(b.op("Relu", [b.op("Transpose", [x], perm=[0, 3, 1, 2])]),
             np.float32, [2, 37, 5, 12], name="nchw_relu")
    m = b.input("m", np.float32, [40, 35])
    other = b.input("other", np.float32, [35, 40])
    b.output(b.op("Add", [b.op("Transpose", [m], perm=[1, 0]), other]),
             np.float32, [35, 40], name="transposed_add")
    q = b.input("q", np.uint8, [2, 9, 10, 48])
    b.output(b.op("Cast", [b.op("Transpose", [q], perm=[0, 3, 1, 2])], to=1),
             np.float32, [2, 48, 9, 10], name="u8_nchw")
    return b.model(doc=__doc__)

"""`pooling`: 2-D max and average pools whose output rows fill 16-lane
vectors and leave a masked tail, at strides 1 and 2 (vector loops,
codegen/cpu/VectorizeWindow.cpp) and 3 (the scalar loop), padded, with
ceil_mode and both count_include_pad settings, on batch 2."""

import numpy as np

from util import GraphBuilder


def build(seed: int = 0):
    b = GraphBuilder("pooling")
    x = b.input("x", np.float32, [2, 3, 37, 41])

    def pool(op, shape, name, **attrs):
        b.output(b.op(op, [x], **attrs), np.float32, shape, name=name)

    pool("MaxPool", [2, 3, 18, 20], "max_2x2_s2", kernel_shape=[2, 2], strides=[2, 2])
    pool("MaxPool", [2, 3, 19, 21], "max_3x3_s2_pad", kernel_shape=[3, 3], strides=[2, 2],
         pads=[1, 1, 1, 1])
    pool("MaxPool", [2, 3, 37, 41], "max_3x3_s1_pad", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    pool("MaxPool", [2, 3, 19, 21], "max_2x2_s2_ceil", kernel_shape=[2, 2], strides=[2, 2],
         ceil_mode=1)
    pool("MaxPool", [2, 3, 12, 13], "max_3x3_s3", kernel_shape=[3, 3], strides=[3, 3])
    pool("AveragePool", [2, 3, 37, 41], "avg_3x3_s1_pad", kernel_shape=[3, 3],
         pads=[1, 1, 1, 1])
    pool("AveragePool", [2, 3, 19, 21], "avg_3x3_s2_pad_incl", kernel_shape=[3, 3],
         strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    pool("AveragePool", [2, 3, 18, 20], "avg_2x2_s2", kernel_shape=[2, 2], strides=[2, 2])
    return b.model(doc=__doc__)

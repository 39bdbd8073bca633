"""`depthwise`: depthwise convolutions (codegen/cpu/DepthwiseKernel.cpp)
whose zero padding the kernel reads in place, from the unpadded input:
after a 1x1 conv + Clip as in MobileNetV2 (stride 1 and 2, 70 columns:
a padded first block, whole blocks in a loop and a ragged padded last
one), on a model input with asymmetric padding and dilation, 5x5 stride 2
on a map narrower than a vector, padding wider than the kernel reaches
(windows entirely in the padding), batch 2."""

import numpy as np

from util import GraphBuilder


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("depthwise")
    lo = b.init("lo", np.array(0.0, dtype=np.float32))
    hi = b.init("hi", np.array(6.0, dtype=np.float32))

    def weights(name, shape, scale):
        return b.init(name, (rng.standard_normal(shape) * scale).astype(np.float32))

    def depthwise(x, ch, k, name, **attrs):
        return b.op("Conv", [x, weights(name + ".w", (ch, 1, k, k), 0.3),
                             weights(name + ".b", (ch,), 1.0)], group=ch, **attrs)

    def out(value, shape, name):
        b.output(value, np.float32, shape, name=name)

    x = b.input("x", np.float32, [2, 8, 45, 70])
    expand = b.op("Clip", [b.op("Conv", [x, weights("expand.w", (32, 8, 1, 1), 0.35),
                                         weights("expand.b", (32,), 1.0)]), lo, hi])
    out(b.op("Clip", [depthwise(expand, 32, 3, "dw", pads=[1, 1, 1, 1]), lo, hi]),
        [2, 32, 45, 70], "y_dw_relu6")
    # (Padded otherwise than the first: one padded copy read by two convs
    # stays a copy.)
    out(depthwise(expand, 32, 3, "dws2", pads=[1, 1, 0, 0], strides=[2, 2]),
        [2, 32, 22, 35], "y_dw_s2")
    out(depthwise(x, 8, 3, "asym", pads=[2, 0, 1, 3], dilations=[2, 2]),
        [2, 8, 44, 69], "y_dw_asym_dilated")
    narrow = b.input("narrow", np.float32, [1, 24, 9, 9])
    out(depthwise(narrow, 24, 5, "dw5s2", pads=[2, 2, 2, 2], strides=[2, 2]),
        [1, 24, 5, 5], "y_dw_5x5_s2")
    out(depthwise(narrow, 24, 3, "wide_pad", pads=[3, 4, 3, 4]),
        [1, 24, 13, 15], "y_dw_wide_pad")
    return b.model(doc=__doc__)

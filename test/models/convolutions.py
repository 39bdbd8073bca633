"""`convolutions`: NCHW convolutions that exercise every path of the two
direct conv kernels: column vectors (codegen/cpu/ConvKernel.cpp: stride-2
gathered columns, the 7x7 stride-2 stem, 1x1 flattened over pixels) and
channel vectors (codegen/cpu/ConvChannelKernel.cpp: 3x3 padded stride 1,
1x1 on maps that do not fill whole vectors, dilation, asymmetric padding,
deep 1x1 in K blocks, ragged pixel tiles), with output channels that leave a
partial register tile, narrow rows (7 columns), batch 2, and depthwise
convolutions (codegen/cpu/DepthwiseKernel.cpp)."""

import numpy as np

from util import GraphBuilder


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("convolutions")

    def conv(x, cin, cout, k, name, **attrs):
        w = b.init(name + ".w", (rng.standard_normal((cout, cin, k, k)) * (1.0 / np.sqrt(cin * k * k))).astype(np.float32))
        bias = b.init(name + ".b", rng.standard_normal(cout).astype(np.float32))
        return b.op("Conv", [x, w, bias], **attrs)

    def out(value, shape, name):
        b.output(value, np.float32, shape, name=name)

    x = b.input("x", np.float32, [2, 6, 19, 19])
    out(conv(x, 6, 20, 3, "c3", pads=[1, 1, 1, 1]), [2, 20, 19, 19], "y_3x3")
    out(conv(x, 6, 17, 3, "c3s2", pads=[1, 1, 1, 1], strides=[2, 2]), [2, 17, 10, 10], "y_3x3_s2")
    out(conv(x, 6, 16, 7, "stem", pads=[3, 3, 3, 3], strides=[2, 2]), [2, 16, 10, 10], "y_7x7_s2")
    out(conv(x, 6, 33, 1, "c1"), [2, 33, 19, 19], "y_1x1")
    out(conv(x, 6, 9, 1, "c1s2", strides=[2, 2]), [2, 9, 10, 10], "y_1x1_s2")
    out(conv(x, 6, 5, 3, "dil", pads=[2, 2, 2, 2], dilations=[2, 2]), [2, 5, 19, 19], "y_dilated")
    small = b.input("small", np.float32, [1, 40, 7, 7])
    out(conv(small, 40, 30, 3, "c7", pads=[1, 1, 1, 1]), [1, 30, 7, 7], "y_7x7_map")
    out(conv(small, 40, 24, 3, "asym", pads=[0, 1, 2, 0]), [1, 24, 7, 6], "y_asym_pad")
    # Fused epilogue: residual add + Relu on the conv output, and a 1x1
    # (flattened) conv followed by Relu.
    skip = b.input("skip", np.float32, [2, 20, 19, 19])
    c = conv(x, 6, 20, 3, "res", pads=[1, 1, 1, 1])
    out(b.op("Relu", [b.op("Add", [c, skip])]), [2, 20, 19, 19], "y_residual")
    out(b.op("Relu", [conv(x, 6, 12, 1, "c1r")]), [2, 12, 19, 19], "y_1x1_relu")
    # Deep 1x1 (its input channels run in K blocks, here 3 x 100)
    # with a Relu epilogue, and a 3x3 over the same deep input; batch 2,
    # 49 pixels (a ragged pixel tile), 40 and 20 output channels.
    deep = b.input("deep", np.float32, [2, 300, 7, 7])
    out(b.op("Relu", [conv(deep, 300, 40, 1, "deep1")]), [2, 40, 7, 7], "y_deep_1x1")
    out(conv(deep, 300, 20, 3, "deep3", pads=[1, 1, 1, 1]), [2, 20, 7, 7], "y_deep_3x3")
    # Depthwise (group = channels): stride 1 with a Clip (ReLU6) epilogue,
    # stride 2, 5x5 with ragged rows and columns.
    def depthwise(x, ch, k, name, **attrs):
        w = b.init(name + ".w", (rng.standard_normal((ch, 1, k, k)) * 0.3).astype(np.float32))
        bias = b.init(name + ".b", rng.standard_normal(ch).astype(np.float32))
        return b.op("Conv", [x, w, bias], group=ch, **attrs)
    lo = b.init("lo", np.array(0.0, dtype=np.float32))
    hi = b.init("hi", np.array(6.0, dtype=np.float32))
    out(b.op("Clip", [depthwise(x, 6, 3, "dw", pads=[1, 1, 1, 1]), lo, hi]), [2, 6, 19, 19], "y_dw_relu6")
    out(depthwise(x, 6, 3, "dws2", pads=[1, 1, 1, 1], strides=[2, 2]), [2, 6, 10, 10], "y_dw_s2")
    out(depthwise(small, 40, 5, "dw5", pads=[2, 2, 2, 2]), [1, 40, 7, 7], "y_dw_5x5")
    return b.model(doc=__doc__)

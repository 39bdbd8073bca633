"""`cnn`: a small convnet touching the common conv/pool attribute forms.

[2,3,32,32] -> Conv(k3, s2, pad1) + BatchNormalization + Relu
            -> MaxPool(k3, s2, pad1)
            -> Conv(groups=2, dilation=2, pad2) + BatchNormalization + LeakyRelu
            -> AveragePool(k3, s2, pad1, count_include_pad=0)
            -> Conv 1x1 -> Clip(0, 6) * Sigmoid   (gated)
            -> GlobalAveragePool -> Flatten -> Gemm -> logits [2,10]
"""

import numpy as np

from util import GraphBuilder, he_normal, small

N, C, H, W = 2, 3, 32, 32
CLASSES = 10


def _bn(b, rng, x, name, ch):
    scale = b.init(f"{name}.weight", rng.uniform(0.5, 1.5, ch).astype(np.float32))
    bias = b.init(f"{name}.bias", small(rng, (ch,), 0.1))
    mean = b.init(f"{name}.running_mean", small(rng, (ch,), 0.1))
    var = b.init(f"{name}.running_var", rng.uniform(0.5, 1.5, ch).astype(np.float32))
    return b.op("BatchNormalization", [x, scale, bias, mean, var], epsilon=1e-5,
                momentum=0.9)


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("cnn")
    x = b.input("input", np.float32, [N, C, H, W])

    with b.scope("conv1"):
        w = b.init("conv1.weight", he_normal(rng, (16, 3, 3, 3), 3 * 9))
        bias = b.init("conv1.bias", small(rng, (16,)))
        h = b.op("Conv", [x, w, bias], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                 strides=[2, 2], dilations=[1, 1], group=1)           # 16x16x16
    with b.scope("bn1"):
        h = _bn(b, rng, h, "bn1", 16)
    with b.scope("relu1"):
        h = b.op("Relu", [h])
    with b.scope("pool1"):
        h = b.op("MaxPool", [h], kernel_shape=[3, 3], strides=[2, 2],
                 pads=[1, 1, 1, 1])                                   # 16x8x8
    with b.scope("conv2"):
        # Grouped (2 groups of 8 -> 16) and dilated; no bias input.
        w = b.init("conv2.weight", he_normal(rng, (32, 8, 3, 3), 8 * 9))
        h = b.op("Conv", [h, w], kernel_shape=[3, 3], pads=[2, 2, 2, 2],
                 strides=[1, 1], dilations=[2, 2], group=2)           # 32x8x8
    with b.scope("bn2"):
        h = _bn(b, rng, h, "bn2", 32)
    with b.scope("act2"):
        h = b.op("LeakyRelu", [h], alpha=0.1)
    with b.scope("pool2"):
        h = b.op("AveragePool", [h], kernel_shape=[3, 3], strides=[2, 2],
                 pads=[1, 1, 1, 1], count_include_pad=0)              # 32x4x4
    with b.scope("conv3"):
        w = b.init("conv3.weight", he_normal(rng, (32, 32, 1, 1), 32))
        bias = b.init("conv3.bias", small(rng, (32,)))
        h = b.op("Conv", [h, w, bias], kernel_shape=[1, 1])
    with b.scope("gate"):
        clipped = b.op("Clip", [h, b.f32(0.0), b.f32(6.0)])
        gate = b.op("Sigmoid", [h])
        h = b.op("Mul", [clipped, gate])
    with b.scope("gap"):
        h = b.op("GlobalAveragePool", [h])                            # 32x1x1
    with b.scope("flatten"):
        h = b.op("Flatten", [h], axis=1)
    with b.scope("fc"):
        w = b.init("fc.weight", he_normal(rng, (CLASSES, 32), 32))
        bias = b.init("fc.bias", small(rng, (CLASSES,)))
        h = b.op("Gemm", [h, w, bias], transB=1)
    b.output(h, np.float32, [N, CLASSES], name="logits")
    return b.model(doc=__doc__)

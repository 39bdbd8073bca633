"""`mobilenetv2`: MobileNetV2 1.0 (torchvision layout), 1x3x224x224 -> 1x1000,
as torch.onnx.export writes it in eval mode with constant folding: each
Conv+BatchNorm folded into one Conv with bias, ReLU6 as Clip(0, 6) with
Constant min/max inputs, depthwise 3x3 convs as Conv(group=C), the linear
bottleneck's residual Add, GlobalAveragePool, Flatten, Gemm.

Random weights (fixed seed), scaled so activations stay O(1) through the
17 inverted-residual blocks. ~14 MB.
"""

import numpy as np

from util import GraphBuilder, he_normal, small

# (expansion t, output channels c, repeats n, first stride s), as in the paper.
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class _Net:
    def __init__(self, b, rng):
        self.b, self.rng, self.n = b, rng, 0

    def conv(self, x, cin, cout, k, stride=1, group=1, relu6=True, gain=1.0):
        """Conv (BN folded into weight and bias), optionally + Clip(0, 6)."""
        b = self.b
        self.n += 1
        fan_in = cin // group * k * k
        w = b.init(f"onnx::Conv_{self.n}w",
                   he_normal(self.rng, (cout, cin // group, k, k), fan_in) * gain)
        bias = b.init(f"onnx::Conv_{self.n}b", small(self.rng, (cout,), 0.05))
        pad = (k - 1) // 2
        h = b.op("Conv", [x, w, bias], kernel_shape=[k, k], strides=[stride, stride],
                 pads=[pad] * 4, dilations=[1, 1], group=group)
        if relu6:
            h = b.op("Clip", [h, b.f32(0.0), b.f32(6.0)])
        return h

    def inverted_residual(self, x, name, cin, cout, stride, t):
        b = self.b
        hidden = cin * t
        with b.scope(name):
            h = x
            if t != 1:
                with b.scope("conv.0"):
                    h = self.conv(h, cin, hidden, 1)
            with b.scope("conv.1"):
                h = self.conv(h, hidden, hidden, 3, stride=stride, group=hidden)
            with b.scope("conv.2"):
                # Linear bottleneck; a small gain on residual branches keeps
                # the sum of 10 residual additions tame.
                use_res = stride == 1 and cin == cout
                h = self.conv(h, hidden, cout, 1, relu6=False,
                              gain=0.3 if use_res else 0.7)
            if use_res:
                h = b.op("Add", [x, h])
            return h


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("mobilenetv2")
    net = _Net(b, rng)
    x = b.input("input", np.float32, [1, 3, 224, 224])
    with b.scope("features/features.0"):
        h = net.conv(x, 3, 32, 3, stride=2)
    cin, idx = 32, 1
    for t, c, n, s in SETTINGS:
        for i in range(n):
            h = net.inverted_residual(h, f"features/features.{idx}", cin, c,
                                      s if i == 0 else 1, t)
            cin, idx = c, idx + 1
    with b.scope(f"features/features.{idx}"):
        h = net.conv(h, cin, 1280, 1)
    with b.scope("avgpool"):
        h = b.op("GlobalAveragePool", [h])
    with b.scope("flatten"):
        h = b.op("Flatten", [h], axis=1)
    with b.scope("classifier/classifier.1"):
        w = b.init("classifier.1.weight", he_normal(rng, (1000, 1280), 1280) * 0.5)
        bias = b.init("classifier.1.bias", small(rng, (1000,), 0.05))
        h = b.op("Gemm", [h, w, bias], alpha=1.0, beta=1.0, transB=1)
    b.output(h, np.float32, [1, 1000], name="logits")
    return b.model(doc=__doc__)

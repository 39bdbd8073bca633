"""`resnet50`: ResNet-50 v1 (stride on the first 1x1 conv of a downsampling
bottleneck, as in the original paper), 1x3x224x224 -> 1x1000, with
BatchNormalization nodes kept (not folded into the convs), conv weights without
bias (torchvision style), MaxPool, GlobalAveragePool, Flatten, Gemm.

Random He-initialized weights. BatchNorm statistics are random but tame and the
last BN of each residual branch has a small scale, so activations stay O(1)
through the 16 residual additions. ~100 MB: generate, never commit.
"""

import numpy as np

from util import GraphBuilder, he_normal, small

STAGES = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]
EXPANSION = 4


class _Net:
    def __init__(self, b, rng):
        self.b, self.rng = b, rng

    def conv_bn(self, x, name, cin, cout, k, stride=1, pad=0, relu=True,
                gamma=(0.5, 1.0)):
        b, rng = self.b, self.rng
        with b.scope(name):
            w = b.init(f"{name}.conv.weight", he_normal(rng, (cout, cin, k, k), cin * k * k))
            h = b.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride],
                     pads=[pad] * 4, dilations=[1, 1], group=1)
            scale = b.init(f"{name}.bn.weight",
                           rng.uniform(*gamma, cout).astype(np.float32))
            bias = b.init(f"{name}.bn.bias", small(rng, (cout,), 0.05))
            mean = b.init(f"{name}.bn.running_mean", small(rng, (cout,), 0.05))
            var = b.init(f"{name}.bn.running_var",
                         rng.uniform(0.8, 1.2, cout).astype(np.float32))
            h = b.op("BatchNormalization", [h, scale, bias, mean, var],
                     epsilon=1e-5, momentum=0.9)
            if relu:
                h = b.op("Relu", [h])
            return h

    def bottleneck(self, x, name, cin, width, stride):
        cout = width * EXPANSION
        h = self.conv_bn(x, f"{name}.a", cin, width, 1, stride=stride)
        h = self.conv_bn(h, f"{name}.b", width, width, 3, pad=1)
        h = self.conv_bn(h, f"{name}.c", width, cout, 1, relu=False, gamma=(0.2, 0.4))
        if stride != 1 or cin != cout:
            x = self.conv_bn(x, f"{name}.downsample", cin, cout, 1, stride=stride,
                             relu=False)
        with self.b.scope(name):
            return self.b.op("Relu", [self.b.op("Add", [h, x])])


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("resnet50")
    net = _Net(b, rng)
    x = b.input("input", np.float32, [1, 3, 224, 224])
    h = net.conv_bn(x, "conv1", 3, 64, 7, stride=2, pad=3)
    with b.scope("maxpool"):
        h = b.op("MaxPool", [h], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for si, (width, blocks, stride) in enumerate(STAGES):
        for bi in range(blocks):
            h = net.bottleneck(h, f"layer{si + 1}.{bi}", cin, width,
                               stride if bi == 0 else 1)
            cin = width * EXPANSION
    with b.scope("avgpool"):
        h = b.op("GlobalAveragePool", [h])
    with b.scope("flatten"):
        h = b.op("Flatten", [h], axis=1)
    with b.scope("fc"):
        w = b.init("fc.weight", he_normal(rng, (1000, cin), cin) * 0.5)
        bias = b.init("fc.bias", small(rng, (1000,), 0.05))
        h = b.op("Gemm", [h, w, bias], alpha=1.0, beta=1.0, transB=1)
    b.output(h, np.float32, [1, 1000], name="logits")
    return b.model(doc=__doc__)

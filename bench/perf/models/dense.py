"""Small and single-kernel benchmark models (random weights, fixed seeds):

  mlp4096_b1 / mlp4096_b64   3 x (Gemm 4096x4096, transB=1) with Relu between,
                             input [batch, 4096]; ~201 MB of weights
  mlp256_b1                  3 x (Gemm 256x256) with Relu between, input [1, 256]
  digits_cnn                 the classic MNIST convnet: [1,1,28,28] ->
                             Conv 3x3 1->32 + Relu -> Conv 3x3 32->64 + Relu ->
                             MaxPool 2 -> Flatten -> Gemm 9216->128 + Relu ->
                             Gemm 128->10 -> LogSoftmax
  gemm_1024                  one MatMul, A [1024,1024] input x B [1024,1024]
                             constant: M=N=K=1024
  gemm_4096x4096x64          one MatMul, A [4096,64] input x B [64,4096]
                             constant: M=4096, N=4096, K=64
  gemv_4096                  one MatMul, x [1,4096] input x W [4096,4096]
                             constant: M=1, N=4096, K=4096
"""

import numpy as np

from util import GraphBuilder, he_normal, small


def _mlp(name, batch, width, layers, seed):
    rng = np.random.default_rng(seed)
    b = GraphBuilder(name)
    h = b.input("input", np.float32, [batch, width])
    for i in range(layers):
        with b.scope(f"fc{i + 1}"):
            w = b.init(f"fc{i + 1}.weight", he_normal(rng, (width, width), width))
            bias = b.init(f"fc{i + 1}.bias", small(rng, (width,)))
            h = b.op("Gemm", [h, w, bias], alpha=1.0, beta=1.0, transB=1)
        if i + 1 < layers:
            with b.scope(f"act{i + 1}"):
                h = b.op("Relu", [h])
    b.output(h, np.float32, [batch, width], name="output")
    return b.model(doc=__doc__)


def build_mlp4096_b1(seed=0):
    return _mlp("mlp4096_b1", 1, 4096, 3, seed)


def build_mlp4096_b64(seed=0):
    return _mlp("mlp4096_b64", 64, 4096, 3, seed)


def build_mlp256_b1(seed=0):
    return _mlp("mlp256_b1", 1, 256, 3, seed)


def build_digits_cnn(seed=0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("digits_cnn")
    x = b.input("input", np.float32, [1, 1, 28, 28])
    with b.scope("conv1"):
        w = b.init("conv1.weight", he_normal(rng, (32, 1, 3, 3), 9))
        h = b.op("Conv", [x, w, b.init("conv1.bias", small(rng, (32,)))],
                 kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0],
                 dilations=[1, 1], group=1)                           # 32x26x26
        h = b.op("Relu", [h])
    with b.scope("conv2"):
        w = b.init("conv2.weight", he_normal(rng, (64, 32, 3, 3), 32 * 9))
        h = b.op("Conv", [h, w, b.init("conv2.bias", small(rng, (64,)))],
                 kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0],
                 dilations=[1, 1], group=1)                           # 64x24x24
        h = b.op("Relu", [h])
    with b.scope("pool"):
        h = b.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])  # 64x12x12
    with b.scope("flatten"):
        h = b.op("Flatten", [h], axis=1)                               # 9216
    with b.scope("fc1"):
        w = b.init("fc1.weight", he_normal(rng, (128, 9216), 9216))
        h = b.op("Gemm", [h, w, b.init("fc1.bias", small(rng, (128,)))], transB=1)
        h = b.op("Relu", [h])
    with b.scope("fc2"):
        w = b.init("fc2.weight", he_normal(rng, (10, 128), 128))
        h = b.op("Gemm", [h, w, b.init("fc2.bias", small(rng, (10,)))], transB=1)
    with b.scope("log_softmax"):
        h = b.op("LogSoftmax", [h], axis=1)
    b.output(h, np.float32, [1, 10], name="log_probs")
    return b.model(doc=__doc__)


def _matmul(name, m, n, k, seed):
    """One MatMul node: A [m, k] graph input times B [k, n] constant."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(name)
    a = b.input("a", np.float32, [m, k])
    w = b.init("b", (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32))
    y = b.op("MatMul", [a, w])
    b.output(y, np.float32, [m, n], name="y")
    return b.model(doc=__doc__)


def build_gemm_1024(seed=0):
    return _matmul("gemm_1024", 1024, 1024, 1024, seed)


def build_gemm_4096x4096x64(seed=0):
    return _matmul("gemm_4096x4096x64", 4096, 4096, 64, seed)


def build_gemv_4096(seed=0):
    return _matmul("gemv_4096", 1, 4096, 4096, seed)

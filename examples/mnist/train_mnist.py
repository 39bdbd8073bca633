#!/usr/bin/env python3
"""Train kiln's bundled digit classifier and export it to ONNX.

Data: scikit-learn's bundled `load_digits` (1,797 8x8 handwritten digits, no
download), rescaled to MNIST's layout: each digit is upsampled bilinearly to
20x20 and centered in a 28x28 frame, values in [0, 1]. A fixed, stratified
split keeps 20% of the digits (360) for testing.

Model (NCHW, float32):
  input [1,1,28,28] -> Conv 3x3 (16, pad 1) -> Relu -> MaxPool 2x2
                    -> Conv 3x3 (32, pad 1) -> Relu -> MaxPool 2x2
                    -> Flatten -> Gemm (1568 -> 10) -> logits [1,10]

Training: plain numpy (im2col convolutions, hand-written backward), Adam with
cosine decay, random shifts of up to 2 px as augmentation, fixed seeds; about
half a minute on 2 cores. The exported model is checked with onnx.checker and
ONNX Runtime must reproduce numpy's test accuracy.

Writes next to this script:
  mnist.onnx     the model (~80 KB)
  input.npy      one held-out digit, float32 [1,1,28,28]: the first one in the
                 test split that the model classifies correctly (the very first
                 is an ambiguous 5 it reads as 9; a quick start should show a
                 clear case)
  expected.txt   that digit's true label, ORT's predicted class, its index in
                 the test split and the test accuracy

usage: train_mnist.py [--epochs 15] [--seed 0] [--out-dir DIR]
"""

import argparse
import os
import sys
import time

import numpy as np

SIZE, DIGIT = 28, 20
C1, C2 = 16, 32  # conv channels


# -- data -----------------------------------------------------------------------


def _bilinear_matrix(n_in, n_out):
    """[n_out, n_in] matrix doing 1-D bilinear resampling (corners aligned)."""
    m = np.zeros((n_out, n_in))
    pos = np.linspace(0, n_in - 1, n_out)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    m[np.arange(n_out), lo] += 1 - frac
    m[np.arange(n_out), hi] += frac
    return m


def load_data(seed):
    from sklearn.datasets import load_digits

    digits = load_digits()
    imgs = digits.images / 16.0  # [N, 8, 8] in [0, 1]
    r = _bilinear_matrix(8, DIGIT)
    up = np.einsum("ij,njk,lk->nil", r, imgs, r)  # [N, 20, 20]
    pad = (SIZE - DIGIT) // 2
    x = np.zeros((len(up), 1, SIZE, SIZE), dtype=np.float32)
    x[:, 0, pad:pad + DIGIT, pad:pad + DIGIT] = up
    y = digits.target.astype(np.int64)
    # Stratified 80/20 split with a fixed permutation per class.
    rng = np.random.default_rng(seed)
    test_idx = []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        test_idx.extend(idx[: len(idx) // 5])
    test_mask = np.zeros(len(y), bool)
    test_mask[test_idx] = True
    return x[~test_mask], y[~test_mask], x[test_mask], y[test_mask]


# -- layers (forward returns a cache for backward) --------------------------------


def conv3x3_forward(x, w, b):
    """x [N,C,H,W], w [O,C,3,3], pad 1, stride 1."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * wd, c * 9)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(n, h, wd, -1).transpose(0, 3, 1, 2), (x.shape, cols)


def conv3x3_backward(dout, w, cache, need_dx=True):
    (n, c, h, wd), cols = cache
    o = w.shape[0]
    d = dout.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (d.T @ cols).reshape(w.shape)
    db = d.sum(0)
    if not need_dx:
        return None, dw, db
    dcols = (d @ w.reshape(o, -1)).reshape(n, h, wd, c, 3, 3)
    dcols = np.ascontiguousarray(dcols.transpose(4, 5, 0, 3, 1, 2))  # [3,3,N,C,H,W]
    dxp = np.zeros((n, c, h + 2, wd + 2), dtype=dout.dtype)
    for i in range(3):
        for j in range(3):
            dxp[:, :, i:i + h, j:j + wd] += dcols[i, j]
    return dxp[:, :, 1:-1, 1:-1], dw, db


def maxpool2_forward(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    mask = r == out[:, :, :, None, :, None]
    return out, mask


def maxpool2_backward(dout, mask):
    # Ties share the gradient; after ReLU ties are zeros, whose gradient ReLU drops.
    d = mask * dout[:, :, :, None, :, None]
    n, c, h2, _, w2, _ = d.shape
    return d.reshape(n, c, h2 * 2, w2 * 2)


class Net:
    def __init__(self, seed, c1=C1, c2=C2):
        rng = np.random.default_rng(seed)

        def he(shape, fan_in):
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

        self.p = {
            "conv1.weight": he((c1, 1, 3, 3), 9),
            "conv1.bias": np.zeros(c1, np.float32),
            "conv2.weight": he((c2, c1, 3, 3), c1 * 9),
            "conv2.bias": np.zeros(c2, np.float32),
            "fc.weight": he((10, c2 * 7 * 7), c2 * 7 * 7) * 0.5,
            "fc.bias": np.zeros(10, np.float32),
        }

    def forward(self, x):
        p = self.p
        h1, c1 = conv3x3_forward(x, p["conv1.weight"], p["conv1.bias"])
        a1 = np.maximum(h1, 0)
        p1, m1 = maxpool2_forward(a1)
        h2, c2 = conv3x3_forward(p1, p["conv2.weight"], p["conv2.bias"])
        a2 = np.maximum(h2, 0)
        p2, m2 = maxpool2_forward(a2)
        flat = p2.reshape(len(x), -1)
        logits = flat @ p["fc.weight"].T + p["fc.bias"]
        return logits, (c1, h1, m1, c2, h2, m2, flat, p2.shape)

    def backward(self, dlogits, cache):
        p = self.p
        c1, h1, m1, c2, h2, m2, flat, p2_shape = cache
        g = {"fc.weight": dlogits.T @ flat, "fc.bias": dlogits.sum(0)}
        d = (dlogits @ p["fc.weight"]).reshape(p2_shape)
        d = maxpool2_backward(d, m2) * (h2 > 0)
        d, g["conv2.weight"], g["conv2.bias"] = conv3x3_backward(d, p["conv2.weight"], c2)
        d = maxpool2_backward(d, m1) * (h1 > 0)
        _, g["conv1.weight"], g["conv1.bias"] = conv3x3_backward(d, p["conv1.weight"], c1,
                                                                need_dx=False)
        return g

    def predict(self, x, batch=256):
        return np.concatenate([self.forward(x[i:i + batch])[0]
                               for i in range(0, len(x), batch)])


def shift_batch(rng, xb, max_shift=2):
    """Augmentation: move each digit by up to 2 px in x and y (the frame has a
    4 px empty border, so nothing is cut off)."""
    out = np.empty_like(xb)
    dy, dx = rng.integers(-max_shift, max_shift + 1, (2, len(xb)))
    for k in range(len(xb)):
        out[k] = np.roll(xb[k], (dy[k], dx[k]), axis=(1, 2))
    return out


def train(net, x, y, epochs, seed, lr=2e-3, batch=32, wd=1e-4, augment=True):
    rng = np.random.default_rng(seed + 1)
    m = {k: np.zeros_like(v) for k, v in net.p.items()}
    v = {k: np.zeros_like(v) for k, v in net.p.items()}
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        # Cosine learning-rate decay over the run.
        lr_e = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        total, correct = 0.0, 0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            xb, yb = (shift_batch(rng, x[idx]) if augment else x[idx]), y[idx]
            logits, cache = net.forward(xb)
            z = logits - logits.max(1, keepdims=True)
            prob = np.exp(z)
            prob /= prob.sum(1, keepdims=True)
            total += -np.log(prob[np.arange(len(yb)), yb] + 1e-12).sum()
            correct += int((logits.argmax(1) == yb).sum())
            dlogits = prob
            dlogits[np.arange(len(yb)), yb] -= 1
            grads = net.backward((dlogits / len(yb)).astype(np.float32), cache)
            step += 1
            for k in net.p:
                gk = grads[k] + wd * net.p[k]
                m[k] = b1 * m[k] + (1 - b1) * gk
                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                mh = m[k] / (1 - b1 ** step)
                vh = v[k] / (1 - b2 ** step)
                net.p[k] = (net.p[k] - lr_e * mh / (np.sqrt(vh) + eps)).astype(np.float32)
        print(f"epoch {epoch + 1:2d}: loss {total / len(x):.4f}, "
              f"train acc {correct / len(x):.4f}", flush=True)


# -- export -----------------------------------------------------------------------


def export_onnx(net, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    p = net.p
    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"],
                         name="/conv1/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="/pool1/MaxPool",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"],
                         name="/conv2/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="/relu2/Relu"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="/pool2/MaxPool",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["flat"], name="/flatten/Flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"],
                         name="/fc/Gemm", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "mnist",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=[numpy_helper.from_array(p[k], k) for k in
                     ("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                      "fc.weight", "fc.bias")],
        doc_string="Digit classifier trained on scikit-learn's load_digits "
                   "(upsampled to 28x28) by examples/mnist/train_mnist.py.",
    )
    model = helper.make_model(graph, producer_name="kiln-examples-mnist",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def ort_predict(path, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(["logits"], {"input": x[i:i + 1]})[0]
                           for i in range(len(x))])


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out-dir", default=here)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    x_tr, y_tr, x_te, y_te = load_data(args.seed)
    print(f"data: {len(x_tr)} train / {len(x_te)} test digits, 1x{SIZE}x{SIZE}")
    net = Net(args.seed)
    train(net, x_tr, y_tr, args.epochs, args.seed)
    acc_np = float((net.predict(x_te).argmax(1) == y_te).mean())
    print(f"numpy test accuracy: {acc_np:.4f} ({len(x_te)} held-out digits)")

    os.makedirs(args.out_dir, exist_ok=True)
    onnx_path = os.path.join(args.out_dir, "mnist.onnx")
    export_onnx(net, onnx_path)
    ort_logits = ort_predict(onnx_path, x_te)
    acc_ort = float((ort_logits.argmax(1) == y_te).mean())
    print(f"onnxruntime test accuracy: {acc_ort:.4f}")
    if acc_ort != acc_np:
        print("error: onnxruntime disagrees with the numpy model", file=sys.stderr)
        return 1

    k = int(np.flatnonzero(ort_logits.argmax(1) == y_te)[0])
    np.save(os.path.join(args.out_dir, "input.npy"), x_te[k:k + 1].astype(np.float32))
    pred = int(ort_logits[k].argmax())
    with open(os.path.join(args.out_dir, "expected.txt"), "w") as f:
        f.write(f"true_label: {int(y_te[k])}\n")
        f.write(f"ort_predicted: {pred}\n")
        f.write(f"test_index: {k}\n")
        f.write(f"test_accuracy: {acc_ort:.4f} ({len(x_te)} held-out digits)\n")
    print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes), input.npy "
          f"(test digit {k}: label {int(y_te[k])}, ORT predicts {pred}), "
          f"expected.txt; {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Static w8a8 activation scales from calibration, end to end.

usage: check_w8a8_calibrated.py --kiln PATH/TO/kiln --work DIR
       check_w8a8_calibrated.py --error-cases DIR   (for calibration_errors.test)

An MLP (MatMul + Add + Relu, MatMul; quant_checks.make_mlp) is compiled
with --quantize=w8a8 --calibration DIR, DIR holding 6 samples as
DIR/sample_<i>/x.npy, and run with kiln run on an input with values past
the calibrated range. The reference is NumPy in float32:

  - calibration: the float model on the same samples; the range of each
    matmul's activation input is max |x| (minmax) or the nearest-rank
    99.9th percentile of |x| (percentile), input_scale = f32(range) / 127.
    kiln's scales (read from --emit=mlir) must equal these within 1e-5
    relative: the second matmul's input comes from kiln's own float build,
    whose f32 sums may differ from NumPy's in the last bits;
  - inference with kiln's scales: x_q = clip(rint(x / s_x), -127, 127)
    (values past the range saturate), the exact integer sum, then
    f32(sum) * s_x * s_w, bias and ReLU, as check_w8a8.py. The integer
    sums are exact and the scales identical, so the only difference
    allowed is the f32 rescale's (4e-7 relative of the terms); a wrong
    scale, a missing clamp or a per-row scale shows as at least one
    quantization step.

A SmoothQuant case (--smoothquant, one MatMul on the model input with
outlier channels) is reproduced from the inputs alone and must be
bit-exact too (see smoothquant_case), and closer to fp32 than the same
static quantization without it.

It prints the cosine to the float64 model of the static builds and of the
dynamic (per-row) reference, and checks the static ones >= 0.99
(measured 0.995-0.999: one scale per tensor is coarser than one per row,
and the test input's saturated values cost the rest).
Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import re
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_w8a8 import int8_matmul, quantize_weights  # noqa: E402
from quant_checks import check, exit_status, make_mlp, run  # noqa: E402

F32 = np.float32


def static_matmul(x, q, s_w, s_x):
    """kiln.dynamic_quantized_matmul with input_scale = s_x; returns the
    result, the magnitude of its terms and how many activations saturated."""
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1]).astype(F32)
    r = np.rint(x2 / F32(s_x))
    x_q = np.clip(r, -127, 127).astype(np.int64)
    acc = x_q @ q
    y = (acc.astype(F32) * F32(s_x)).astype(F32) * s_w
    mag = (np.abs(x_q) @ np.abs(q)).astype(np.float64) * s_x * s_w
    return (y.astype(F32).reshape(*lead, -1), mag.reshape(*lead, -1),
            int(np.sum(np.abs(r) > 127)))


def calibrated_range(values, method):
    a = np.abs(np.concatenate([v.ravel() for v in values]))
    if method == "minmax":
        return F32(a.max())
    rank = int(np.ceil(99.9 / 100 * a.size))
    return F32(np.sort(a)[max(rank, 1) - 1])


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def case(args, name, x_shape, k, hidden, n):
    work = os.path.join(args.work, name)
    calib = os.path.join(work, "calib")
    onnx_path = os.path.join(work, "model.onnx")
    os.makedirs(work, exist_ok=True)
    w1, b1, w2 = make_mlp(onnx_path, x_shape, k, hidden, n, seed=7)
    rng = np.random.default_rng(11)
    samples = []
    for i in range(6):
        x = rng.standard_normal(x_shape).astype(F32)
        os.makedirs(os.path.join(calib, f"sample_{i}"), exist_ok=True)
        np.save(os.path.join(calib, f"sample_{i}", "x.npy"), x)
        samples.append(x)
    x = rng.standard_normal(x_shape).astype(F32)
    # A few values a little past the calibrated range (about 3.7): they
    # saturate at +-127.
    x.reshape(-1, k)[0, :3] = [4.5, -4.8, 5.0]
    xin = os.path.join(work, "x.npy")
    np.save(xin, x)

    q1, s1 = quantize_weights(w1)
    q2, s2 = quantize_weights(w2)
    fp = np.maximum(x.astype(np.float64) @ w1 + b1, 0) @ w2
    hs = [np.maximum((s @ w1 + b1).astype(F32), F32(0)) for s in samples]
    dyn, _ = int8_matmul(np.maximum((int8_matmul(x, q1, s1)[0] + b1)
                                    .astype(F32), F32(0)), q2, s2)
    print(f"{name}: dynamic per-row w8a8 (reference) cosine to fp32 "
          f"{cosine(dyn, fp):.6f}")

    for method in ("minmax", "percentile"):
        flags = ["--quantize=w8a8", "--quant-min-weights=0",
                 "--calibration", calib, f"--calibration-method={method}"]
        if method == "percentile":
            flags.append("--calibration-percentile=99.9")
        mlir = os.path.join(work, f"{method}.mlir")
        run([args.kiln, "compile", onnx_path, "-o", mlir, *flags])
        with open(mlir) as f:
            scales = [F32(v) for v in
                      re.findall(r"input_scale = ([-+.0-9e]+) : f32", f.read())]
        want = [calibrated_range(samples, method) / F32(127),
                calibrated_range(hs, method) / F32(127)]
        check(len(scales) == 2 and all(
            abs(a / b - 1) <= 1e-5 for a, b in zip(scales, want)),
            f"{name} {method}: kiln's input scales {scales} vs NumPy's "
            f"{want}")
        if len(scales) != 2:
            continue
        so = os.path.join(work, f"{method}.so")
        report = run([args.kiln, "compile", onnx_path, "-o", so, *flags,
                      "--report", "--report-runs=0"])
        kernels = [l for l in report.splitlines()
                   if "int8 matmul" in l and "static scale" in l]
        check(len(kernels) == 2, f"{name} {method}: two int8 kernels with "
              "a static scale formed")
        h0, _, sat1 = static_matmul(x, q1, s1, scales[0])
        h = np.maximum((h0 + b1).astype(F32), F32(0))
        ref, mag, sat2 = static_matmul(h, q2, s2, scales[1])
        out = os.path.join(work, f"out_{method}")
        run([args.kiln, "run", so, "--input", f"x={xin}", "--output-dir",
             out])
        y = np.load(os.path.join(out, "y.npy"))
        err = np.abs(y.astype(np.float64) - ref)
        worst = float(np.max(err / (4e-7 * (mag + np.abs(ref)) + 1e-30)))
        check(worst <= 1.0,
              f"{name} {method}: vs the static int8 reference max |err| "
              f"{err.max():.2e} ({worst:.3f} of the f32 rescale bound), "
              f"{100 * float(np.mean(y == ref)):.1f}% bit-exact, "
              f"{sat1 + sat2} activations saturated")
        c = cosine(y, fp)
        check(c >= 0.99, f"{name} {method}: static w8a8 cosine to fp32 "
              f"{c:.6f} (>= 0.99)")


def smoothquant_case(args, alpha=0.5):
    """--smoothquant on one MatMul reading the model input, where every
    step is reproducible from the inputs alone: s_j from the samples'
    max |x_j| and the weights' row maxima (double, clamped at 1e-5, then
    f32), x' = x * f32(1 / s) (the inserted multiply), W' = W * s, the
    static range of x' over the samples (the second calibration run),
    then the static int8 matmul. Bit-exact up to the f32 rescale."""
    from onnx import TensorProto, helper, numpy_helper
    import onnx
    work = os.path.join(args.work, "smoothquant")
    calib = os.path.join(work, "calib")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(5)
    k, n, rows = 48, 40, 9
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(F32)
    w[3] *= 8  # a weight row with a wide range
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, n])],
        [numpy_helper.from_array(w, "w")])
    onnx_path = os.path.join(work, "model.onnx")
    onnx.save(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]), onnx_path)
    # Outlier channels, as SmoothQuant expects them.
    gain = np.ones(k, F32)
    gain[[5, 17, 30]] = [20, 12, 30]
    samples = []
    for i in range(4):
        x = (rng.standard_normal((rows, k)) * gain).astype(F32)
        os.makedirs(os.path.join(calib, f"sample_{i}"), exist_ok=True)
        np.save(os.path.join(calib, f"sample_{i}", "x.npy"), x)
        samples.append(x)
    x = (rng.standard_normal((rows, k)) * gain).astype(F32)
    xin = os.path.join(work, "x.npy")
    np.save(xin, x)

    xmax = np.max(np.abs(np.stack(samples)), axis=(0, 1)).astype(np.float64)
    wmax = np.max(np.abs(w), axis=1).astype(np.float64)
    s = np.maximum(xmax ** alpha / np.maximum(wmax, 1e-5) ** (1 - alpha),
                   1e-5).astype(F32)
    s = np.where((xmax > 0) & (wmax > 0), s, F32(1)).astype(F32)
    inv = (F32(1) / s).astype(F32)
    ws = (w * s[:, None]).astype(F32)
    q, s_w = quantize_weights(ws)
    rng_x = calibrated_range([(v * inv).astype(F32) for v in samples],
                             "minmax")
    s_x = F32(rng_x) / F32(127)
    ref, mag, sat = static_matmul((x * inv).astype(F32), q, s_w, s_x)
    # The same without SmoothQuant, for the accuracy comparison.
    q0, s_w0 = quantize_weights(w)
    plain, _, _ = static_matmul(
        x, q0, s_w0, calibrated_range(samples, "minmax") / F32(127))

    so = os.path.join(work, "sq.so")
    flags = ["--quantize=w8a8", "--quant-min-weights=0", "--calibration",
             calib, f"--smoothquant={alpha}"]
    run([args.kiln, "compile", onnx_path, "-o", so, *flags])
    out = os.path.join(work, "out")
    run([args.kiln, "run", so, "--input", f"x={xin}", "--output-dir", out])
    y = np.load(os.path.join(out, "y.npy"))
    err = np.abs(y.astype(np.float64) - ref)
    worst = float(np.max(err / (4e-7 * (mag + np.abs(ref)) + 1e-30)))
    check(worst <= 1.0,
          f"smoothquant alpha {alpha}: vs the NumPy SmoothQuant + static "
          f"int8 reference max |err| {err.max():.2e} ({worst:.3f} of the "
          f"f32 rescale bound), {100 * float(np.mean(y == ref)):.1f}% "
          f"bit-exact, {sat} activations saturated")
    fp = x.astype(np.float64) @ w
    c, c0 = cosine(y, fp), cosine(plain, fp)
    check(c > c0, f"smoothquant alpha {alpha}: cosine to fp32 {c:.6f} vs "
          f"{c0:.6f} static without it (outlier channels)")


def error_cases(work):
    """DIR/model.onnx (x: float32 [13, 70]), a good calibration folder and
    bad ones: a sample without x, a wrong shape, a wrong dtype, both
    layouts, an extra file, an empty folder."""
    make_mlp(os.path.join(work, "model.onnx"), (13, 70), 70, 100, 37, seed=3)
    x = np.zeros((13, 70), F32)
    files = {"good/sample_0/x.npy": x, "missing/sample_0/y.npy": x,
             "shape/x.npy": x[:2], "dtype/x.npy": x.astype(np.float64),
             "mixed/x.npy": x, "mixed/sample_0/x.npy": x,
             "extra/x.npy": x, "extra/z.npy": x}
    for path, a in files.items():
        os.makedirs(os.path.dirname(os.path.join(work, path)), exist_ok=True)
        np.save(os.path.join(work, path), a)
    os.makedirs(os.path.join(work, "empty"), exist_ok=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln")
    ap.add_argument("--work")
    ap.add_argument("--error-cases")
    args = ap.parse_args()
    if args.error_cases:
        error_cases(args.error_cases)
        return 0
    case(args, "ragged", (13, 70), 70, 100, 37)
    case(args, "batch3d", (2, 5, 33), 33, 64, 16)
    smoothquant_case(args)
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Int8 weights and activations (kiln compile --quantize=w8a8), end to end.

usage: check_w8a8.py --kiln PATH/TO/kiln --work DIR

For each case an ONNX model (MatMul + Add + Relu, MatMul, random weights,
fixed seed) is compiled with --quantize=w8a8 and run with kiln run. The
reference is NumPy re-implementing kiln.dynamic_quantized_matmul and
kiln-w8a8-quantize in float32 (dialects/Kiln/KilnOps.td, passes/Quantize/
Passes.td): per-column weight scales, per-row activation scales
s_x = max|x| / 127, x_q = clip(rint(x / s_x), -127, 127), an exact integer
sum, then f32(sum) * s_x * s_w, bias and ReLU in float32. Checked per case:
  - the int8 kernel formed for both matmuls (--report lists "int8 matmul"
    with vpdpbusd on a VNNI target, pmaddwd on i16 pairs otherwise, and the
    fused rescale epilogue), not the generic fallback;
  - kiln's output matches the reference within float32 rescale error:
    |kiln - ref| <= 4 ulp-ish (4e-7 relative) of the reference's terms;
    the integer sums are exact, so a wrong activation scale, rounding
    mode, +128 bias correction, packing order (4 k per lane for VNNI, 2
    for pmaddwd) or mask shows up as an
    error of at least one quantization step (s_x * s_w), which is far
    above this bound;
  - the quantization error vs the float model is small (cosine >= 0.995
    for two int8 layers).
Shapes cover a ragged N panel, an M remainder of the row tile, K not a
multiple of 4 (and of 16), a 3-D input, GEMV, 1 and 2 threads, and the
VNNI (native, when the host has avx512_vnni) and non-VNNI (haswell, AVX2;
skylake-avx512, AVX-512 without VNNI) kernels.

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quant_checks import check, failures, make_mlp, run  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "models"))
from ort_quantized import host_cpu_flags  # noqa: E402

F32 = np.float32


def host_has_vnni():
    return "avx512_vnni" in host_cpu_flags()


# What a host needs to run kernels compiled for each target CPU.
TARGET_NEEDS = {"haswell": {"avx2", "fma"},
                "skylake-avx512": {"avx512f", "avx512bw", "avx512dq", "avx512vl"}}


def quantize_weights(w):
    """Per output column symmetric int8 (kiln-w8a8-quantize), float32."""
    amax = np.max(np.abs(w), axis=0).astype(F32)
    s = (amax / F32(127)).astype(F32)
    s = np.where(s > 0, s, F32(1)).astype(F32)
    q = np.clip(np.rint(w / s), -127, 127).astype(np.int64)
    return q, s


def int8_matmul(x, q, s_w):
    """kiln.dynamic_quantized_matmul on a float32 [.., K] input; returns the
    float32 result and the magnitude |f32(|x_q| @ |q|) * s_x * s_w| of the
    terms."""
    lead = x.shape[:-1]
    x2 = x.reshape(-1, x.shape[-1]).astype(F32)
    amax = np.max(np.abs(x2), axis=1).astype(F32)
    s_x = np.where(amax == 0, F32(1), (amax / F32(127)).astype(F32))
    s_x = s_x.astype(F32)[:, None]
    x_q = np.clip(np.rint(x2 / s_x), -127, 127).astype(np.int64)
    acc = x_q @ q  # exact
    y = (acc.astype(F32) * s_x).astype(F32) * s_w
    mag = (np.abs(x_q) @ np.abs(q)).astype(np.float64) * s_x * s_w
    return (y.astype(F32).reshape(*lead, -1),
            mag.reshape(*lead, -1))


def case(args, name, x_shape, k, hidden, n, targets):
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    onnx_path = os.path.join(work, "model.onnx")
    w1, b1, w2 = make_mlp(onnx_path, x_shape, k, hidden, n,
                            seed=len(name))
    rng = np.random.default_rng(100 + len(name))
    x = rng.standard_normal(x_shape).astype(F32)
    # One all-zero row (s_x = 1) and one row with exact .5 ties.
    x2 = x.reshape(-1, k)
    if x2.shape[0] > 2:
        x2[1] = 0
        x2[2, :] = np.arange(k, dtype=F32) % 5 - 2
        x2[2, 0] = 254  # s_x = 2: odd values give .5 ties
    xin = os.path.join(work, "x.npy")
    np.save(xin, x)

    q1, s1 = quantize_weights(w1)
    q2, s2 = quantize_weights(w2)
    h0, mag1 = int8_matmul(x, q1, s1)
    h = np.maximum((h0 + b1).astype(F32), F32(0))
    ref, mag2 = int8_matmul(h, q2, s2)
    fx = x.astype(np.float64)
    fp = np.maximum(fx @ w1 + b1, 0) @ w2

    for target, kernel in targets:
        flags = ["--quantize=w8a8", "--quant-min-weights=0"]
        if target:
            flags.append(f"--target-cpu={target}")
        so = os.path.join(work, f"model_{target or 'native'}.so")
        report = run([args.kiln, "compile", onnx_path, "-o", so, *flags,
                      "--report", "--report-runs=0"])
        kernels = [l.strip() for l in report.splitlines()
                   if "int8 matmul" in l]
        check(len(kernels) == 2 and all(kernel in l and "epilogue" in l
                                        for l in kernels),
              f"{name} [{target or 'native'}]: two int8 kernels ({kernel}, "
              f"rescale fused): " + " | ".join(kernels))
        for threads in (1, 2):
            out = os.path.join(work, f"out_{target or 'native'}{threads}")
            run([args.kiln, "run", so, "--input", f"x={xin}", "--output-dir",
                 out, "--threads", str(threads)])
            y = np.load(os.path.join(out, "y.npy"))
            if y.shape != ref.shape:
                check(False, f"{name}: output shape {y.shape} != {ref.shape}")
                continue
            err = np.abs(y.astype(np.float64) - ref)
            # f32 rescale error of the last layer; the first layer's
            # rounding can move an activation of the second across a
            # quantization boundary only if h differs, which the exact
            # match below rules out.
            bound = 4e-7 * (mag2 + np.abs(ref)) + 1e-30
            worst = float(np.max(err / bound))
            exact = float(np.mean(y == ref))
            check(worst <= 1.0,
                  f"{name} [{target or 'native'}, {threads} thr]: vs int8 "
                  f"reference max |err| {err.max():.2e} ({worst:.3f} of the "
                  f"f32 rescale bound), {100 * exact:.1f}% bit-exact")
    cos = float(np.dot(ref.ravel(), fp.ravel()) /
                (np.linalg.norm(ref) * np.linalg.norm(fp)))
    check(cos >= 0.995, f"{name}: int8 reference vs float model cosine "
          f"{cos:.6f} (>= 0.995)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    flags = host_cpu_flags()
    targets, form_only = [], []
    for target in ("haswell", "skylake-avx512"):
        if TARGET_NEEDS[target] <= flags:
            targets.append((target, "pmaddwd on i16 pairs"))
        else:
            form_only.append((target, "pmaddwd on i16 pairs"))
            print(f"note: this host cannot run {target} code; its kernel is "
                  "only checked for forming", flush=True)
    if host_has_vnni():
        targets.insert(0, ("", "vpdpbusd"))
    else:
        form_only.append(("icelake-server", "vpdpbusd"))
        print("note: host has no avx512_vnni; the vpdpbusd kernel is only "
              "checked for forming", flush=True)
    # name, x shape, K, hidden, N
    case(args, "ragged", (13, 70), 70, 100, 37, targets)
    case(args, "gemv", (1, 256), 256, 64, 130, targets)
    case(args, "batch3d", (2, 5, 33), 33, 64, 16, targets)
    case(args, "wide", (8, 300), 300, 192, 72, targets[:1])
    for target, marker in form_only:
        run_forming_report(args, target, marker)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


def run_forming_report(args, target, marker):
    """On a host that cannot run `target`'s code: its two kernels still form."""
    work = os.path.join(args.work, f"report_{target}")
    os.makedirs(work, exist_ok=True)
    onnx_path = os.path.join(work, "model.onnx")
    make_mlp(onnx_path, (4, 64), 64, 64, 32, seed=1)
    report = run([args.kiln, "compile", onnx_path, "-o",
                  os.path.join(work, "m.o"), "--quantize=w8a8",
                  "--quant-min-weights=0", f"--target-cpu={target}",
                  "--report", "--report-runs=0"])
    kernels = [l for l in report.splitlines() if marker in l]
    check(len(kernels) == 2, f"{target}: two {marker} kernels")


if __name__ == "__main__":
    sys.exit(main())

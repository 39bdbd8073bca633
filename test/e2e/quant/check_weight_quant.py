#!/usr/bin/env python3
"""Weight-only quantization (kiln compile --quantize=w8|w4), end to end.

usage: check_weight_quant.py --kiln PATH/TO/kiln --work DIR

For each case an ONNX model (MatMul + Add + Relu, MatMul, random weights,
fixed seed) is compiled with --quantize and run with kiln run. The
reference is NumPy: the weights quantized with the formulas of
passes/Quantize/Passes.td (re-implemented here), dequantized, and the model
computed in float64. Checked per case:
  - the fused kernel formed (--report lists "quantized matmul" with the
    expected packing), not the generic fallback;
  - kiln's output matches the dequantize-then-float reference within
    fp32 accumulation error: |kiln - ref| <= 2e-6 * (|x| @ |W|) summed
    over the layers' magnitudes (a bound proportional to the sum of the
    absolute terms, which is what fp32 summation error scales with);
  - the quantization error vs the float model is what the bits allow
    (cosine >= 0.999 for 8-bit, >= 0.99 for 4-bit, >= 0.85 for mixed
    2/4-bit on Gaussian weights);
  - mixed 2/4-bit (w2w4): some blocks at 4 bits, and <= 3.0 bits per
    weight stored (weights, fp16 scales, zero points, block tables);
    a wrong scale, zero point or nibble order fails both checks.
Shapes cover a ragged N panel, a row tile remainder, a partial last group,
odd K (one value per byte), 3-D inputs (batch folded into M) and
1 vs 2 threads. On AVX-512 hosts 4-bit weights are packed 8 per 32-bit
word and looked up in a table (vpermps); the byte layout is checked too,
for an AVX2 target and for a last group too short for whole words.

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quant_checks import check, failures, make_mlp, run  # noqa: E402


def quantize(w, bits, group, symmetric):
    """Round-to-nearest-even group quantization along K (rows) in float32;
    returns the dequantized float32 matrix."""
    w = w.astype(np.float32)
    k, n = w.shape
    out = np.empty_like(w)
    for g0 in range(0, k, group):
        blk = w[g0:g0 + group]
        lo = np.minimum(blk.min(axis=0), np.float32(0))
        hi = np.maximum(blk.max(axis=0), np.float32(0))
        if symmetric:
            qhi = np.float32(2 ** (bits - 1) - 1)
            qlo = -qhi - np.float32(1)
            s = np.maximum(-lo, hi) / qhi
            s = np.where(s > 0, s, np.float32(1)).astype(np.float32)
            z = np.zeros_like(s)
        else:
            qlo, qhi = np.float32(0), np.float32(2 ** bits - 1)
            s = ((hi - lo) / qhi).astype(np.float32)
            s = np.where(s > 0, s, np.float32(1)).astype(np.float32)
            z = np.clip(np.rint(-lo / s), qlo, qhi).astype(np.float32)
        q = np.clip(np.rint(blk / s) + z, qlo, qhi)
        out[g0:g0 + group] = (q - z) * s
    return out


def quantize_mixed(w, group, tile, fraction):
    """Mixed 2/4-bit (kiln-weight-quantize bits=2 wide-fraction=F): blocks
    of one group x `tile` columns ranked by range (max - min, with 0 in
    the range), the widest `fraction` at 4 bits, the rest at 2, asymmetric,
    scales rounded to fp16; returns the dequantized matrix and the number
    of 4-bit blocks."""
    w = w.astype(np.float32)
    k, n = w.shape
    groups, tiles = -(-k // group), -(-n // tile)
    ranges = np.empty(groups * tiles, np.float32)
    for g in range(groups):
        for t in range(tiles):
            blk = w[g * group:(g + 1) * group, t * tile:(t + 1) * tile]
            ranges[g * tiles + t] = (np.maximum(blk.max(), np.float32(0)) -
                                     np.minimum(blk.min(), np.float32(0)))
    order = np.argsort(-ranges, kind="stable")
    wide = np.zeros(len(ranges), bool)
    wide[order[:int(np.floor(fraction * len(ranges) + 0.5))]] = True
    out = np.empty_like(w)
    for g in range(groups):
        rows = slice(g * group, (g + 1) * group)
        for c in range(n):
            bits = 4 if wide[g * tiles + c // tile] else 2
            col = w[rows, c]
            lo = np.minimum(col.min(), np.float32(0))
            hi = np.maximum(col.max(), np.float32(0))
            qhi = np.float32(2 ** bits - 1)
            s = np.float32(np.float16((hi - lo) / qhi))
            if not s > 0:
                s = np.float32(1)
            z = np.clip(np.rint(-lo / s), 0, qhi)
            q = np.clip(np.rint(col / s) + z, 0, qhi)
            out[rows, c] = (q - z) * s
    return out, int(wide.sum())


def forward(x, w1, b1, w2):
    x = x.astype(np.float64)
    h = np.maximum(x @ w1.astype(np.float64) + b1.astype(np.float64), 0)
    return h @ w2.astype(np.float64), h


def host_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return " avx512f" in f.read()
    except OSError:
        return False


def case(args, name, x_shape, k, hidden, n, mode, group, symmetric, packing,
         extra_flags=(), wide_fraction=0.25, first_decoded=None):
    bits = {"w8": 8, "w4": 4, "w2w4": 2}[mode]
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    onnx_path = os.path.join(work, "model.onnx")
    w1, b1, w2 = make_mlp(onnx_path, x_shape, k, hidden, n, seed=len(name))
    so = os.path.join(work, "model.so")
    flags = [f"--quantize={mode}", f"--quant-group-size={group}",
             "--quant-clipping=none", "--quant-min-weights=0"]
    if not symmetric:
        flags.append("--quant-asymmetric")
    if mode == "w2w4" and wide_fraction != 0.25:
        flags.append(f"--quant-wide-fraction={wide_fraction}")
    flags += list(extra_flags)
    report = run([args.kiln, "compile", onnx_path, "-o", so, *flags,
                  "--report", "--report-runs=0"])
    kernels = [l for l in report.splitlines() if "quantized matmul" in l]
    if first_decoded is not None and kernels:
        check(("panel decoded" in kernels[0]) == first_decoded,
              f"{name}: first layer {'' if first_decoded else 'not '}"
              f"decoded per panel: {kernels[0].strip()}")
    check(len(kernels) == 2 and all(packing in l for l in kernels),
          f"{name}: two fused quantized kernels, weights {packing}: "
          + " | ".join(l.strip() for l in kernels))

    rng = np.random.default_rng(100 + len(name))
    x = rng.standard_normal(x_shape).astype(np.float32)
    xin = os.path.join(work, "x.npy")
    np.save(xin, x)
    if mode == "w2w4" and wide_fraction == 0:
        # No 4-bit block: plain 2-bit quantization.
        q1, q2 = quantize(w1, 2, group, symmetric), quantize(w2, 2, group, symmetric)
    elif mode == "w2w4":
        (q1, wide1), (q2, wide2) = (
            quantize_mixed(w1, group, 32, wide_fraction),
            quantize_mixed(w2, group, 32, wide_fraction))
        stored = [float(l.split(" bits/weight")[0].split(", ")[-1])
                  for l in kernels]
        check(wide1 > 0 and wide2 > 0 and stored[0] <= 3.0,
              f"{name}: {wide1} + {wide2} blocks at 4 bits; stored bits per "
              f"weight {stored} (<= 3.0 for the first, unpadded layer)")
    else:
        q1, q2 = (quantize(w1, bits, group, symmetric),
                  quantize(w2, bits, group, symmetric))
    ref, h = forward(x, q1, b1, q2)
    # Magnitude bound of the summed terms, layer by layer.
    xa = np.abs(x.astype(np.float64))
    scale = (xa @ np.abs(q1) + np.abs(b1)) @ np.abs(q2) + np.abs(h) @ np.abs(q2)
    fp32, _ = forward(x, w1, b1, w2)
    for threads in (1, 2):
        out = os.path.join(work, f"out{threads}")
        run([args.kiln, "run", so, "--input", f"x={xin}", "--output-dir", out,
             "--threads", str(threads)])
        y = np.load(os.path.join(out, "y.npy")).astype(np.float64)
        if y.shape != ref.shape:
            check(False, f"{name}: output shape {y.shape} != {ref.shape}")
            continue
        err = np.abs(y - ref)
        bound = 2e-6 * scale + 1e-7
        worst = float(np.max(err / bound))
        check(worst <= 1.0,
              f"{name} ({threads} thr): vs dequantized reference, max |err| "
              f"{err.max():.2e}, {worst:.3f} of the fp32 summation bound")
    cos = float(np.dot(y.ravel(), fp32.ravel()) /
                (np.linalg.norm(y) * np.linalg.norm(fp32)))
    rel = float(np.max(np.abs(y - fp32)) / np.max(np.abs(fp32)))
    # Mixed 2/4 bits: 0.85; every weight at 2 bits (two layers): 0.8.
    need = {8: 0.999, 4: 0.99, 2: 0.85 if wide_fraction else 0.8}[bits]
    check(cos >= need, f"{name}: vs float model cosine {cos:.6f} (>= {need}), "
          f"max error / max |y| {rel:.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    # The host's 4-bit layout (the kernels target the host CPU).
    w4 = ("8 per word (table lookup)" if host_has_avx512()
          else "8 per word (mask decode)")
    # name, x shape, K, hidden, N, mode, group, symmetric, packing
    case(args, "gemv_w4", (1, 256), 256, 200, 72, "w4", 32, True, w4)
    case(args, "gemm_w4_asym", (5, 192), 192, 96, 40, "w4", 64, False, w4)
    case(args, "batch3d_w4", (2, 3, 64), 64, 128, 64, "w4", 32, True, w4)
    # Words read by masks on an AVX2 target (asymmetric: stored zero points);
    # bytes on a 128-bit one, and for last groups of 4 k (not a whole word).
    case(args, "gemv_w4_avx2", (1, 256), 256, 96, 40, "w4", 32, False,
         "8 per word (mask decode)", ["--target-features=-avx512f"])
    # Symmetric on AVX2 (zero point half the range) with 4-row tiles and
    # a ragged last one; runs on AVX-512 hosts too.
    case(args, "gemm_w4_avx2_sym", (5, 192), 192, 96, 40, "w4", 32, True,
         "8 per word (mask decode)", ["--target-features=-avx512f"])
    case(args, "gemv_w4_sse", (1, 256), 256, 96, 40, "w4", 32, False,
         "2 per byte", ["--target-features=-avx"])
    case(args, "w4_short_group", (2, 100), 100, 68, 24, "w4", 32, True,
         "2 per byte")
    case(args, "w8_partial_group", (3, 300), 300, 64, 50, "w8", 128, True,
         "1 per byte")
    case(args, "w8_asym", (2, 128), 128, 48, 33, "w8", 32, False, "1 per byte")
    case(args, "w4_odd_k", (4, 99), 99, 41, 17, "w4", 32, True, "1 per byte")
    case(args, "w2w4", (3, 256), 256, 256, 40, "w2w4", 64, False,
         "4 or 2 bits per block (mixed)")
    # Every block at 2 bits: one width, 16 per word (masked on AVX2).
    w2 = ("16 per word (table lookup)" if host_has_avx512()
          else "16 per word (mask decode)")
    case(args, "w2_uniform", (2, 256), 256, 128, 40, "w2w4", 64, False, w2,
         wide_fraction=0.0)
    case(args, "w2_uniform_avx2", (2, 256), 256, 128, 40, "w2w4", 64, False,
         "16 per word (mask decode)", ["--target-features=-avx512f"],
         wide_fraction=0.0)
    # Many rows: panels decoded once per K block (K 600: blocks of 256, 256
    # and 88, the last group short), tiles of 6 or 8 rows and a ragged one.
    case(args, "prefill_w4_asym", (37, 600), 600, 96, 40, "w4", 32, False, w4)
    case(args, "prefill_w4_avx2", (2, 19, 600), 600, 96, 40, "w4", 32,
         True, "8 per word (mask decode)", ["--target-features=-avx512f"])
    case(args, "prefill_w4_sse", (21, 600), 600, 96, 40, "w4", 32, True,
         "2 per byte", ["--target-features=-avx"])
    case(args, "prefill_w8", (24, 300), 300, 64, 50, "w8", 128, False,
         "1 per byte")
    # A group of 4096 k: too long for a decoded block (over 128 KiB of
    # stack), so the first layer keeps the in-register kernel at 16 rows.
    case(args, "long_group_w8", (16, 4096), 4096, 40, 24, "w8", 4096, True,
         "1 per byte", first_decoded=False)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

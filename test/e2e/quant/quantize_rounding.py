#!/usr/bin/env python3
"""round(x / c) exactly as the IEEE division rounds it, through kiln.

QuantizeLinear and Round(Div(x, c)) divide by a constant and round half to
even. A compiler may be tempted to multiply by 1 / c instead (kiln tried a
multiply with two FMA corrections, which is exact, and measured it 12%
slower on MobileNetV2 QDQ on Zen 3: the divider runs beside the integer
work, the FMAs compete with it). This checks the compiled model against
numpy's float32 division and round-half-even, bit for bit, on inputs
chosen to break a sloppy reciprocal (a plain x * (1 / c) gets 0.2-15% of
the Round(Div) outputs wrong here): exact ties (k + 1/2) * c and their
neighbours a few ulps away, values over twelve decades, zeros, huge values
and infinities.

usage: quantize_rounding.py --kiln PATH --work DIR
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quant_checks import check, exit_status, run  # noqa: E402

# Divisors: not powers of two, one with an all-ones-like significand
# (1/3), tiny and large.
DIVISORS = [np.float32(0.02), np.float32(3.0), np.float32(1.0 / 3.0),
            np.float32(7.1e-5), np.float32(12345.678), np.float32(0.0173)]
SCALE, ZERO_POINT = np.float32(0.0173), 128  # the QuantizeLinear outputs


def inputs(rng):
    parts = [rng.standard_normal(200_000) * 10.0 ** rng.uniform(-6, 6, 200_000)]
    for c in DIVISORS:
        # Large quotients, and every tie a QuantizeLinear to 8 bits meets.
        k = np.concatenate([rng.integers(-2 ** 20, 2 ** 20, 40_000),
                            np.arange(-300, 300)])
        ties = ((k + 0.5) * np.float64(c)).astype(np.float32)
        for steps in range(-2, 3):
            t = ties
            for _ in range(abs(steps)):
                t = np.nextafter(t, np.float32(np.inf if steps > 0 else -np.inf))
            parts.append(t)
    parts.append(np.array([0.0, -0.0, 1e-38, -1e-38, 1e-45, 3e38, -3e38,
                           3.4028235e38, np.inf, -np.inf]))
    return np.concatenate(parts).astype(np.float32)


def build(path, n):
    nodes, outputs, inits = [], [], []
    for i, c in enumerate(DIVISORS):
        inits.append(numpy_helper.from_array(np.array(c), f"c{i}"))
        nodes += [helper.make_node("Div", ["x", f"c{i}"], [f"q{i}"]),
                  helper.make_node("Round", [f"q{i}"], [f"round{i}"])]
        outputs.append(helper.make_tensor_value_info(f"round{i}",
                                                     TensorProto.FLOAT, [n]))
    inits += [numpy_helper.from_array(np.array(SCALE), "s"),
              numpy_helper.from_array(np.array(ZERO_POINT, np.uint8), "zp")]
    nodes.append(helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["u8"]))
    outputs.append(helper.make_tensor_value_info("u8", TensorProto.UINT8, [n]))
    graph = helper.make_graph(
        nodes, "quantize_rounding",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
        outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17)]), path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    x = inputs(np.random.default_rng(0))
    np.save(os.path.join(a.work, "x.npy"), x)
    model = os.path.join(a.work, "rounding.onnx")
    build(model, x.size)
    so = os.path.join(a.work, "rounding.so")
    run([a.kiln, "compile", model, "-o", so])
    out = os.path.join(a.work, "out")
    run([a.kiln, "run", so, "--input", "x=" + os.path.join(a.work, "x.npy"),
         "--output-dir", out])
    with np.errstate(over="ignore"):
        for i, c in enumerate(DIVISORS):
            want = np.rint(x / c)
            got = np.load(os.path.join(out, f"round{i}.npy"))
            bad = np.flatnonzero(~((got == want) | (np.isnan(got) & np.isnan(want))))
            first = (f" (first at x = {x[bad[0]]!r}: {got[bad[0]]!r} vs "
                     f"{want[bad[0]]!r})" if bad.size else "")
            check(bad.size == 0, f"round(x / {c!r}): {bad.size} of {x.size} "
                  f"differ from the division{first}")
        want = np.clip(np.rint(x / SCALE) + ZERO_POINT, 0, 255).astype(np.uint8)
        got = np.load(os.path.join(out, "u8.npy"))
        check(np.array_equal(got, want),
              f"QuantizeLinear(x, {SCALE!r}, {ZERO_POINT}): "
              f"{int(np.sum(got != want))} of {x.size} differ")
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

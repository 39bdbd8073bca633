#!/usr/bin/env python3
"""Checks kiln's 8- and 4-bit float conversions against ml_dtypes (what
ONNX's reference implementation uses), bit for bit.

usage: check_small_floats.py --kiln PATH/TO/kiln --work DIR

For each of float8e4m3fn, float8e5m2, float8e4m3fnuz, float8e5m2fnuz and
float4e2m1, and for Cast's saturate = 1 and 0, compiles
    x (f32) -> Cast(to=T, saturate) -> Cast(to=f32) -> y
and feeds it every finite value of T, the midpoints between neighbours (ties
to even), their f32 neighbours, values just past the largest finite one,
infinities, NaN, signed zeros, f32 subnormals and random values. Expected:
ml_dtypes' conversion, after np.clip to the finite range when saturating
(as onnx.numpy_helper.saturate_cast does). Also checks int4/uint4/int2/uint2
casts: truncation toward zero (ml_dtypes) in range, wrap-around modulo 2^bits
out of range, where ONNX leaves the result undefined.
Exit status 0 when everything matches.
"""

import argparse
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper

FLOATS = {
    "float8e4m3fn": (T.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn),
    "float8e5m2": (T.FLOAT8E5M2, ml_dtypes.float8_e5m2),
    "float8e4m3fnuz": (T.FLOAT8E4M3FNUZ, ml_dtypes.float8_e4m3fnuz),
    "float8e5m2fnuz": (T.FLOAT8E5M2FNUZ, ml_dtypes.float8_e5m2fnuz),
    "float4e2m1": (T.FLOAT4E2M1, ml_dtypes.float4_e2m1fn),
}
INTS = {
    "int4": (T.INT4, ml_dtypes.int4),
    "uint4": (T.UINT4, ml_dtypes.uint4),
    "int2": (T.INT2, ml_dtypes.int2),
    "uint2": (T.UINT2, ml_dtypes.uint2),
}


def roundtrip_model(onnx_type, n, saturate):
    cast = helper.make_node("Cast", ["x"], ["t"], to=onnx_type)
    if saturate is not None:
        cast.attribute.append(helper.make_attribute("saturate", saturate))
    nodes = [cast, helper.make_node("Cast", ["t"], ["y"], to=T.FLOAT)]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", T.FLOAT, [n])],
        [helper.make_tensor_value_info("y", T.FLOAT, [n])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    return m


def float_inputs(np_type):
    bits = 4 if np_type == ml_dtypes.float4_e2m1fn else 8
    codes = np.arange(2**bits, dtype=np.uint8)
    if bits == 4:
        values = np.array([float(ml_dtypes.float4_e2m1fn(v)) for v in
                           [0, .5, 1, 1.5, 2, 3, 4, 6]], np.float32)
        values = np.concatenate([values, -values])
    else:
        values = codes.view(np_type).astype(np.float32)
    finite = np.unique(values[np.isfinite(values)])
    mids = (finite[1:] + finite[:-1]) / 2
    largest = float(ml_dtypes.finfo(np_type).max)
    rng = np.random.RandomState(0)
    extra = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, -1e-45, 1e-30, 3e38,
             -3e38, largest * 1.0625, -largest * 1.0625, largest * 1.03,
             largest * 1.2, largest * 4]
    return np.concatenate([
        finite, mids, np.nextafter(mids, np.float32(np.inf)),
        np.nextafter(mids, np.float32(-np.inf)), finite * np.float32(1.0001),
        np.array(extra, np.float32), rng.randn(300) * largest / 4,
        rng.randn(300)]).astype(np.float32)


def run(kiln, work, name, model, x):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "m.onnx"))
    np.save(os.path.join(d, "x.npy"), x)
    for cmd in ([kiln, "compile", os.path.join(d, "m.onnx"), "-o",
                 os.path.join(d, "m.so")],
                [kiln, "run", os.path.join(d, "m.so"), "--input",
                 "x=" + os.path.join(d, "x.npy"), "--output-dir",
                 os.path.join(d, "out")]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{name}: {' '.join(cmd)} failed:\n{p.stderr}")
    return np.load(os.path.join(d, "out", "y.npy"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    failures = 0
    for name, (onnx_type, np_type) in FLOATS.items():
        x = float_inputs(np_type)
        info = ml_dtypes.finfo(np_type)
        for saturate in (1, 0):
            y = run(args.kiln, args.work, f"{name}_sat{saturate}",
                    roundtrip_model(onnx_type, len(x), saturate), x)
            src = np.clip(x, float(info.min), float(info.max)) \
                if saturate and np_type != ml_dtypes.float4_e2m1fn else x
            want = src.astype(np_type).astype(np.float32)
            same = (y.view(np.uint32) == want.view(np.uint32)) | \
                (np.isnan(y) & np.isnan(want))
            bad = np.nonzero(~same)[0]
            status = "ok" if not len(bad) else f"{len(bad)} MISMATCHES"
            print(f"{name} saturate={saturate}: {len(x)} values {status}")
            for i in bad[:5]:
                print(f"  x={x[i]!r}: kiln {y[i]!r}, ml_dtypes {want[i]!r}")
            failures += len(bad) > 0
    x = np.concatenate([np.arange(-40, 40, 0.25), [1e6, -1e6, 0.999, -0.999]]
                       ).astype(np.float32)
    for name, (onnx_type, np_type) in INTS.items():
        y = run(args.kiln, args.work, name,
                roundtrip_model(onnx_type, len(x), None), x)
        info = ml_dtypes.iinfo(np_type)
        in_range = (x > info.min - 1) & (x < info.max + 1)
        # In range the cast is defined (truncation toward zero): ml_dtypes is
        # the reference. Out of range it is not (ml_dtypes 0.5 wraps, 0.7
        # gives 0, ONNX Runtime rounds then wraps); kiln keeps C's narrowing
        # of the truncated integer, i.e. wrap-around modulo 2^bits.
        span = int(info.max) - int(info.min) + 1
        wrapped = (x.astype(np.int64) - info.min) % span + info.min
        want = np.where(in_range, x, 0).astype(np_type).astype(np.float32)
        want = np.where(in_range, want, wrapped.astype(np.float32))
        bad = np.nonzero(y != want)[0]
        print(f"{name}: {len(x)} values "
              f"{'ok' if not len(bad) else f'{len(bad)} MISMATCHES'}")
        for i in bad[:5]:
            print(f"  x={x[i]!r}: kiln {y[i]!r}, ml_dtypes {want[i]!r}")
        failures += len(bad) > 0
    print("RESULT:", "PASS" if not failures else "FAIL")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

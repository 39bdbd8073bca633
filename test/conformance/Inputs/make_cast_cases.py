"""Writes float -> INT4 / UINT2 Cast cases for test/conformance/undefined_casts.test.

Usage: make_cast_cases.py OUT_DIR

ONNX leaves a float cast to fixed point undefined out of range, so the
expected values written for out-of-range inputs here are arbitrary (neither
a wrap-around nor 0): the runner must not compare them. One case per
target type expects the right in-range values; `..._wrong` also expects a
wrong in-range value, which the runner must catch.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_cases import model  # noqa: E402


def write(out, name, to, lo, hi, wrong):
    x = np.arange(-9, 16, dtype=np.float32)
    y = [int(v) if lo <= v <= hi else (lo + hi) // 2 for v in x]
    if wrong:
        y[int(np.where(x == 1)[0][0])] = 0
    m = model([helper.make_node("Cast", ["x"], ["y"], to=to)],
              [("x", TensorProto.FLOAT, [len(x)])], [("y", to, [len(x)])],
              opset=21)
    m.ir_version = 10
    d = os.path.join(out, name, "test_data_set_0")
    os.makedirs(d)
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(helper.make_tensor("x", TensorProto.FLOAT, [len(x)], x.tolist()).SerializeToString())
    with open(os.path.join(d, "output_0.pb"), "wb") as f:
        f.write(helper.make_tensor("y", to, [len(x)], y).SerializeToString())
    with open(os.path.join(out, name, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())


out = sys.argv[1]
for wrong in (False, True):
    suffix = "_wrong" if wrong else ""
    write(out, "test_cast_FLOAT_to_INT4" + suffix, TensorProto.INT4, -8, 7, wrong)
    write(out, "test_cast_FLOAT_to_UINT2" + suffix, TensorProto.UINT2, 0, 3, wrong)

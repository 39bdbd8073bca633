"""Writes small ONNX backend-style test cases for test/conformance/runner.test.

Usage: make_cases.py OUT_DIR
       make_cases.py OUT_DIR --derived   (only the derived-constant case)

Each case is OUT_DIR/<name>/model.onnx + test_data_set_<N>/{input,output}_<i>.pb,
the layout of the ONNX backend node tests. One case per outcome that
`kiln conformance` tells apart.
"""
import json
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def model(nodes, inputs, outputs, opset=17):
    g = helper.make_graph(nodes, "g",
                          [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                          [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def write(out, name, m, data_sets, tolerance=None):
    d = os.path.join(out, name)
    os.makedirs(d)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    if tolerance:
        with open(os.path.join(d, "data.json"), "w") as f:
            json.dump(tolerance, f)
    for k, (ins, outs) in enumerate(data_sets):
        ds = os.path.join(d, f"test_data_set_{k}")
        os.makedirs(ds)
        for prefix, values, infos in (("input", ins, m.graph.input),
                                      ("output", outs, m.graph.output)):
            for j, v in enumerate(values):
                with open(os.path.join(ds, f"{prefix}_{j}.pb"), "wb") as f:
                    f.write(numpy_helper.from_array(v, infos[j].name).SerializeToString())


def derived(out):
    """The Reshape target is computed from a graph input (shape + 1): kiln
    names that input, and the runner binds it."""
    os.makedirs(out, exist_ok=True)
    x0 = np.arange(6, dtype=np.float32).reshape(2, 3)
    m = model([helper.make_node("Constant", [], ["one"],
                                value=numpy_helper.from_array(np.array(1, np.int64))),
               helper.make_node("Add", ["shape", "one"], ["target"]),
               helper.make_node("Reshape", ["x", "target"], ["y"])],
              [("x", F, [2, 3]), ("shape", I64, [2])], [("y", F, [3, 2])])
    write(out, "test_reshape_derived_shape", m,
          [([x0, np.array([2, 1], np.int64)], [x0.reshape(3, 2)])])


def main(out):
    os.makedirs(out, exist_ok=True)
    relu = model([helper.make_node("Relu", ["x"], ["y"])],
                 [("x", F, [2, 3])], [("y", F, [2, 3])])
    x0 = np.array([[-1, 2, -3], [4, -5, 6]], np.float32)
    x1 = np.array([[7, -8, 9], [-1, 0, 1]], np.float32)
    relu_sets = [([x0], [np.maximum(x0, 0)]), ([x1], [np.maximum(x1, 0)])]
    write(out, "test_relu_pass", relu, relu_sets)
    wrong = np.maximum(x0, 0)
    wrong[1, 2] = 7
    write(out, "test_relu_wrong", relu, [([x0], [wrong])])
    # Off by 1e-5 relative: inside the suite's rtol 1e-3, outside 1e-7.
    close = np.maximum(x0, 0) * np.float32(1 + 1e-5)
    write(out, "test_relu_close", relu, [([x0], [close])])
    write(out, "test_relu_tight", relu, [([x0], [close])],
          tolerance={"rtol": 1e-7, "atol": 0})
    write(out, "test_crash", relu, relu_sets)
    write(out, "test_hang", relu, relu_sets)
    write(out, "test_no_data", relu, [])

    add = model([helper.make_node("Add", ["a", "b"], ["c"])],
                [("a", I64, [3]), ("b", I64, [3])], [("c", I64, [3])])
    a, b = np.array([1, -2, 1 << 40], np.int64), np.array([5, 6, 7], np.int64)
    write(out, "test_add_int64", add, [([a, b], [a + b])])

    addu = model([helper.make_node("Add", ["a", "b"], ["c"])],
                 [("a", TensorProto.UINT32, [2]), ("b", TensorProto.UINT32, [2])],
                 [("c", TensorProto.UINT32, [2])], opset=14)
    a, b = np.array([1, 0xFFFFFFF0], np.uint32), np.array([2, 3], np.uint32)
    write(out, "test_add_uint32", addu, [([a, b], [a + b])])

    div = model([helper.make_node("Div", ["a", "b"], ["c"])],
                [("a", F, [3]), ("b", F, [3])], [("c", F, [3])])
    a, b = np.array([0, 1, -1], np.float32), np.array([0, 0, 4], np.float32)
    with np.errstate(all="ignore"):
        write(out, "test_div_nan_inf", div, [([a, b], [a / b])])

    less = model([helper.make_node("Less", ["a", "b"], ["c"])],
                 [("a", F, [4]), ("b", F, [4])], [("c", B, [4])])
    a, b = np.array([1, 2, 3, 4], np.float32), np.array([4, 3, 2, 1], np.float32)
    write(out, "test_less_bool", less, [([a, b], [a < b])])

    foo = model([helper.make_node("FooBar", ["x"], ["h"]),
                 helper.make_node("Relu", ["h"], ["k"]),
                 helper.make_node("BazQux", ["k"], ["y"], name="baz")],
                [("x", F, [2, 3])], [("y", F, [2, 3])])
    write(out, "test_unsupported", foo, [([x0], [x0])])

    bad = model([helper.make_node("Add", ["a", "b"], ["c"])],
                [("a", F, [2, 3]), ("b", F, [4])], [("c", F, [2, 3])])
    write(out, "test_bad_broadcast", bad,
          [([np.zeros([2, 3], np.float32), np.zeros([4], np.float32)],
            [np.zeros([2, 3], np.float32)])])

    # The shape is a graph input: kiln needs it at compile time.
    reshape = model([helper.make_node("Reshape", ["x", "shape"], ["y"])],
                    [("x", F, [2, 3]), ("shape", I64, [2])], [("y", F, [3, 2])])
    write(out, "test_reshape_shape_input", reshape,
          [([x0, np.array([3, 2], np.int64)], [x0.reshape(3, 2)])])

    dropout = model([helper.make_node("Dropout", ["x", "r", "t"], ["y"])],
                    [("x", F, [2, 3]), ("r", F, []), ("t", B, [])],
                    [("y", F, [2, 3])], opset=13)
    write(out, "test_training_dropout", dropout,
          [([x0, np.array(0.5, np.float32), np.array(True)], [x0])])


if __name__ == "__main__":
    if sys.argv[2:] == ["--derived"]:
        derived(sys.argv[1])
    else:
        main(sys.argv[1])

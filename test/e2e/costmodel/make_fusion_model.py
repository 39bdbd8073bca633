#!/usr/bin/env python3
"""Writes a model whose elementwise fusions recompute work: a LayerNorm as
opset-11 exporters decompose it, then a GELU (erf form) and a residual add.

  d = x - ReduceMean(x)          d has two all-parallel users (Pow, Div):
  v = ReduceMean(d ^ 2)          recomputing x - mean in each saves d's
  s = Sqrt(v + eps)              write and two reads of it
  y = d / s * g + b              s [rows, 1] is broadcast over the row: its
  h = y * 0.5 * (1 + Erf(y / sqrt 2)) + x   sqrt would run once per element

usage: make_fusion_model.py OUT.onnx [ROWS] [WIDTH]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(rows, width):
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.uniform(0.5, 1.5, width).astype(np.float32), "g"),
        numpy_helper.from_array(rng.normal(0, 0.1, width).astype(np.float32), "b"),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array(1e-5, np.float32), "eps"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
        numpy_helper.from_array(np.array(np.sqrt(2.0), np.float32), "sqrt2"),
    ]
    n = helper.make_node
    nodes = [
        n("ReduceMean", ["x"], ["mean"], name="ln/mean", axes=[-1]),
        n("Sub", ["x", "mean"], ["d"], name="ln/sub"),
        n("Pow", ["d", "two"], ["sq"], name="ln/pow"),
        n("ReduceMean", ["sq"], ["var"], name="ln/var", axes=[-1]),
        n("Add", ["var", "eps"], ["ve"], name="ln/add_eps"),
        n("Sqrt", ["ve"], ["s"], name="ln/sqrt"),
        n("Div", ["d", "s"], ["norm"], name="ln/div"),
        n("Mul", ["norm", "g"], ["scaled"], name="ln/mul"),
        n("Add", ["scaled", "b"], ["y"], name="ln/add"),
        n("Div", ["y", "sqrt2"], ["ys"], name="gelu/div"),
        n("Erf", ["ys"], ["e"], name="gelu/erf"),
        n("Add", ["e", "one"], ["e1"], name="gelu/add"),
        n("Mul", ["y", "e1"], ["ye"], name="gelu/mul"),
        n("Mul", ["ye", "half"], ["gelu"], name="gelu/half"),
        n("Add", ["gelu", "x"], ["h"], name="residual"),
    ]
    graph = helper.make_graph(
        nodes, "fusion",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, width])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, [rows, width])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


if __name__ == "__main__":
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 768
    onnx.save(build(rows, width), sys.argv[1])

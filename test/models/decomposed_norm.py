#!/usr/bin/env python3
"""LayerNorm as exporters before opset 17 write it (ReduceMean, Sub, Pow,
ReduceMean, Add, Sqrt, Div, Mul, Add): the elementwise fusions it offers
recompute work, so kiln's cost model decides them (issue 4).

  d = x - ReduceMean(x)          d has two all-parallel users (Pow, Div):
  v = ReduceMean(d ^ 2)          recomputing x - mean in each saves d's
  s = Sqrt(v + eps)              write and two reads of it
  y = d / s * g + b              s [rows, 1] is broadcast over the row: its
                                 root would run once per element

block(rows, width): that LayerNorm, then a GELU (erf form) and a residual
add. decompose_layer_norms(model): every LayerNormalization over the last
axis of `model` rewritten so (BERT or GPT-2 as an opset-11 export).

usage: decomposed_norm.py OUT.onnx [ROWS] [WIDTH]   (writes block())
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _scalar(name, value):
    return numpy_helper.from_array(np.array(value, np.float32), name)


def _layer_norm_nodes(x, g, b, y, eps_name, two_name, prefix):
    n = helper.make_node
    return [
        n("ReduceMean", [x], [f"{prefix}/mean"], name=f"{prefix}/mean", axes=[-1]),
        n("Sub", [x, f"{prefix}/mean"], [f"{prefix}/d"], name=f"{prefix}/sub"),
        n("Pow", [f"{prefix}/d", two_name], [f"{prefix}/sq"], name=f"{prefix}/pow"),
        n("ReduceMean", [f"{prefix}/sq"], [f"{prefix}/var"], name=f"{prefix}/var", axes=[-1]),
        n("Add", [f"{prefix}/var", eps_name], [f"{prefix}/ve"], name=f"{prefix}/add_eps"),
        n("Sqrt", [f"{prefix}/ve"], [f"{prefix}/s"], name=f"{prefix}/sqrt"),
        n("Div", [f"{prefix}/d", f"{prefix}/s"], [f"{prefix}/norm"], name=f"{prefix}/div"),
        n("Mul", [f"{prefix}/norm", g], [f"{prefix}/scaled"], name=f"{prefix}/mul"),
        n("Add", [f"{prefix}/scaled", b], [y], name=f"{prefix}/add"),
    ]


def block(rows=128, width=768):
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.uniform(0.5, 1.5, width).astype(np.float32), "g"),
        numpy_helper.from_array(rng.normal(0, 0.1, width).astype(np.float32), "b"),
        _scalar("two", 2.0), _scalar("eps", 1e-5), _scalar("half", 0.5),
        _scalar("one", 1.0), _scalar("sqrt2", np.sqrt(2.0)),
    ]
    n = helper.make_node
    nodes = _layer_norm_nodes("x", "g", "b", "y", "eps", "two", "ln") + [
        n("Div", ["y", "sqrt2"], ["ys"], name="gelu/div"),
        n("Erf", ["ys"], ["e"], name="gelu/erf"),
        n("Add", ["e", "one"], ["e1"], name="gelu/add"),
        n("Mul", ["y", "e1"], ["ye"], name="gelu/mul"),
        n("Mul", ["ye", "half"], ["gelu"], name="gelu/half"),
        n("Add", ["gelu", "x"], ["h"], name="residual"),
    ]
    graph = helper.make_graph(
        nodes, "decomposed_norm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, width])],
        [helper.make_tensor_value_info("h", TensorProto.FLOAT, [rows, width])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def decompose_layer_norms(model):
    """`model` with each LayerNormalization over the last axis written out
    in ReduceMean/Sub/Pow/Sqrt/Div (ReduceMean's axes as an attribute, as
    before opset 18)."""
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if opset >= 18:
        raise ValueError("decompose_layer_norms: ReduceMean takes axes as an input from opset 18")
    graph = model.graph
    nodes = []
    count = 0
    for node in graph.node:
        axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
        if (node.op_type != "LayerNormalization" or axis != -1
                or len(node.input) != 3 or len(node.output) != 1):
            nodes.append(node)
            continue
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        prefix = f"{node.name or 'LayerNormalization'}_{count}"
        graph.initializer.extend([_scalar(f"{prefix}/eps_value", eps),
                                  _scalar(f"{prefix}/two", 2.0)])
        nodes.extend(_layer_norm_nodes(node.input[0], node.input[1], node.input[2],
                                       node.output[0], f"{prefix}/eps_value",
                                       f"{prefix}/two", prefix))
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return model


if __name__ == "__main__":
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 768
    onnx.save(block(rows, width), sys.argv[1])

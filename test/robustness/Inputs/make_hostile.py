#!/usr/bin/env python3
"""Hostile ONNX models for test/robustness/*.test.

usage: make_hostile.py names OUT.onnx SANDBOX
         every name (graph, nodes, values, initializer, producer, doc) is a
         relative or absolute path that would escape the output folder if a
         tool used it as a file name; absolute ones point into SANDBOX.
       make_hostile.py external OUT_DIR SANDBOX
         OUT_DIR/{dotdot,absolute,symlink,dirlink}.onnx: models whose
         initializer's external data lies outside OUT_DIR (through "..", an
         absolute path, a symlinked file, a symlinked folder); the data file
         (SANDBOX/secret.bin) exists, so only the path check can refuse it.
         Also OUT_DIR/inside.onnx, whose data lies in OUT_DIR/sub/ (allowed).
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(graph, path, producer="kiln-robustness-tests"):
    m = helper.make_model(graph, producer_name=producer,
                          opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)


def names(out, sandbox):
    x = "../../in/../x"
    w = "../../../w.bin"
    h = os.path.join(sandbox, "abs", "escape.h")
    y = "../y/../../escape.npy"
    nodes = [
        helper.make_node("Add", [x, w], [h], name="../../node.o"),
        helper.make_node("Relu", [h], [y], name=os.path.join(sandbox, "abs", "relu.o")),
    ]
    graph = helper.make_graph(
        nodes, "../../../graph", [helper.make_tensor_value_info(x, TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [4])],
        initializer=[numpy_helper.from_array(np.array([-1, 0, 1, 2], np.float32), w)])
    graph.doc_string = "../../doc.txt"
    save(graph, out, producer="../../producer")


def model_with_external(path, location):
    w = numpy_helper.from_array(np.zeros([4], np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    e = w.external_data.add()
    e.key, e.value = "location", location
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], initializer=[w])
    save(graph, path)


def external(out_dir, sandbox):
    os.makedirs(out_dir, exist_ok=True)
    secret = os.path.join(sandbox, "secret.bin")
    with open(secret, "wb") as f:
        f.write(np.arange(4, dtype=np.float32).tobytes())
    model_with_external(os.path.join(out_dir, "dotdot.onnx"),
                        os.path.relpath(secret, out_dir))
    model_with_external(os.path.join(out_dir, "absolute.onnx"), secret)
    link = os.path.join(out_dir, "link.bin")
    if not os.path.lexists(link):
        os.symlink(secret, link)
    model_with_external(os.path.join(out_dir, "symlink.onnx"), "link.bin")
    dirlink = os.path.join(out_dir, "dirlink")
    if not os.path.lexists(dirlink):
        os.symlink(sandbox, dirlink)
    model_with_external(os.path.join(out_dir, "dirlink.onnx"), "dirlink/secret.bin")
    os.makedirs(os.path.join(out_dir, "sub"), exist_ok=True)
    with open(os.path.join(out_dir, "sub", "w.bin"), "wb") as f:
        f.write(np.arange(4, dtype=np.float32).tobytes())
    model_with_external(os.path.join(out_dir, "inside.onnx"), "sub/w.bin")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("names", "external"):
        sys.exit(__doc__)
    {"names": names, "external": external}[sys.argv[1]](sys.argv[2], sys.argv[3])

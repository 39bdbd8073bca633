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
       make_hostile.py dims OUT_DIR
         OUT_DIR/<case>.onnx with absurd sizes and mismatched types: neg,
         overflow (2^80 elements), huge_input (2^42), huge_init (an
         initializer claiming 2^41 elements with 16 bytes of data), dtype
         (Add of float and int64), expand (Expand to 2^60 elements),
         constant_of_shape (ConstantOfShape of 2^42 elements).
       make_hostile.py zero OUT_DIR
         OUT_DIR/zero.onnx: zero-sized tensors, which ONNX allows and kiln
         computes (x [0,4] -> Relu -> r [0,4]; ReduceSum over the empty
         axis -> s [4] of zeros; Concat of r and w [2,4] -> c [2,4]), with
         OUT_DIR/x.npy and ONNX Runtime's outputs OUT_DIR/ref_<name>.npy.
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


def relu(path, dims):
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    save(graph, path)


def dims(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    p = lambda name: os.path.join(out_dir, name + ".onnx")
    relu(p("neg"), [-3, 4])
    relu(p("overflow"), [1 << 40, 1 << 40])
    relu(p("huge_input"), [1 << 21, 1 << 21])
    w = TensorProto()
    w.name, w.data_type = "w", TensorProto.FLOAT
    w.dims.extend([1 << 20, 1 << 21])
    w.raw_data = bytes(16)
    save(helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], initializer=[w]),
        p("huge_init"))
    save(helper.make_graph(
        [helper.make_node("Add", ["x", "z"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4]),
         helper.make_tensor_value_info("z", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])]), p("dtype"))
    save(helper.make_graph(
        [helper.make_node("Expand", ["x", "s"], ["y"], name="expand")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([1 << 30, 1 << 30], np.int64), "s")]),
        p("expand"))
    save(helper.make_graph(
        [helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos")], "g", [],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.array([1 << 20, 1 << 20, 4], np.int64), "s")]),
        p("constant_of_shape"))


def zero(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    w = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(2, 4) - 3, "w")
    axes = numpy_helper.from_array(np.array([0], np.int64), "axes")
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("ReduceSum", ["r", "axes"], ["s"], name="sum", keepdims=0),
         helper.make_node("Concat", ["r", "w"], ["c"], name="concat", axis=0)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [0, 4])],
        [helper.make_tensor_value_info("r", TensorProto.FLOAT, [0, 4]),
         helper.make_tensor_value_info("s", TensorProto.FLOAT, [4]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 4])],
        initializer=[w, axes])
    path = os.path.join(out_dir, "zero.onnx")
    save(graph, path)
    x = np.zeros([0, 4], np.float32)
    np.save(os.path.join(out_dir, "x.npy"), x)
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for out, value in zip(session.get_outputs(), session.run(None, {"x": x})):
        np.save(os.path.join(out_dir, "ref_" + out.name + ".npy"), value)


if __name__ == "__main__":
    modes = {"names": (names, 4), "external": (external, 4), "dims": (dims, 3),
             "zero": (zero, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in modes or len(sys.argv) != modes[sys.argv[1]][1]:
        sys.exit(__doc__)
    modes[sys.argv[1]][0](*sys.argv[2:])

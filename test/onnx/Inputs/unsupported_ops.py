"""Writes a model with several unsupported ops for `kiln inspect`:
FooBar twice, a Loop whose body holds another unknown op, and an
ai.onnx.ml op, around supported ones (Relu, Add).

Usage: unsupported_ops.py OUT.onnx
"""
import sys

from onnx import TensorProto, helper


def main(out):
    f = TensorProto.FLOAT
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
         helper.make_node("BazQux", ["v_in"], ["v_out"], name="baz_in_body")],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", f, [2, 4])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", f, [2, 4])])
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="relu"),
        helper.make_node("FooBar", ["a"], ["b"], name="foo_first"),
        helper.make_node("FooBar", ["b"], ["c"], name="foo_second"),
        helper.make_node("Loop", ["n", "cond", "c"], ["d"], name="the_loop",
                         body=body),
        helper.make_node("LabelEncoder", ["d"], ["e"], name="encode",
                         domain="ai.onnx.ml"),
        helper.make_node("Add", ["e", "x"], ["y"], name="add"),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", f, [2, 4]),
         helper.make_tensor_value_info("n", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", f, [2, 4])])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17),
                              helper.make_opsetid("ai.onnx.ml", 3)])
    model.ir_version = 8
    with open(out, "wb") as fh:
        fh.write(model.SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1])

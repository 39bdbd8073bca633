#!/usr/bin/env python3
"""Small ONNX models for the importer's lit tests (test/onnx/*.test).

usage: gen.py NAME OUT.onnx
       gen.py --list

Each model exercises one importer feature. Deterministic. Models with
external data also write files next to OUT.onnx (OUT.onnx.data, ...).
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODELS = {}


def model(name):
    def register(fn):
        MODELS[name] = fn
        return fn
    return register


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def make(nodes, inputs, outputs, inits=(), opset=17, name="g"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, producer_name="kiln-onnx-tests",
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 17 else 9
    return m


def node(op, ins, outs, name=None, **attrs):
    return helper.make_node(op, ins, outs, name=name or outs[0], **attrs)


def const(name, array):
    """A Constant node producing `name`."""
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(np.asarray(array), name))


def i64(*v):
    return np.array(v, dtype=np.int64)


def arange(shape, dtype=np.float32, scale=0.01):
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64) * scale).reshape(shape).astype(dtype)


def external(tensor, out_path, data_name, offset_pad=0, length=None, blob=None):
    """Moves `tensor`'s raw data to `data_name` next to the model, appending
    at a 64-byte aligned offset (after `offset_pad` extra bytes)."""
    raw = tensor.raw_data
    path = os.path.join(os.path.dirname(os.path.abspath(out_path)), data_name)
    if blob is None:
        blob = bytearray()
        if os.path.exists(path):
            blob = bytearray(open(path, "rb").read())
    blob += b"\0" * ((-len(blob)) % 64 + offset_pad)
    offset = len(blob)
    blob += raw
    with open(path, "wb") as f:
        f.write(blob)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for k, v in (("location", data_name), ("offset", str(offset)),
                 ("length", str(len(raw) if length is None else length))):
        e = tensor.external_data.add()
        e.key, e.value = k, v
    return tensor


# -- initializers ---------------------------------------------------------------


@model("initializers")
def m_initializers(out):
    """Every storage form; the output depends on all of them."""
    x = vi("x", TensorProto.FLOAT, [2, 8])
    inits = []
    inits.append(numpy_helper.from_array(arange([8, 8]), "w_raw"))            # raw_data, 64
    inits.append(numpy_helper.from_array(arange([80], scale=0.5), "big_raw"))  # raw_data, 80
    inits.append(helper.make_tensor("b_float", TensorProto.FLOAT, [8],
                                    [0.5 * i for i in range(8)]))              # float_data
    inits.append(helper.make_tensor("s_int32", TensorProto.INT32, [8],
                                    [1, -2, 3, -4, 5, -6, 7, -8]))             # int32_data
    inits.append(helper.make_tensor("o_int64", TensorProto.INT64, [8],
                                    [10, 20, 30, 40, 50, 60, 70, 80]))         # int64_data
    inits.append(helper.make_tensor("d_double", TensorProto.DOUBLE, [8],
                                    [0.25] * 8))                               # double_data
    inits.append(helper.make_tensor("u_uint64", TensorProto.UINT64, [8],
                                    list(range(8))))                           # uint64_data
    h16 = np.array([1.0, 2.0, -0.5, 0.25, 3.0, 4.0, 5.0, 6.0], np.float16)
    inits.append(helper.make_tensor("h_f16", TensorProto.FLOAT16, [8],
                                    h16.tolist()))                             # int32_data f16
    inits.append(helper.make_tensor("k_bool", TensorProto.BOOL, [8],
                                    [1, 0, 1, 0, 1, 0, 1, 0]))                 # int32_data bool
    inits.append(helper.make_tensor("i_int8", TensorProto.INT8, [8],
                                    [-1, 2, -3, 4, -5, 6, -7, 8]))             # int32_data int8
    inits.append(helper.make_tensor("scalar", TensorProto.FLOAT, [], [2.0]))   # 0-d
    inits.append(external(numpy_helper.from_array(arange([8, 8], scale=-0.02), "w_ext"),
                          out, os.path.basename(out) + ".data"))
    inits.append(external(numpy_helper.from_array(arange([8], scale=0.125), "b_ext"),
                          out, os.path.basename(out) + ".data", offset_pad=3))
    inits.append(numpy_helper.from_array(arange([80], np.int64, 1), "idx_big"))  # raw int64 > 64
    inits.append(external(numpy_helper.from_array(arange([80], scale=3.0), "e_big"),
                          out, os.path.basename(out) + ".data"))                # external > 64
    nodes = [
        node("MatMul", ["x", "w_raw"], ["h0"]),
        node("Add", ["h0", "b_float"], ["h1"]),
        node("Cast", ["s_int32"], ["s_f"], to=TensorProto.FLOAT),
        node("Mul", ["h1", "s_f"], ["h2"]),
        node("Cast", ["o_int64"], ["o_f"], to=TensorProto.FLOAT),
        node("Cast", ["d_double"], ["d_f"], to=TensorProto.FLOAT),
        node("Cast", ["u_uint64"], ["u_f"], to=TensorProto.FLOAT),
        node("Cast", ["h_f16"], ["h_f"], to=TensorProto.FLOAT),
        node("Cast", ["i_int8"], ["i_f"], to=TensorProto.FLOAT),
        node("Add", ["o_f", "d_f"], ["c0"]),
        node("Add", ["c0", "u_f"], ["c1"]),
        node("Add", ["c1", "h_f"], ["c2"]),
        node("Add", ["c2", "i_f"], ["c3"]),
        node("Where", ["k_bool", "c3", "o_f"], ["c4"]),
        node("Add", ["h2", "c4"], ["h3"]),
        node("MatMul", ["h3", "w_ext"], ["h4"]),
        node("Add", ["h4", "b_ext"], ["h5"]),
        node("Mul", ["h5", "scalar"], ["h6"]),
        node("Reshape", ["big_raw", "shape16"], ["big16"]),
        node("Gather", ["big16", "idx"], ["row"], axis=0),
        node("Add", ["h6", "row"], ["y"]),
        const("shape16", i64(10, 8)),
        const("idx", i64(1)),
        node("Add", ["v", "big_raw"], ["z0"]),
        node("Add", ["z0", "e_big"], ["z1"]),
        node("Cast", ["idx_big"], ["idx_f"], to=TensorProto.FLOAT),
        node("Add", ["z1", "idx_f"], ["z"]),
    ]
    return make(nodes, [x, vi("v", TensorProto.FLOAT, [80])],
                [vi("y", TensorProto.FLOAT, [2, 8]), vi("z", TensorProto.FLOAT, [80])], inits)


@model("external_missing")
def m_external_missing(out):
    """External data pointing at a file that does not exist."""
    t = external(numpy_helper.from_array(arange([80]), "w_ext"), out,
                 os.path.basename(out) + ".data")
    os.remove(os.path.join(os.path.dirname(os.path.abspath(out)),
                           os.path.basename(out) + ".data"))
    return make([node("Add", ["x", "w_ext"], ["y"])],
                [vi("x", TensorProto.FLOAT, [80])], [vi("y", TensorProto.FLOAT, [80])], [t])


@model("external_short")
def m_external_short(out):
    """External data whose offset+length lies past the end of the file."""
    t = external(numpy_helper.from_array(arange([80]), "w_ext"), out,
                 os.path.basename(out) + ".data")
    for e in t.external_data:
        if e.key == "offset":
            e.value = "128"
    return make([node("Add", ["x", "w_ext"], ["y"])],
                [vi("x", TensorProto.FLOAT, [80])], [vi("y", TensorProto.FLOAT, [80])], [t])


@model("bad_raw_size")
def m_bad_raw_size(out):
    """raw_data with the wrong number of bytes."""
    t = numpy_helper.from_array(arange([4]), "w")
    t.raw_data = t.raw_data[:10]
    return make([node("Add", ["x", "w"], ["y"])],
                [vi("x", TensorProto.FLOAT, [4])], [vi("y", TensorProto.FLOAT, [4])], [t])


# -- shape arithmetic -------------------------------------------------------------


def shape_chain_nodes(opset):
    """x.view(x.size(0), -1) the way exporters write it."""
    unsq = (node("Unsqueeze", ["d0", "axes0"], ["d0u"]) if opset >= 13
            else node("Unsqueeze", ["d0"], ["d0u"], axes=[0]))
    return [
        node("Shape", ["x"], ["s"]),
        const("zero", np.array(0, np.int64)),
        const("one", np.array(1, np.int64)),
        node("Gather", ["s", "zero"], ["d0"], axis=0),
        node("Gather", ["s", "one"], ["d1"], axis=0),
        const("axes0", i64(0)),
        unsq,
        const("minus1", i64(-1)),
        node("Concat", ["d0u", "minus1"], ["shape"], axis=0),
        node("Reshape", ["x", "shape"], ["r"]),
        # d1 * 2 through integer arithmetic, then Cast and Mul: folds too.
        const("two", np.array(2, np.int64)),
        node("Mul", ["d1", "two"], ["d1x2"]),
        node("Cast", ["d1x2"], ["scale"], to=TensorProto.FLOAT),
        node("Div", ["r", "scale"], ["y"]),
    ]


@model("shape_chain")
def m_shape_chain(out):
    return make(shape_chain_nodes(17), [vi("x", TensorProto.FLOAT, [2, 3, 4])],
                [vi("y", TensorProto.FLOAT, [2, 12])])


@model("shape_chain_opset11")
def m_shape_chain11(out):
    return make(shape_chain_nodes(11), [vi("x", TensorProto.FLOAT, [2, 3, 4])],
                [vi("y", TensorProto.FLOAT, [2, 12])], opset=11)


@model("shape_ops")
def m_shape_ops(out):
    """ConstantOfShape, Range, Equal/Where, Expand, Squeeze, Size, Slice of a
    shape, Shape(start,end), Flatten, Constant value_ints."""
    nodes = [
        node("Shape", ["x"], ["s"], start=1, end=-1),          # [3]
        node("ConstantOfShape", ["s"], ["ones"],
             value=numpy_helper.from_array(np.array([1.0], np.float32), "v")),
        const("start", np.array(0, np.int64)),
        const("limit", np.array(3, np.int64)),
        const("delta", np.array(1, np.int64)),
        node("Range", ["start", "limit", "delta"], ["r"]),       # [0,1,2]
        const("two", np.array(2, np.int64)),
        node("Equal", ["r", "two"], ["is2"]),                    # [F,F,T]
        node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
        node("Where", ["is2", "ones", "rf"], ["w"]),             # [0,1,1]
        helper.make_node("Constant", [], ["shp"], name="shp", value_ints=[2, 3]),
        node("Expand", ["w", "shp"], ["we"]),                    # [2,3]
        node("Size", ["we"], ["n"]),
        node("Cast", ["n"], ["nf"], to=TensorProto.FLOAT),       # 6.0
        node("Flatten", ["x"], ["xf"], axis=2),                  # [6, 5]
        node("Squeeze", ["x1"], ["xs"]),
        node("Mul", ["we", "nf"], ["c"]),
        node("Unsqueeze", ["c", "ax"], ["cu"]),                  # [2,3,1]
        const("ax", i64(-1)),
        node("Add", ["x", "cu"], ["y"]),
        node("Identity", ["xf"], ["y2"]),
    ]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 3, 5]),
                        vi("x1", TensorProto.FLOAT, [1, 4, 1])],
                [vi("y", TensorProto.FLOAT, [2, 3, 5]), vi("y2", TensorProto.FLOAT, [6, 5]),
                 vi("xs", TensorProto.FLOAT, [4])])


@model("shape_mod")
def m_shape_mod(out):
    """Mod on known shape data folds (fmod=0: divisor's sign; fmod=1:
    dividend's sign): the Reshape target [2, 12] is known at import."""
    nodes = [
        node("Shape", ["x"], ["s"]),                               # [2,3,4]
        const("d", i64(-5, 2, 5)),
        node("Mod", ["s", "d"], ["m0"]),                           # [-3,1,4]
        node("Mod", ["s", "d"], ["m1"], fmod=1),                   # [2,1,4]
        node("Add", ["m0", "m1"], ["m"]),                          # [-1,2,8]
        const("neg", i64(-7)),
        node("Mod", ["neg", "d"], ["m2"]),                         # [-2,1,3]
        node("Mod", ["neg", "d"], ["m3"], fmod=1),                 # [-2,-1,-2]
        node("Mul", ["m2", "m3"], ["p"]),                          # [4,-1,-6]
        node("Add", ["m", "p"], ["q"]),                            # [3,1,2]
        const("four", i64(4)),
        node("Mul", ["q", "four"], ["shp0"]),                      # [12,4,8]
        const("idx", i64(2, 1)),
        node("Gather", ["s", "idx"], ["g"]),                       # [4,3]
        const("idx2", i64(0, 1)),
        node("Gather", ["shp0", "idx2"], ["h"]),                   # [12,4]
        node("Mod", ["h", "g"], ["r"]),                            # [0,1]
        const("two", i64(2, 11)),
        node("Add", ["r", "two"], ["shp"]),                        # [2,12]
        node("Reshape", ["x", "shp"], ["y"]),
    ]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 3, 4])],
                [vi("y", TensorProto.FLOAT, [2, 12])])


@model("control_flow")
def m_control_flow(out):
    """If with a constant condition (its branch reads x from the outer
    scope), Loop with a constant trip count (a carried value and a scan
    output using an outer initializer), Scan over the rows of x in reverse
    with its scan output stacked along axis 1."""
    F = TensorProto.FLOAT
    then_g = helper.make_graph(
        [node("Add", ["x", "one_f"], ["t_out"])], "then", [],
        [vi("t_out", F, [2, 3])])
    else_g = helper.make_graph(
        [node("Sub", ["x", "one_f"], ["e_out"])], "else", [],
        [vi("e_out", F, [2, 3])])
    body = helper.make_graph(
        [node("Cast", ["i"], ["i_f"], to=F),
         node("Add", ["acc_in", "i_f"], ["acc_out"]),
         node("Identity", ["c"], ["c_out"]),
         node("Mul", ["acc_out", "two"], ["scan_out"])],
        "body",
        [vi("i", TensorProto.INT64, []), vi("c", TensorProto.BOOL, []),
         vi("acc_in", F, [2, 3])],
        [vi("c_out", TensorProto.BOOL, []), vi("acc_out", F, [2, 3]),
         vi("scan_out", F, [2, 3])])
    scan_body = helper.make_graph(
        [node("Add", ["sum_in", "row"], ["sum_out"]),
         node("Identity", ["sum_out"], ["row_out"])],
        "scan_body", [vi("sum_in", F, [3]), vi("row", F, [3])],
        [vi("sum_out", F, [3]), vi("row_out", F, [3])])
    nodes = [
        node("If", ["cond"], ["if_out"], then_branch=then_g, else_branch=else_g),
        node("Loop", ["trip", "cond", "x"], ["loop_acc", "loop_scan"], body=body),
        node("Scan", ["s0", "x"], ["scan_sum", "scan_rows"], body=scan_body,
             num_scan_inputs=1, scan_input_directions=[1],
             scan_output_axes=[1]),
    ]
    inits = [numpy_helper.from_array(np.array(True), "cond"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one_f"),
             numpy_helper.from_array(np.array(2.0, np.float32), "two"),
             numpy_helper.from_array(np.array(3, np.int64), "trip"),
             numpy_helper.from_array(np.zeros(3, np.float32), "s0")]
    return make(nodes, [vi("x", F, [2, 3])],
                [vi("if_out", F, [2, 3]), vi("loop_acc", F, [2, 3]),
                 vi("loop_scan", F, [3, 2, 3]), vi("scan_sum", F, [3]),
                 vi("scan_rows", F, [3, 2])], inits)


@model("loop_dynamic")
def m_loop_dynamic(out):
    """A Loop whose trip count is computed from a graph input."""
    body = helper.make_graph(
        [node("Identity", ["c"], ["c_out"]),
         node("Add", ["acc_in", "acc_in"], ["acc_out"])],
        "body",
        [vi("i", TensorProto.INT64, []), vi("c", TensorProto.BOOL, []),
         vi("acc_in", TensorProto.FLOAT, [2])],
        [vi("c_out", TensorProto.BOOL, []), vi("acc_out", TensorProto.FLOAT, [2])])
    nodes = [node("Abs", ["n"], ["trip"]),
             node("Loop", ["trip", "", "x"], ["y"], name="loop", body=body)]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2]), vi("n", TensorProto.INT64, [])],
                [vi("y", TensorProto.FLOAT, [2])])


@model("optional_ops")
def m_optional_ops(out):
    """OptionalHasElement without an input (false) and of a tensor (true),
    OptionalGetElement of a tensor (the tensor)."""
    B = TensorProto.BOOL
    nodes = [node("OptionalHasElement", [], ["none"]),
             node("OptionalHasElement", ["x"], ["some"]),
             node("OptionalGetElement", ["x"], ["y"])]
    return make(nodes, [vi("x", TensorProto.FLOAT, [4])],
                [vi("none", B, []), vi("some", B, []),
                 vi("y", TensorProto.FLOAT, [4])], opset=18)


@model("sequence_ops")
def m_sequence_ops(out):
    """Sequence ops resolved at import: SplitToSequence (split sizes, one
    chunk size, none with keepdims=0), SequenceAt, SequenceLength,
    SequenceErase, SequenceInsert, SequenceEmpty, SequenceConstruct,
    ConcatFromSequence (concat and, with new_axis=1, stack)."""
    F = TensorProto.FLOAT
    nodes = [
        const("sizes", i64(3, 4)),
        const("chunk", np.array(3, np.int64)),
        const("last", np.array(-1, np.int64)),
        const("zero", np.array(0, np.int32)),
        node("SplitToSequence", ["x", "sizes"], ["s1"], axis=1),
        node("SequenceAt", ["s1", "last"], ["a"]),
        node("SplitToSequence", ["x"], ["rows"], axis=0, keepdims=0),
        node("ConcatFromSequence", ["rows"], ["b"], axis=0, new_axis=1),
        node("SplitToSequence", ["x", "chunk"], ["s3"], axis=-1),
        node("SequenceLength", ["s3"], ["n"]),
        node("SequenceErase", ["s3", "zero"], ["s4"]),
        node("SequenceInsert", ["s4", "x", "zero"], ["s5"]),
        node("ConcatFromSequence", ["s5"], ["c"], axis=1),
        node("SequenceEmpty", [], ["e"], dtype=F),
        node("SequenceInsert", ["e", "a"], ["e1"]),
        node("SequenceAt", ["e1", "zero"], ["a2"]),
        node("SequenceConstruct", ["a2", "a"], ["pair"]),
        node("ConcatFromSequence", ["pair"], ["d"], axis=-1),
    ]
    return make(nodes, [vi("x", F, [2, 7])],
                [vi("a", F, [2, 4]), vi("b", F, [2, 7]),
                 vi("n", TensorProto.INT64, []), vi("c", F, [2, 11]),
                 vi("d", F, [2, 8])])


@model("sequence_output")
def m_sequence_output(out):
    """A graph output that is a sequence (unsupported)."""
    seq = helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [1, 4])
    return make([node("SplitToSequence", ["x"], ["s"], axis=0)],
                [vi("x", TensorProto.FLOAT, [2, 4])], [seq])


@model("sequence_as_tensor")
def m_sequence_as_tensor(out):
    """A sequence given to an op that takes a tensor (an error)."""
    return make([node("SplitToSequence", ["x"], ["s"], axis=0),
                 node("Relu", ["s"], ["y"], name="relu")],
                [vi("x", TensorProto.FLOAT, [2, 4])],
                [vi("y", TensorProto.FLOAT, [2, 4])])


@model("unique_const")
def m_unique_const(out):
    """Unique folds at import: sorted along axis 0 of a constant matrix,
    unsorted over a constant vector; Unique of a graph input is an error."""
    nodes = [const("m", np.array([[1, 2], [0, 5], [1, 2]], np.int64)),
             node("Unique", ["m"], ["u", "idx", "inv", "cnt"], axis=0),
             const("v", np.array([2.5, -1.0, 2.5, 7.0], np.float32)),
             node("Unique", ["v"], ["uv", "idxv"], sorted=0)]
    I = TensorProto.INT64
    return make(nodes, [], [vi("u", I, [2, 2]), vi("idx", I, [2]),
                            vi("inv", I, [3]), vi("cnt", I, [2]),
                            vi("uv", TensorProto.FLOAT, [3]), vi("idxv", I, [3])],
                opset=11)


@model("unique_dynamic")
def m_unique_dynamic(out):
    nodes = [node("Unique", ["x"], ["y"], name="uniq")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [4])],
                [vi("y", TensorProto.FLOAT, None)], opset=11)


@model("nms_const")
def m_nms_const(out):
    """NonMaxSuppression folds at import on constant boxes and scores: box 1
    overlaps box 0 (IoU 0.81 > 0.5) and is suppressed; box 3 scores below
    the threshold; at most 2 boxes per class."""
    boxes = np.array([[[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, 2, 1, 3],
                       [0, 5, 1, 6]]], np.float32)
    scores = np.array([[[0.9, 0.8, 0.7, 0.1], [0.2, 0.3, 0.95, 0.6]]],
                      np.float32)
    nodes = [const("boxes", boxes), const("scores", scores),
             const("maxk", np.array([2], np.int64)),
             const("iou", np.array([0.5], np.float32)),
             const("thr", np.array([0.25], np.float32)),
             node("NonMaxSuppression", ["boxes", "scores", "maxk", "iou", "thr"],
                  ["sel"])]
    return make(nodes, [], [vi("sel", TensorProto.INT64, [4, 3])], opset=11)


@model("nms_dynamic")
def m_nms_dynamic(out):
    nodes = [node("NonMaxSuppression", ["boxes", "scores"], ["sel"], name="nms")]
    return make(nodes, [vi("boxes", TensorProto.FLOAT, [1, 4, 4]),
                        vi("scores", TensorProto.FLOAT, [1, 1, 4])],
                [vi("sel", TensorProto.INT64, None)], opset=11)


# -- Gemm, MatMul -------------------------------------------------------------------


@model("gemm")
def m_gemm(out):
    a = vi("a", TensorProto.FLOAT, [4, 3])  # transA: A is [K, M]
    b = numpy_helper.from_array(arange([5, 4]), "b")  # transB: B is [N, K]
    c = numpy_helper.from_array(arange([5], scale=1.0), "c")
    nodes = [node("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0),
             node("Gemm", ["y", "w2"], ["y2"]),
             const("w2", arange([5, 2]))]
    return make(nodes, [a], [vi("y", TensorProto.FLOAT, [3, 5]),
                             vi("y2", TensorProto.FLOAT, [3, 2])], [b, c])


@model("matmul_1d")
def m_matmul_1d(out):
    nodes = [node("MatMul", ["v", "m"], ["vm"]),      # [4] x [2,4,3] -> [2,3]
             node("MatMul", ["m", "w"], ["mw"]),      # [2,4,3] x [3] -> [2,4]
             node("MatMul", ["w", "w"], ["ww"])]      # [3] x [3] -> []
    return make(nodes, [vi("v", TensorProto.FLOAT, [4]), vi("m", TensorProto.FLOAT, [2, 4, 3]),
                        vi("w", TensorProto.FLOAT, [3])],
                [vi("vm", TensorProto.FLOAT, [2, 3]), vi("mw", TensorProto.FLOAT, [2, 4]),
                 vi("ww", TensorProto.FLOAT, [])])


# -- Conv and pooling -----------------------------------------------------------------


@model("conv")
def m_conv(out):
    w = numpy_helper.from_array(arange([4, 3, 3, 3]), "w")
    bias = numpy_helper.from_array(arange([4], scale=1.0), "bias")
    wg = numpy_helper.from_array(arange([4, 2, 3, 3]), "wg")
    nodes = [
        node("Conv", ["x", "w", "bias"], ["upper"], auto_pad="SAME_UPPER", strides=[2, 2]),
        node("Conv", ["x", "w"], ["lower"], auto_pad="SAME_LOWER", strides=[2, 2]),
        node("Conv", ["x", "w"], ["valid"], auto_pad="VALID"),
        node("Conv", ["x4", "wg", "bias"], ["grouped"], group=2, pads=[1, 2, 1, 0],
             dilations=[2, 1], kernel_shape=[3, 3]),
    ]
    return make(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 8, 8]),
                        vi("x4", TensorProto.FLOAT, [1, 4, 8, 8])],
                [vi(n, TensorProto.FLOAT, None) for n in ["upper", "lower", "valid", "grouped"]],
                [w, bias, wg])


@model("pool")
def m_pool(out):
    nodes = [
        node("MaxPool", ["x"], ["max_ceil"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        node("MaxPool", ["x"], ["max_floor"], kernel_shape=[3, 3], strides=[2, 2]),
        node("AveragePool", ["x"], ["avg"], kernel_shape=[2, 2], strides=[2, 2],
             pads=[1, 1, 1, 1], count_include_pad=1),
        node("AveragePool", ["x"], ["avg_same"], kernel_shape=[3, 3], strides=[2, 2],
             auto_pad="SAME_UPPER"),
        node("GlobalAveragePool", ["x"], ["gap"]),
        node("GlobalMaxPool", ["x"], ["gmp"]),
    ]
    return make(nodes, [vi("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                [vi(n, TensorProto.FLOAT, None)
                 for n in ["max_ceil", "max_floor", "avg", "avg_same", "gap", "gmp"]])


@model("maxpool_indices")
def m_maxpool_indices(out):
    nodes = [node("MaxPool", ["x"], ["y", "idx"], name="pool_idx", kernel_shape=[2, 2])]
    return make(nodes, [vi("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                [vi("y", TensorProto.FLOAT, None), vi("idx", TensorProto.INT64, None)])


# -- Split, Slice -------------------------------------------------------------------------


@model("split")
def m_split(out):
    nodes = [node("Split", ["x", "sizes"], ["a", "b"], axis=1),
             const("sizes", i64(2, 5))]
    return make(nodes, [vi("x", TensorProto.FLOAT, [3, 7])],
                [vi("a", TensorProto.FLOAT, [3, 2]), vi("b", TensorProto.FLOAT, [3, 5])], opset=13)


@model("split_opset18")
def m_split18(out):
    nodes = [node("Split", ["x"], ["a", "b", "c"], axis=-1, num_outputs=3)]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 7])],
                [vi(n, TensorProto.FLOAT, None) for n in "abc"], opset=18)


@model("split_opset11")
def m_split11(out):
    nodes = [node("Split", ["x"], ["a", "b"], axis=0)]
    return make(nodes, [vi("x", TensorProto.FLOAT, [6, 2])],
                [vi(n, TensorProto.FLOAT, None) for n in "ab"], opset=11)


@model("slice")
def m_slice(out):
    big = np.iinfo(np.int64).max
    nodes = [
        # x[1:, -3:] on [4, 10]
        node("Slice", ["x", "s0", "e0", "a0"], ["tail"]),
        const("s0", i64(1, -3)), const("e0", i64(big, big)), const("a0", i64(0, -1)),
        # x[::-1, 8:2:-2]
        node("Slice", ["x", "s1", "e1", "a1", "st1"], ["rev"]),
        const("s1", i64(-1, 8)), const("e1", i64(-big, 2)), const("a1", i64(0, 1)),
        const("st1", i64(-1, -2)),
        # empty: x[:, 5:5]
        node("Slice", ["x", "s2", "e2", "a2"], ["empty"]),
        const("s2", i64(5)), const("e2", i64(5)), const("a2", i64(1)),
        # out-of-range starts clamp
        node("Slice", ["x", "s3", "e3"], ["clamped"]),
        const("s3", i64(-100, 3)), const("e3", i64(100, 1000)),
    ]
    return make(nodes, [vi("x", TensorProto.FLOAT, [4, 10])],
                [vi(n, TensorProto.FLOAT, None) for n in ["tail", "rev", "empty", "clamped"]])


@model("slice_opset9")
def m_slice9(out):
    nodes = [node("Slice", ["x"], ["y"], starts=[1], ends=[-1], axes=[1])]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 6])], [vi("y", TensorProto.FLOAT, None)],
                opset=9)


# -- normalization, reductions, misc ----------------------------------------------------------


@model("norms")
def m_norms(out):
    c = 4
    inits = [numpy_helper.from_array(arange([c], scale=1.0) + 1, n)
             for n in ["scale", "bias", "mean", "var"]]
    inits.append(numpy_helper.from_array(arange([6], scale=1.0), "ln_scale"))
    nodes = [
        node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["bn"], epsilon=1e-3),
        node("LayerNormalization", ["h", "ln_scale"], ["ln"], axis=-1, epsilon=1e-5),
        node("Softmax", ["h"], ["sm"], axis=1),
        node("Dropout", ["h"], ["drop"]),
        node("Gelu", ["h"], ["gelu"], approximate="tanh", domain=""),
        node("Clip", ["h", "lo"], ["clip"]),
        const("lo", np.array(0.0, np.float32)),
        node("LeakyRelu", ["h"], ["lrelu"], alpha=0.2),
        node("Max", ["h", "h", "h"], ["max3"]),
    ]
    outs = ["bn", "ln", "sm", "drop", "gelu", "clip", "lrelu", "max3"]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, c, 3, 3]),
                        vi("h", TensorProto.FLOAT, [2, 5, 6])],
                [vi(n, TensorProto.FLOAT, None) for n in outs], inits, opset=20)


@model("softmax_opset11")
def m_softmax11(out):
    return make([node("Softmax", ["x"], ["y"], axis=1)],
                [vi("x", TensorProto.FLOAT, [2, 3, 4])], [vi("y", TensorProto.FLOAT, None)],
                opset=11)


@model("reduce")
def m_reduce(out):
    nodes = [
        node("ReduceMean", ["x", "ax"], ["mean"]),                   # opset 18: axes input
        const("ax", i64(-1)),
        node("ReduceSum", ["x", "ax01"], ["sum"], keepdims=0),
        const("ax01", i64(1, 0)),
        node("ReduceMax", ["x"], ["max_all"], keepdims=0),            # no axes: all
        node("ReduceSum", ["x"], ["noop"], noop_with_empty_axes=1),   # identity
    ]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 3, 4])],
                [vi(n, TensorProto.FLOAT, None) for n in ["mean", "sum", "max_all", "noop"]],
                opset=18)


@model("reduce_opset13")
def m_reduce13(out):
    nodes = [node("ReduceMean", ["x"], ["mean"], axes=[1, -1])]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 3, 4])],
                [vi("mean", TensorProto.FLOAT, None)], opset=13)


@model("opset_forms")
def m_opset_forms(out):
    """Clip with min/max attributes (opset 6..10) and Squeeze/Unsqueeze
    with axes attributes (before 13)."""
    nodes = [node("Clip", ["x"], ["clipped"], min=-1.0, max=1.0),
             node("Squeeze", ["clipped"], ["sq"], axes=[0]),
             node("Unsqueeze", ["sq"], ["y"], axes=[2])]
    return make(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 4])],
                [vi("y", TensorProto.FLOAT, None)], opset=10)


@model("constants")
def m_constants(out):
    """Constant node forms: value_float(s), value_int(s), a large tensor."""
    mk = helper.make_node
    nodes = [mk("Constant", [], ["f"], name="f", value_float=0.5),
             mk("Constant", [], ["fs"], name="fs", value_floats=[1.0, 2.0, 3.0]),
             mk("Constant", [], ["i"], name="i", value_int=2),
             mk("Constant", [], ["is"], name="is", value_ints=[3]),
             mk("Constant", [], ["big"], name="big",
                value=numpy_helper.from_array(arange([100]), "")),
             node("Mul", ["fs", "f"], ["a"]),              # [0.5, 1, 1.5]
             node("Add", ["i", "is"], ["b"]),              # [5]
             node("Cast", ["b"], ["bf"], to=TensorProto.FLOAT),
             node("Add", ["a", "bf"], ["c"]),               # [5.5, 6, 6.5]
             node("Add", ["x", "c"], ["y"]),
             node("Add", ["v", "big"], ["z"])]
    return make(nodes, [vi("x", TensorProto.FLOAT, [3]), vi("v", TensorProto.FLOAT, [100])],
                [vi("y", TensorProto.FLOAT, None), vi("z", TensorProto.FLOAT, None)])


@model("dropout_mask")
def m_dropout_mask(out):
    nodes = [node("Dropout", ["x"], ["y", "mask"], name="drop")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [4])],
                [vi("y", TensorProto.FLOAT, None), vi("mask", TensorProto.BOOL, None)])


@model("dropout_training")
def m_dropout_training(out):
    nodes = [const("t", np.array(True)),
             node("Dropout", ["x", "", "t"], ["y"], name="drop")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [4])],
                [vi("y", TensorProto.FLOAT, None)])


@model("bn_training")
def m_bn_training(out):
    inits = [numpy_helper.from_array(np.ones(2, np.float32), n) for n in ["s", "b", "m", "v"]]
    nodes = [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], name="bn",
                  training_mode=1)]
    return make(nodes, [vi("x", TensorProto.FLOAT, [1, 2, 3, 3])],
                [vi("y", TensorProto.FLOAT, None)], inits)


@model("layernorm_stats")
def m_layernorm_stats(out):
    inits = [numpy_helper.from_array(np.ones(4, np.float32), "g")]
    nodes = [node("LayerNormalization", ["x", "g"], ["y", "mean"], name="ln")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 4])],
                [vi("y", TensorProto.FLOAT, None), vi("mean", TensorProto.FLOAT, None)], inits)


# -- symbolic dims -------------------------------------------------------------------------------


@model("symbolic")
def m_symbolic(out):
    w = numpy_helper.from_array(arange([8, 16]), "w")
    nodes = [node("MatMul", ["x", "w"], ["h"]), node("Relu", ["h"], ["y"])]
    return make(nodes, [vi("x", TensorProto.FLOAT, ["batch", 8])],
                [vi("y", TensorProto.FLOAT, ["batch", 16])], [w])


@model("unknown_dim")
def m_unknown_dim(out):
    x = vi("x", TensorProto.FLOAT, [None, 8])
    return make([node("Relu", ["x"], ["y"])], [x], [vi("y", TensorProto.FLOAT, None)])


# -- errors --------------------------------------------------------------------------------------------


@model("unknown_op")
def m_unknown_op(out):
    nodes = [node("Relu", ["x"], ["h"]), node("FooBar", ["h"], ["y"], name="foo_node")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 4])], [vi("y", TensorProto.FLOAT, [2, 4])])


@model("truncated")
def m_truncated(out):
    """A valid model, written cut in the middle of its weight bytes."""
    w = numpy_helper.from_array(arange([64, 64]), "w")
    m = make([node("MatMul", ["x", "w"], ["y"])], [vi("x", TensorProto.FLOAT, [1, 64])],
             [vi("y", TensorProto.FLOAT, [1, 64])], [w])
    data = m.SerializeToString()
    return data[: len(data) // 2]


@model("cycle")
def m_cycle(out):
    nodes = [node("Add", ["x", "b"], ["a"], name="first"),
             node("Relu", ["a"], ["b"], name="second")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2])], [vi("b", TensorProto.FLOAT, [2])])


@model("undefined_value")
def m_undefined(out):
    nodes = [node("Add", ["x", "nowhere"], ["y"], name="adder")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2])], [vi("y", TensorProto.FLOAT, [2])])


@model("bad_perm")
def m_bad_perm(out):
    nodes = [node("Transpose", ["x"], ["y"], name="tr", perm=[0, 0])]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 3])], [vi("y", TensorProto.FLOAT, None)])


@model("bad_broadcast")
def m_bad_broadcast(out):
    nodes = [node("Add", ["x", "z"], ["y"], name="add_bad")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 3]), vi("z", TensorProto.FLOAT, [4])],
                [vi("y", TensorProto.FLOAT, None)])


@model("bad_conv")
def m_bad_conv(out):
    w = numpy_helper.from_array(arange([4, 5, 3, 3]), "w")  # 5 channels, input has 3
    nodes = [node("Conv", ["x", "w"], ["y"], name="conv_bad")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                [vi("y", TensorProto.FLOAT, None)], [w])


@model("dynamic_reshape")
def m_dynamic_reshape(out):
    nodes = [node("Reshape", ["x", "s"], ["y"], name="reshape_dyn")]
    return make(nodes, [vi("x", TensorProto.FLOAT, [2, 3]), vi("s", TensorProto.INT64, [2])],
                [vi("y", TensorProto.FLOAT, None)])


@model("not_onnx")
def m_not_onnx(out):
    return b"this is not a protobuf \xff\xff\xff\xff"


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        for name, fn in MODELS.items():
            print(f"{name:22} {(fn.__doc__ or '').strip().splitlines()[0] if fn.__doc__ else ''}")
        return 0
    if len(argv) != 3 or argv[1] not in MODELS:
        print(__doc__, file=sys.stderr)
        return 2
    name, out = argv[1], argv[2]
    data_file = os.path.join(os.path.dirname(os.path.abspath(out)),
                             os.path.basename(out) + ".data")
    if os.path.exists(data_file):
        os.remove(data_file)
    result = MODELS[name](out)
    with open(out, "wb") as f:
        f.write(result if isinstance(result, bytes) else result.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

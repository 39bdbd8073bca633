#!/usr/bin/env python3
"""ONNX models for the layout, indexing, window and normalization op families
(importer lit tests in test/onnx/coverage_*.test and their e2e runs).

usage: gen_coverage.py NAME OUT.onnx
       gen_coverage.py --list

Each model holds a few nodes of one family side by side. Parameters the ops
need at compile time (pads, repeats, axes, indices) are initializers; the
data inputs are graph inputs, so ONNX Runtime can give reference outputs.
Deterministic.
"""

import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

MODELS = {}
F = TensorProto.FLOAT


def model(name):
    def register(fn):
        MODELS[name] = fn
        return fn
    return register


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def make(nodes, inputs, outputs, inits=(), opset=21):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              initializer=list(inits))
    m = helper.make_model(graph, producer_name="kiln-onnx-tests",
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    return m


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name=outs[0], **attrs)


def i64(*v):
    return np.array(v, dtype=np.int64)


def rand(shape, seed):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


@model("pad")
def m_pad():
    """Pad in its four modes, a runtime constant value, negative pads."""
    nodes = [
        node("Pad", ["x", "pads", "v"], ["constant"], mode="constant"),
        node("Pad", ["x", "pads"], ["reflect"], mode="reflect"),
        node("Pad", ["x", "pads"], ["edge"], mode="edge"),
        node("Pad", ["x", "pads"], ["wrap"], mode="wrap"),
        node("Pad", ["x", "crop", "", "axes"], ["cropped"]),
    ]
    return make(nodes, [vi("x", F, [1, 2, 3, 4]), vi("v", F, [])],
                [vi("constant", F, [1, 2, 5, 7]), vi("reflect", F, [1, 2, 5, 7]),
                 vi("edge", F, [1, 2, 5, 7]), vi("wrap", F, [1, 2, 5, 7]),
                 vi("cropped", F, [1, 2, 2, 3])],
                [init("pads", i64(0, 0, 1, 2, 0, 0, 1, 1)),
                 init("crop", i64(-1, 1, 0, -2)), init("axes", i64(-2, -1))])


@model("layout")
def m_layout():
    """Tile, DepthToSpace (DCR, CRD), SpaceToDepth, Trilu, OneHot, EyeLike."""
    nodes = [
        node("Tile", ["x", "reps"], ["tiled"]),
        node("DepthToSpace", ["d", ], ["d2s_dcr"], blocksize=2),
        node("DepthToSpace", ["d"], ["d2s_crd"], blocksize=2, mode="CRD"),
        node("SpaceToDepth", ["d2s_dcr"], ["s2d"], blocksize=2),
        node("Trilu", ["x", "k"], ["lower"], upper=0),
        node("OneHot", ["ids", "depth", "values"], ["onehot"], axis=1),
        node("EyeLike", ["x"], ["eye"], k=1),
    ]
    return make(nodes,
                [vi("x", F, [3, 4]), vi("d", F, [1, 8, 2, 3]),
                 vi("ids", TensorProto.INT64, [2, 3])],
                [vi("tiled", F, [6, 4]), vi("d2s_dcr", F, [1, 2, 4, 6]),
                 vi("d2s_crd", F, [1, 2, 4, 6]), vi("s2d", F, [1, 8, 2, 3]),
                 vi("lower", F, [3, 4]), vi("onehot", F, [2, 5, 3]),
                 vi("eye", F, [3, 4])],
                [init("reps", i64(2, 1)), init("k", i64(-1)),
                 init("depth", np.array(5, dtype=np.int64)),
                 init("values", np.array([-1.0, 2.0], dtype=np.float32))])


@model("indexing")
def m_indexing():
    """GatherElements, GatherND (batch_dims 1), ScatterElements (add),
    ScatterND (mul), CumSum (exclusive, reverse), Einsum."""
    nodes = [
        node("GatherElements", ["data", "gidx"], ["gathered"], axis=1),
        node("GatherND", ["data3", "ndidx"], ["gathered_nd"], batch_dims=1),
        node("ScatterElements", ["data", "sidx", "upd"], ["scattered"],
             axis=0, reduction="add"),
        node("ScatterND", ["data", "nidx", "rows"], ["scattered_nd"],
             reduction="mul"),
        node("CumSum", ["data", "axis"], ["cumsum"], exclusive=1, reverse=1),
        node("Einsum", ["data3", "b"], ["einsum"], equation="bij,bjk->bik"),
    ]
    return make(nodes,
                [vi("data", F, [3, 4]), vi("data3", F, [2, 3, 4]),
                 vi("upd", F, [2, 4]), vi("rows", F, [2, 4]),
                 vi("b", F, [2, 4, 5])],
                [vi("gathered", F, [3, 2]), vi("gathered_nd", F, [2, 2, 4]),
                 vi("scattered", F, [3, 4]), vi("scattered_nd", F, [3, 4]),
                 vi("cumsum", F, [3, 4]), vi("einsum", F, [2, 3, 5])],
                [init("gidx", np.array([[0, -1], [2, 1], [3, 3]], np.int64)),
                 init("ndidx", np.array([[[1], [0]], [[2], [2]]], np.int64)),
                 init("sidx", np.array([[0, 1, 2, 0], [0, 0, -1, 2]], np.int64)),
                 init("nidx", np.array([[2], [0]], np.int64)),
                 init("axis", np.array(1, np.int32))])


@model("windows")
def m_windows():
    """Conv 1-D and 3-D, dilated 3-D MaxPool, AveragePool with ceil_mode
    and count_include_pad, LpPool, ConvTranspose (stride 2, output_padding)."""
    nodes = [
        node("Conv", ["x1", "w1", "b1"], ["conv1d"], strides=[2], pads=[1, 1]),
        node("Conv", ["x3", "w3"], ["conv3d"], auto_pad="SAME_UPPER"),
        node("MaxPool", ["x3"], ["maxpool3d"], kernel_shape=[2, 2, 2],
             dilations=[2, 2, 1], strides=[1, 1, 2]),
        node("AveragePool", ["x2"], ["avgpool"], kernel_shape=[3, 3],
             strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1,
             count_include_pad=1),
        node("LpPool", ["x2"], ["lppool"], kernel_shape=[2, 2], p=3),
        node("ConvTranspose", ["x2", "wt"], ["convt"], strides=[2, 2],
             pads=[1, 0, 0, 1], output_padding=[1, 1], group=2),
    ]
    return make(nodes,
                [vi("x1", F, [1, 2, 9]), vi("x3", F, [1, 2, 4, 5, 6]),
                 vi("x2", F, [1, 4, 6, 6])],
                [vi("conv1d", F, [1, 3, 5]), vi("conv3d", F, [1, 3, 4, 5, 6]),
                 vi("maxpool3d", F, [1, 2, 2, 3, 3]),
                 vi("avgpool", F, [1, 4, 4, 4]), vi("lppool", F, [1, 4, 5, 5]),
                 vi("convt", F, [1, 6, 13, 13])],
                [init("w1", rand([3, 2, 3], 1)), init("b1", rand([3], 2)),
                 init("w3", rand([3, 2, 3, 3, 3], 3)),
                 init("wt", rand([4, 3, 3, 3], 4))])


@model("norms")
def m_norms():
    """InstanceNormalization, GroupNormalization, RMSNormalization, LRN,
    LpNormalization, MeanVarianceNormalization."""
    nodes = [
        node("InstanceNormalization", ["x", "s", "bias"], ["instance"]),
        node("GroupNormalization", ["x", "s", "bias"], ["group"],
             num_groups=2),
        node("RMSNormalization", ["x", "w"], ["rms"], axis=2),
        node("LRN", ["x"], ["lrn"], size=3, alpha=0.001, beta=0.6),
        node("LpNormalization", ["x"], ["lpnorm"], axis=1, p=1),
        node("MeanVarianceNormalization", ["x"], ["mvn"]),
    ]
    shape = [2, 4, 3, 5]
    return make(nodes, [vi("x", F, shape)],
                [vi(n, F, shape) for n in
                 ["instance", "group", "rms", "lrn", "lpnorm", "mvn"]],
                [init("s", rand([4], 5)), init("bias", rand([4], 6)),
                 init("w", rand([3, 5], 7))], opset=23)


@model("resize")
def m_resize():
    """Resize: nearest (asymmetric, floor) by scales, linear (half_pixel)
    and cubic (align_corners) by sizes, linear antialias downsampling."""
    nodes = [
        node("Resize", ["x", "", "up"], ["nearest"], mode="nearest",
             coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        node("Resize", ["x", "", "", "sizes"], ["linear"], mode="linear"),
        node("Resize", ["x", "", "", "sizes"], ["cubic"], mode="cubic",
             coordinate_transformation_mode="align_corners"),
        node("Resize", ["x", "", "down"], ["antialias"], mode="linear",
             antialias=1),
    ]
    return make(nodes, [vi("x", F, [1, 2, 4, 6])],
                [vi("nearest", F, [1, 2, 8, 9]), vi("linear", F, [1, 2, 7, 5]),
                 vi("cubic", F, [1, 2, 7, 5]),
                 vi("antialias", F, [1, 2, 2, 3])],
                [init("up", np.array([1, 1, 2, 1.5], np.float32)),
                 init("sizes", i64(1, 2, 7, 5)),
                 init("down", np.array([1, 1, 0.5, 0.5], np.float32))])


@model("signal")
def m_signal():
    """HannWindow (periodic), BlackmanWindow (symmetric), DFT forward along
    axis 1 of a real signal, inverse of a complex one with dft_length
    padding, one-sided (rfft), STFT with a window, MelWeightMatrix."""
    nodes = [
        node("HannWindow", ["n"], ["hann"]),
        node("BlackmanWindow", ["n"], ["blackman"], periodic=0),
        node("DFT", ["x", "", "ax1"], ["dft"]),
        node("DFT", ["xc", "len", "ax2"], ["idft"], inverse=1),
        node("DFT", ["x", "", "ax1"], ["rfft"], onesided=1),
        node("STFT", ["sig", "step", "win"], ["stft"]),
        node("MelWeightMatrix", ["bins", "len16", "rate", "lo", "hi"], ["mel"]),
    ]
    return make(nodes, [vi("x", F, [2, 6, 3, 1]), vi("xc", F, [2, 3, 5, 2]),
                        vi("sig", F, [1, 40, 1]), vi("win", F, [8])],
                [vi("hann", F, [8]), vi("blackman", F, [8]),
                 vi("dft", F, [2, 6, 3, 2]), vi("idft", F, [2, 3, 7, 2]),
                 vi("rfft", F, [2, 4, 3, 2]), vi("stft", F, None),
                 vi("mel", F, [9, 4])],
                [init("n", i64(8)[0]), init("ax1", i64(1)[0]),
                 init("ax2", i64(2)[0]), init("len", i64(7)[0]),
                 init("step", i64(4)[0]), init("bins", np.int32(4)),
                 init("len16", np.int32(16)), init("rate", np.int32(8000)),
                 init("lo", np.float32(100)), init("hi", np.float32(3000))],
                opset=20)


@model("linear_attention")
def m_linear_attention():
    """LinearAttention (opset 27), gated_delta with grouped query heads
    (4 query heads on 2 KV heads), per-head decay, per-head beta, a past
    state, T = 2."""
    nodes = [node("LinearAttention", ["q", "k", "v", "past", "decay", "beta"],
                  ["y", "present"], q_num_heads=4, kv_num_heads=2)]
    return make(nodes, [vi("q", F, [1, 2, 12]), vi("k", F, [1, 2, 6]),
                        vi("v", F, [1, 2, 4]), vi("past", F, [1, 2, 3, 2]),
                        vi("decay", F, [1, 2, 2]), vi("beta", F, [1, 2, 2])],
                [vi("y", F, [1, 2, 8]), vi("present", F, [1, 2, 3, 2])],
                opset=27)


@model("flex_attention")
def m_flex_attention():
    """FlexAttention (ai.onnx.preview) with grouped query heads, a soft-cap
    score_mod subgraph (tanh(s / 5) * 5) and a prob_mod that scales."""
    score_mod = helper.make_graph(
        [node("Div", ["s", "cap"], ["sd"]), node("Tanh", ["sd"], ["st"]),
         node("Mul", ["st", "cap"], ["s_out"])], "score_mod",
        [vi("s", F, [1, 4, 3, 5])], [vi("s_out", F, [1, 4, 3, 5])],
        [init("cap", np.array(5.0, np.float32))])
    prob_mod = helper.make_graph(
        [node("Mul", ["p", "half"], ["p_out"])], "prob_mod",
        [vi("p", F, [1, 4, 3, 5])], [vi("p_out", F, [1, 4, 3, 5])],
        [init("half", np.array(0.5, np.float32))])
    nodes = [helper.make_node("FlexAttention", ["q", "k", "v"], ["y"],
                              name="flex", domain="ai.onnx.preview",
                              score_mod=score_mod, prob_mod=prob_mod)]
    graph = helper.make_graph(
        nodes, "g", [vi("q", F, [1, 4, 3, 8]), vi("k", F, [1, 2, 5, 8]),
                     vi("v", F, [1, 2, 5, 6])], [vi("y", F, [1, 4, 3, 6])])
    m = helper.make_model(graph, producer_name="kiln-onnx-tests",
                          opset_imports=[helper.make_opsetid("", 23),
                                         helper.make_opsetid("ai.onnx.preview", 1)])
    m.ir_version = 10
    return m


@model("ml_ops")
def m_ml_ops():
    """ai.onnx.ml Binarizer and ArrayFeatureExtractor (runtime indices, 1-D
    data gives one row)."""
    nodes = [helper.make_node("Binarizer", ["x"], ["b"], name="b",
                              domain="ai.onnx.ml", threshold=0.25),
             helper.make_node("ArrayFeatureExtractor", ["x", "idx"], ["f"],
                              name="f", domain="ai.onnx.ml"),
             helper.make_node("ArrayFeatureExtractor", ["x1", "idx"], ["f1"],
                              name="f1", domain="ai.onnx.ml")]
    graph = helper.make_graph(
        nodes, "g", [vi("x", F, [3, 4]), vi("x1", F, [4]),
                     vi("idx", TensorProto.INT64, [2])],
        [vi("b", F, [3, 4]), vi("f", F, [3, 2]), vi("f1", F, [1, 2])])
    m = helper.make_model(graph, producer_name="kiln-onnx-tests",
                          opset_imports=[helper.make_opsetid("", 17),
                                         helper.make_opsetid("ai.onnx.ml", 3)])
    m.ir_version = 8
    helper.set_model_props(m, {"kiln.input_range.idx": "0,3"})
    return m


@model("tree_ensemble")
def m_tree_ensemble():
    """ai.onnx.ml TreeEnsemble: two trees (LEQ then GT; set membership with
    missing values tracking true), SUM over trees into 2 targets. The
    features are rounded (Round(2x)) so the members {1, 2} occur."""
    def t(name, dtype, vals):
        return numpy_helper.from_array(np.array(vals, dtype), name)
    tree = helper.make_node(
        "TreeEnsemble", ["xr"], ["y"], name="trees", domain="ai.onnx.ml",
        n_targets=2, aggregate_function=1, post_transform=0,
        tree_roots=[0, 2],
        nodes_featureids=[0, 1, 1],
        nodes_splits=t("nodes_splits", np.float32, [0.5, 0.0, np.nan]),
        nodes_modes=t("nodes_modes", np.uint8, [0, 3, 6]),
        nodes_truenodeids=[1, 1, 3], nodes_trueleafs=[0, 1, 1],
        nodes_falsenodeids=[0, 2, 4], nodes_falseleafs=[1, 1, 1],
        nodes_missing_value_tracks_true=[0, 0, 1],
        membership_values=t("membership_values", np.float32, [1.0, 2.0, np.nan]),
        leaf_targetids=[0, 1, 0, 1, 1],
        leaf_weights=t("leaf_weights", np.float32, [1.0, 2.0, 3.0, 10.0, 20.0]))
    nodes = [node("Mul", ["x", "two"], ["x2"]), node("Round", ["x2"], ["xr"]),
             tree]
    graph = helper.make_graph(nodes, "g", [vi("x", F, [6, 2])],
                              [vi("y", F, [6, 2])],
                              [init("two", np.array(2.0, np.float32))])
    m = helper.make_model(graph, producer_name="kiln-onnx-tests",
                          opset_imports=[helper.make_opsetid("", 21),
                                         helper.make_opsetid("ai.onnx.ml", 5)])
    m.ir_version = 10
    return m


@model("deform_conv")
def m_deform_conv():
    """DeformConv with 2 groups, 2 offset groups, padding, a (1, 2) stride,
    a mask and a bias."""
    nodes = [node("DeformConv", ["x", "w", "offset", "b", "mask"], ["y"],
                  group=2, offset_group=2, pads=[1, 1, 1, 1], strides=[1, 2],
                  kernel_shape=[3, 3])]
    return make(nodes, [vi("x", F, [1, 4, 5, 6]), vi("offset", F, [1, 36, 5, 3]),
                        vi("mask", F, [1, 18, 5, 3])],
                [vi("y", F, [1, 4, 5, 3])],
                [init("w", rand([4, 2, 3, 3], 11)), init("b", rand([4], 12))],
                opset=22)


@model("attention")
def m_attention():
    """Attention: 4-D causal with grouped-query heads and a past cache
    (present outputs); 3-D with a bool mask and softcap; RotaryEmbedding."""
    nodes = [
        node("Attention", ["q", "k", "v", "", "past_k", "past_v"],
             ["y", "present_k", "present_v"], is_causal=1),
        node("Attention", ["q3", "k3", "v3", "mask"], ["y3"], q_num_heads=2,
             kv_num_heads=2, softcap=2.0),
        node("RotaryEmbedding", ["q", "cos", "sin", "pos"], ["rotated"]),
    ]
    return make(nodes,
                [vi("q", F, [1, 4, 3, 8]), vi("k", F, [1, 2, 3, 8]),
                 vi("v", F, [1, 2, 3, 8]), vi("past_k", F, [1, 2, 2, 8]),
                 vi("past_v", F, [1, 2, 2, 8]), vi("q3", F, [2, 3, 8]),
                 vi("k3", F, [2, 5, 8]), vi("v3", F, [2, 5, 8])],
                [vi("y", F, [1, 4, 3, 8]), vi("present_k", F, [1, 2, 5, 8]),
                 vi("present_v", F, [1, 2, 5, 8]), vi("y3", F, [2, 3, 8]),
                 vi("rotated", F, [1, 4, 3, 8])],
                [init("mask", np.array([[True, True, False, True, False],
                                        [True, False, True, True, True],
                                        [False, True, True, False, True]])),
                 init("cos", np.cos(np.arange(20, dtype=np.float32).reshape(5, 4) / 7)),
                 init("sin", np.sin(np.arange(20, dtype=np.float32).reshape(5, 4) / 7)),
                 init("pos", np.array([[2, 3, 4]], np.int64))], opset=23)


@model("recurrent")
def m_recurrent():
    """LSTM (bidirectional, biases, peepholes, initial states), GRU
    (linear_before_reset), RNN (reverse, Relu)."""
    h, i, b, s = 3, 2, 2, 4
    nodes = [
        node("LSTM", ["x", "lw", "lr", "lb", "", "h0", "c0", "lp"],
             ["lstm_y", "lstm_h", "lstm_c"], hidden_size=h,
             direction="bidirectional"),
        node("GRU", ["x", "gw", "gr", "gb"], ["gru_y", "gru_h"],
             hidden_size=h, linear_before_reset=1),
        node("RNN", ["x", "rw", "rr"], ["rnn_y", "rnn_h"], hidden_size=h,
             direction="reverse", activations=["Relu"]),
    ]
    return make(nodes, [vi("x", F, [s, b, i])],
                [vi("lstm_y", F, [s, 2, b, h]), vi("lstm_h", F, [2, b, h]),
                 vi("lstm_c", F, [2, b, h]), vi("gru_y", F, [s, 1, b, h]),
                 vi("gru_h", F, [1, b, h]), vi("rnn_y", F, [s, 1, b, h]),
                 vi("rnn_h", F, [1, b, h])],
                [init("lw", rand([2, 4 * h, i], 11)),
                 init("lr", rand([2, 4 * h, h], 12)),
                 init("lb", rand([2, 8 * h], 13)),
                 init("h0", rand([2, b, h], 14)), init("c0", rand([2, b, h], 15)),
                 init("lp", rand([2, 3 * h], 16)),
                 init("gw", rand([1, 3 * h, i], 17)),
                 init("gr", rand([1, 3 * h, h], 18)),
                 init("gb", rand([1, 6 * h], 19)),
                 init("rw", rand([1, h, i], 20)), init("rr", rand([1, h, h], 21))])


@model("quantize")
def m_quantize():
    """QuantizeLinear per axis (uint8), DequantizeLinear blocked (int8),
    DynamicQuantizeLinear."""
    nodes = [
        node("QuantizeLinear", ["x", "qs", "qz"], ["q"], axis=1),
        node("DequantizeLinear", ["q8", "ds", "dz"], ["dq"], axis=1,
             block_size=2),
        node("DynamicQuantizeLinear", ["x"], ["dy", "dy_scale", "dy_zp"]),
    ]
    return make(nodes,
                [vi("x", F, [2, 3, 4]), vi("q8", TensorProto.INT8, [2, 4])],
                [vi("q", TensorProto.UINT8, [2, 3, 4]), vi("dq", F, [2, 4]),
                 vi("dy", TensorProto.UINT8, [2, 3, 4]), vi("dy_scale", F, []),
                 vi("dy_zp", TensorProto.UINT8, [])],
                [init("qs", np.array([0.01, 0.02, 0.05], np.float32)),
                 init("qz", np.array([128, 100, 0], np.uint8)),
                 init("ds", np.array([[0.5, 2.0], [0.25, 1.0]], np.float32)),
                 init("dz", np.array([[1, -2], [0, 3]], np.int8))])


@model("extras")
def m_extras():
    """ReverseSequence, MaxUnpool, CenterCropPad,
    AffineGrid, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv."""
    U8 = TensorProto.UINT8
    nodes = [
        node("ReverseSequence", ["seq", "lens"], ["reversed"], batch_axis=0,
             time_axis=1),
        node("MaxPool", ["img"], ["pooled", "argmax"], kernel_shape=[2, 2],
             strides=[2, 2]),
        node("MaxUnpool", ["pooled", "argmax"], ["unpooled"],
             kernel_shape=[2, 2], strides=[2, 2]),
        node("CenterCropPad", ["img", "crop"], ["cropped"], axes=[2, 3]),
        node("AffineGrid", ["theta", "size"], ["grid"], align_corners=0),
        node("MatMulInteger", ["qa", "qb", "za", "zb"], ["mmi"]),
        node("QLinearMatMul", ["qa", "sa", "za", "qb", "sb", "zb", "sy", "zy"],
             ["qmm"]),
        node("ConvInteger", ["qx", "qw", "zx"], ["convi"], pads=[1, 1, 1, 1]),
        node("QLinearConv", ["qx", "sa", "zx", "qw", "sb", "zb", "sy", "zy"],
             ["qconv"]),
    ]
    return make(nodes,
                [vi("seq", F, [3, 4, 2]),
                 vi("img", F, [1, 2, 4, 6]), vi("theta", F, [2, 2, 3]),
                 vi("qa", U8, [3, 4]), vi("qb", U8, [4, 2]),
                 vi("qx", U8, [1, 1, 4, 4]), vi("qw", U8, [2, 1, 3, 3])],
                [vi("reversed", F, [3, 4, 2]), vi("unpooled", F, [1, 2, 4, 6]),
                 vi("cropped", F, [1, 2, 3, 8]), vi("grid", F, [2, 3, 5, 2]),
                 vi("mmi", TensorProto.INT32, [3, 2]), vi("qmm", U8, [3, 2]),
                 vi("convi", TensorProto.INT32, [1, 2, 4, 4]),
                 vi("qconv", U8, [1, 2, 2, 2])],
                [init("lens", i64(4, 1, 3)),
                 init("crop", i64(3, 8)), init("size", i64(2, 1, 3, 5)),
                 init("za", np.array(12, np.uint8)),
                 init("zb", np.array(7, np.uint8)),
                 init("zx", np.array(3, np.uint8)),
                 init("sa", np.array(0.05, np.float32)),
                 init("sb", np.array(0.02, np.float32)),
                 init("sy", np.array(0.1, np.float32)),
                 init("zy", np.array(100, np.uint8))])


@model("newer")
def m_newer():
    """Opset 24-27 ops: CumProd, TensorScatter (circular), CausalConvWithState."""
    nodes = [
        node("CumProd", ["x", "axis"], ["cumprod"], reverse=1),
        node("TensorScatter", ["cache", "update", "widx"], ["present"],
             mode="circular"),
        node("CausalConvWithState", ["sig", "cw", "cb", "state"],
             ["conv", "new_state"], activation="silu"),
    ]
    return make(nodes,
                [vi("x", F, [2, 5]), vi("cache", F, [2, 2, 6, 3]),
                 vi("update", F, [2, 2, 2, 3]), vi("sig", F, [1, 3, 5]),
                 vi("state", F, [1, 3, 2])],
                [vi("cumprod", F, [2, 5]), vi("present", F, [2, 2, 6, 3]),
                 vi("conv", F, [1, 3, 5]), vi("new_state", F, [1, 3, 2])],
                [init("axis", np.array(1, np.int64)),
                 init("widx", i64(1, 5)), init("cw", rand([3, 1, 3], 31)),
                 init("cb", rand([3], 32))], opset=27)


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(sorted(MODELS)))
        return 0
    if len(argv) != 3 or argv[1] not in MODELS:
        print(__doc__, file=sys.stderr)
        return 2
    m = MODELS[argv[1]]()
    with open(argv[2], "wb") as f:
        f.write(m.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

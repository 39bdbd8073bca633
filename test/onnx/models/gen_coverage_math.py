#!/usr/bin/env python3
"""ONNX models for the activation, math, integer and reduction op families
(importer lit tests in test/onnx/coverage_math_*.test and their e2e runs).

usage: gen_coverage_math.py NAME OUT.onnx
       gen_coverage_math.py --list

Each model holds a few nodes of one family side by side. Parameters the ops
need at compile time (axes, K) are initializers; the data inputs are graph
inputs, so ONNX Runtime can give reference outputs. Inputs of functions with
a restricted domain go through Tanh/Abs first, so random N(0, 1) inputs stay
in the domain. Deterministic.
"""

import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

MODELS = {}
F = TensorProto.FLOAT
I32 = TensorProto.INT32
U8 = TensorProto.UINT8
B = TensorProto.BOOL
I64 = TensorProto.INT64


def model(name):
    def register(fn):
        MODELS[name] = fn
        return fn
    return register


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def make(nodes, inputs, outputs, inits=(), opset=21, ranges=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              initializer=list(inits))
    m = helper.make_model(graph, producer_name="kiln-onnx-tests",
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 10
    for name, (lo, hi) in (ranges or {}).items():
        helper.set_model_props(m, {**{p.key: p.value for p in m.metadata_props},
                                   f"kiln.input_range.{name}": f"{lo},{hi}"})
    return m


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name=outs[0], **attrs)


def i64(*v):
    return np.array(v, dtype=np.int64)


@model("activations")
def m_activations():
    """Elu, Selu, Celu, ThresholdedRelu, HardSigmoid, HardSwish, Softplus,
    Softsign, Mish, PRelu (per-channel slope), Shrink, Gelu (tanh)."""
    names = ["elu", "selu", "celu", "thresholded", "hardsigmoid", "hardswish",
             "softplus", "softsign", "mish", "prelu", "shrink", "gelu"]
    nodes = [
        node("Elu", ["x"], ["elu"], alpha=0.5),
        node("Selu", ["x"], ["selu"]),
        node("Celu", ["x"], ["celu"], alpha=2.0),
        node("ThresholdedRelu", ["x"], ["thresholded"], alpha=0.3),
        node("HardSigmoid", ["x"], ["hardsigmoid"], alpha=0.3, beta=0.4),
        node("HardSwish", ["x"], ["hardswish"]),
        node("Softplus", ["x"], ["softplus"]),
        node("Softsign", ["x"], ["softsign"]),
        node("Mish", ["x"], ["mish"]),
        node("PRelu", ["x", "slope"], ["prelu"]),
        node("Shrink", ["x"], ["shrink"], bias=0.25, lambd=0.5),
        node("Gelu", ["x"], ["gelu"], approximate="tanh"),
    ]
    shape = [2, 3, 4]
    return make(nodes, [vi("x", F, shape)], [vi(n, F, shape) for n in names],
                [init("slope", np.array([[0.1], [0.2], [-0.3]], np.float32))],
                opset=22)


@model("math")
def m_math():
    """Trigonometric and hyperbolic functions, Floor/Ceil/Round, Sign,
    IsNaN/IsInf (of x / (x > 0)), float Mod in both fmod modes, Mean."""
    fns = ["Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Asinh"]
    nodes = [node(f, ["x"], [f.lower()]) for f in fns]
    nodes += [
        node("Tanh", ["x"], ["t"]),
        node("Asin", ["t"], ["asin"]),
        node("Acos", ["t"], ["acos"]),
        node("Atanh", ["t"], ["atanh"]),
        node("Abs", ["x"], ["a"]),
        node("Add", ["a", "onehalf"], ["a1"]),
        node("Acosh", ["a1"], ["acosh"]),
        node("Mul", ["x", "four"], ["x4"]),
        node("Floor", ["x4"], ["floor"]),
        node("Ceil", ["x4"], ["ceil"]),
        node("Round", ["x4"], ["round"]),
        node("Sign", ["x"], ["sign"]),
        node("Greater", ["x", "zero"], ["pos"]),
        node("Cast", ["pos"], ["posf"], to=F),
        node("Div", ["x", "posf"], ["q"]),
        node("IsInf", ["q"], ["isinf"], detect_positive=0),
        node("IsNaN", ["q"], ["isnan"]),
        node("Mod", ["x4", "y"], ["fmod"], fmod=1),
        node("Mod", ["x4", "y"], ["pymod"], fmod=0),
        node("Mean", ["x", "y", "x4"], ["mean"]),
    ]
    shape = [3, 4]
    outs = [f.lower() for f in fns] + [
        "asin", "acos", "atanh", "acosh", "floor", "ceil", "round", "sign",
        "fmod", "pymod", "mean"]
    return make(nodes, [vi("x", F, shape), vi("y", F, shape)],
                [vi(n, F, shape) for n in outs] +
                [vi("isinf", B, shape), vi("isnan", B, shape)],
                [init("onehalf", np.float32(1.5)), init("four", np.float32(4)),
                 init("zero", np.float32(0))], opset=28)


@model("integer")
def m_integer():
    """Integer Mod (both signs, both modes) and Div, BitShift and unsigned
    Max/Less on uint8 (values up to 255), Bitwise*, Xor, LessOrEqual,
    GreaterOrEqual, Relu/Abs/Neg on int32."""
    nodes = [
        node("Sub", ["a", "five"], ["s"]),
        node("Add", ["b", "one"], ["d"]),
        node("Sub", ["zero", "d"], ["nd"]),
        node("Mod", ["s", "d"], ["mod_pos"]),
        node("Mod", ["s", "nd"], ["mod_neg"]),
        node("Mod", ["s", "nd"], ["fmod_neg"], fmod=1),
        node("Div", ["s", "d"], ["div"]),
        node("BitShift", ["u", "sh"], ["shl"], direction="LEFT"),
        node("BitShift", ["u", "sh"], ["shr"], direction="RIGHT"),
        node("Max", ["u", "v"], ["umax"]),
        node("Less", ["u", "v"], ["uless"]),
        node("BitwiseAnd", ["s", "b"], ["band"]),
        node("BitwiseOr", ["s", "b"], ["bor"]),
        node("BitwiseXor", ["s", "b"], ["bxor"]),
        node("BitwiseNot", ["s"], ["bnot"]),
        node("Less", ["a", "b"], ["l"]),
        node("Greater", ["a", "b"], ["g"]),
        node("Xor", ["l", "g"], ["xor"]),
        node("LessOrEqual", ["a", "b"], ["le"]),
        node("GreaterOrEqual", ["a", "b"], ["ge"]),
        node("Relu", ["s"], ["relu"]),
        node("Abs", ["s"], ["abs"]),
        node("Neg", ["s"], ["neg"]),
    ]
    shape = [3, 4]
    ints = ["mod_pos", "mod_neg", "fmod_neg", "div", "band", "bor", "bxor",
            "bnot", "relu", "abs", "neg"]
    return make(nodes,
                [vi("a", I32, shape), vi("b", I32, shape), vi("u", U8, shape),
                 vi("v", U8, shape), vi("sh", U8, shape)],
                [vi(n, I32, shape) for n in ints] +
                [vi(n, U8, shape) for n in ["shl", "shr", "umax"]] +
                [vi(n, B, shape) for n in ["uless", "xor", "le", "ge"]],
                [init("five", np.int32(5)), init("one", np.int32(1)),
                 init("zero", np.int32(0))],
                opset=18,
                ranges={"a": (0, 10), "b": (0, 10), "u": (0, 256),
                        "v": (0, 256), "sh": (0, 8)})


@model("reduce")
def m_reduce():
    """Reduce* with axes as an input (opset 18): Min, Prod, L1, L2, LogSum,
    LogSumExp, SumSquare, keepdims and negative axes; ArgMax/ArgMin with
    select_last_index; TopK (smallest, axis 1); Hardmax; LogSoftmax."""
    nodes = [
        node("ReduceMin", ["x", "ax1"], ["rmin"], keepdims=0),
        node("ReduceProd", ["x", "ax02"], ["rprod"]),
        node("ReduceL1", ["x", "axm1"], ["rl1"], keepdims=0),
        node("ReduceL2", ["x", "ax02"], ["rl2"]),
        node("Abs", ["x"], ["xa"]),
        node("ReduceLogSum", ["xa", "ax1"], ["rlogsum"], keepdims=0),
        node("ReduceLogSumExp", ["x", "ax02"], ["rlse"], keepdims=0),
        node("ReduceSumSquare", ["x"], ["rss"]),
        node("ArgMax", ["x"], ["argmax"], axis=1),
        node("ArgMin", ["r"], ["argmin"], axis=-1, keepdims=0,
             select_last_index=1),
        node("TopK", ["x", "k"], ["topv", "topi"], axis=1, largest=0),
        node("Hardmax", ["x"], ["hardmax"], axis=1),
        node("LogSoftmax", ["x"], ["logsoftmax"], axis=1),
    ]
    shape = [2, 5, 3]
    return make(nodes, [vi("x", F, shape), vi("r", I32, [4, 6])],
                [vi("rmin", F, [2, 3]), vi("rprod", F, [1, 5, 1]),
                 vi("rl1", F, [2, 5]), vi("rl2", F, [1, 5, 1]),
                 vi("rlogsum", F, [2, 3]), vi("rlse", F, [5]),
                 vi("rss", F, [1, 1, 1]), vi("argmax", I64, [2, 1, 3]),
                 vi("argmin", I64, [4]), vi("topv", F, [2, 2, 3]),
                 vi("topi", I64, [2, 2, 3]), vi("hardmax", F, shape),
                 vi("logsoftmax", F, shape)],
                [init("ax1", i64(1)), init("ax02", i64(0, -1)),
                 init("axm1", i64(-1)), init("k", i64(2))],
                opset=18, ranges={"r": (0, 3)})


@model("losses")
def m_losses():
    """NegativeLogLikelihoodLoss over [N, C, d1, d2] with weights and an
    in-range ignore_index (none, mean), plain mean; SoftmaxCrossEntropyLoss
    on [N, C] with int32 labels, sum and the log_prob output, and with
    weights and mean on [N, C, d1, d2]."""
    nodes = [
        node("NegativeLogLikelihoodLoss", ["x", "t", "w"], ["nll_none"],
             reduction="none", ignore_index=1),
        node("NegativeLogLikelihoodLoss", ["x", "t"], ["nll_mean"]),
        node("NegativeLogLikelihoodLoss", ["x", "t", "w"], ["nll_wmean"],
             ignore_index=1),
        node("SoftmaxCrossEntropyLoss", ["s", "l"], ["sce_sum", "log_prob"],
             reduction="sum"),
        node("SoftmaxCrossEntropyLoss", ["x", "t", "w"], ["sce_wmean"]),
    ]
    return make(nodes, [vi("x", F, [3, 4, 2, 2]), vi("t", I64, [3, 2, 2]),
                        vi("s", F, [5, 6]), vi("l", I32, [5])],
                [vi("nll_none", F, [3, 2, 2]), vi("nll_mean", F, []),
                 vi("nll_wmean", F, []), vi("sce_sum", F, []),
                 vi("log_prob", F, [5, 6]), vi("sce_wmean", F, [])],
                [init("w", np.array([0.5, 1.0, 2.0, 0.25], np.float32))],
                opset=13, ranges={"t": (0, 3), "l": (0, 5)})


@model("det")
def m_det():
    """Det of a batch of 3x3 and of one 4x4 matrix (Leibniz sums of element
    slices)."""
    nodes = [node("Det", ["a"], ["det3"]), node("Det", ["b"], ["det4"])]
    return make(nodes, [vi("a", F, [2, 3, 3]), vi("b", F, [4, 4])],
                [vi("det3", F, [2]), vi("det4", F, [])], opset=22)


@model("swiglu")
def m_swiglu():
    """SwiGLU (opset 28) with alpha, and LpNormalization whose norm can be 0
    (then 0, not NaN)."""
    nodes = [node("SwiGLU", ["a", "b"], ["y"], alpha=0.5),
             node("LpNormalization", ["a"], ["lp"], axis=0, p=2)]
    return make(nodes, [vi("a", F, [2, 4]), vi("b", F, [2, 4])],
                [vi("y", F, [2, 4]), vi("lp", F, [2, 4])], opset=28)


@model("tfidf")
def m_tfidf():
    """TfIdfVectorizer on [2, 8] tokens in [0, 3]: unigrams and bigrams with
    up to 2 skips, TF, TFIDF with weights, IDF without (bigrams only), the
    n-grams mapped to permuted output indexes."""
    pool = dict(ngram_counts=[0, 3], ngram_indexes=[5, 1, 2, 3, 4, 0],
                pool_int64s=[1, 2, 3, 1, 2, 2, 3, 1, 1])
    nodes = [
        node("TfIdfVectorizer", ["x"], ["tf"], mode="TF", min_gram_length=1,
             max_gram_length=2, max_skip_count=2, **pool),
        node("TfIdfVectorizer", ["x"], ["tfidf"], mode="TFIDF",
             min_gram_length=1, max_gram_length=2, max_skip_count=2,
             weights=[0.5, 1.0, 2.0, 0.25, 3.0, 1.5], **pool),
        node("TfIdfVectorizer", ["x"], ["idf"], mode="IDF", min_gram_length=2,
             max_gram_length=2, max_skip_count=0, **pool),
    ]
    return make(nodes, [vi("x", I64, [2, 8])],
                [vi("tf", F, [2, 6]), vi("tfidf", F, [2, 6]),
                 vi("idf", F, [2, 6])], opset=9, ranges={"x": (0, 3)})


@model("roialign")
def m_roialign():
    """RoiAlign on run-time ROIs (random, so some samples fall outside the
    image): avg with half_pixel and a 2x2 sampling grid; max with
    output_half_pixel, spatial_scale 0.5, one sample per bin."""
    nodes = [
        node("RoiAlign", ["x", "rois", "bi"], ["avg"], output_height=3,
             output_width=2, sampling_ratio=2, spatial_scale=1.0),
        node("RoiAlign", ["x", "rois", "bi"], ["max"], mode="max",
             coordinate_transformation_mode="output_half_pixel",
             output_height=2, output_width=3, sampling_ratio=1,
             spatial_scale=0.5),
    ]
    return make(nodes, [vi("x", F, [2, 2, 6, 7]), vi("rois", F, [3, 4])],
                [vi("avg", F, [3, 2, 3, 2]), vi("max", F, [3, 2, 2, 3])],
                [init("bi", i64(0, 1, 1))], opset=16)


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

#!/usr/bin/env python3
"""Writes the numerics-*.mlir lit tests of this directory.

Each test lowers kiln ops with --convert-kiln-to-linalg and upstream passes,
runs them with mlir-runner and compares against outputs ONNX Runtime computed
for the same inputs (stored in the test as constants): for every case it
prints [case, number of elements with |got - want| >= atol + rtol * |want|],
which must be 0 (NaN counts as a mismatch).

Usage (from the repository root, with the venv that has onnx/onnxruntime):
  .venv/bin/python test/Conversion/KilnToLinalg/numerics/gen_numerics.py
"""
import os

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
RTOL, ATOL = 1e-4, 1e-5

RUN = """\
// RUN: %kiln_opt %s --convert-kiln-to-linalg \\
// RUN:   --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \\
// RUN:   --convert-linalg-to-loops --lower-affine --convert-scf-to-cf --expand-strided-metadata \\
// RUN:   --lower-affine --finalize-memref-to-llvm --convert-math-to-llvm --convert-math-to-libm \\
// RUN:   --convert-arith-to-llvm --convert-index-to-llvm --convert-cf-to-llvm --convert-func-to-llvm \\
// RUN:   --convert-ub-to-llvm --reconcile-unrealized-casts \\
// RUN: | %mlir_runner -e main --entry-point-result=void \\
// RUN:   --shared-libs=%mlir_runner_libs \\
// RUN: | FileCheck %s
"""

ELEMENT = {np.float32: "f32", np.int64: "i64", np.int32: "i32", np.bool_: "i1"}


def ttype(a):
    return "tensor<" + "".join(f"{d}x" for d in a.shape) + ELEMENT[a.dtype.type] + ">"


def mlir_float(v):
    """A float literal MLIR parses (it needs a '.'), exact for f32."""
    text = "%.9g" % v
    if "." not in text:
        mantissa, _, exponent = text.partition("e")
        text = mantissa + ".0" + ("e" + exponent if exponent else "")
    return text


def dense(a):
    if a.dtype == np.bool_:
        flat = ["true" if v else "false" for v in a.flatten()]
    elif a.dtype.kind == "f":
        flat = [mlir_float(v) for v in a.flatten()]
    else:
        flat = [str(int(v)) for v in a.flatten()]
    if a.ndim == 0:
        return f"dense<{flat[0]}>"

    def nest(vals, shape):
        if len(shape) == 1:
            return "[" + ", ".join(vals) + "]"
        n = len(vals) // shape[0]
        return "[" + ", ".join(nest(vals[i * n:(i + 1) * n], shape[1:])
                               for i in range(shape[0])) + "]"
    return f"dense<{nest(flat, a.shape)}>"


def onnx_run(op, inputs, attrs=None, opset=20):
    names = [n for n, _ in inputs]
    node = helper.make_node(op, names, ["output"], **(attrs or {}))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
         for n, a in inputs],
        [helper.make_empty_tensor_value_info("output")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 9
    sess = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    return sess.run(None, dict(inputs))[0]


class TestFile:
    def __init__(self, name, summary):
        self.name, self.summary = name, summary
        self.kernels, self.main, self.checks = [], [], []

    def case(self, title, inputs, body, want):
        """inputs: list of (name, array); body: kiln ops computing %r from
        %<name>; want: the reference output (float32)."""
        i = len(self.checks) + 1
        want = np.asarray(want, np.float32)
        rt = ttype(want)
        args = ", ".join(f"%{n}: {ttype(a)}" for n, a in inputs)
        lines = [f"// Case {i}: {title}", f"func.func @case{i}({args}) -> {rt} {{"]
        lines += ["  " + l for l in body.strip().splitlines()]
        lines += [f"  return %r : {rt}", "}"]
        self.kernels.append("\n".join(lines))
        m = []
        for n, a in inputs:
            m.append(f"%c{i}_{n} = kiln.constant {dense(a)} : {ttype(a)}")
        call_args = ", ".join(f"%c{i}_{n}" for n, _ in inputs)
        call_types = ", ".join(ttype(a) for _, a in inputs)
        m.append(f"%got{i} = call @case{i}({call_args}) : ({call_types}) -> {rt}")
        m.append(f"%want{i} = kiln.constant {dense(want)} : {rt}")
        m.append(f"%bad{i} = call @mismatches{self.rank_key(want)}(%got{i}, %want{i}) : ({rt}, {rt}) -> tensor<1xf32>")
        m.append(f"%id{i} = kiln.constant dense<[{i}.0]> : tensor<1xf32>")
        m.append(f"%row{i} = kiln.concat %id{i}, %bad{i} {{axis = 0 : i64}} : tensor<1xf32>, tensor<1xf32> -> tensor<2xf32>")
        m.append(f"%print{i} = tensor.cast %row{i} : tensor<2xf32> to tensor<*xf32>")
        m.append(f"call @printMemrefF32(%print{i}) : (tensor<*xf32>) -> ()")
        self.main += m
        self.checks.append(f"// CHECK: data =\n// CHECK-NEXT: [{i}, 0]")
        self.types = getattr(self, "types", {})
        self.types[self.rank_key(want)] = want

    @staticmethod
    def rank_key(a):
        return "_" + "x".join(map(str, a.shape)) if a.ndim else "_scalar"

    def mismatch_fn(self, key, a):
        t = ttype(a)
        axes = ", ".join(str(d) for d in range(a.ndim))
        bt = t.replace("f32>", "i1>")
        lines = [
            f"func.func @mismatches{key}(%got: {t}, %want: {t}) -> tensor<1xf32> {{",
            f"  %diff = kiln.sub %got, %want : {t}, {t}",
            f"  %err = kiln.abs %diff : {t}",
            f"  %mag = kiln.abs %want : {t}",
            f"  %rtol = kiln.constant dense<{mlir_float(RTOL)}> : tensor<f32>",
            f"  %atol = kiln.constant dense<{mlir_float(ATOL)}> : tensor<f32>",
            f"  %rel = kiln.mul %mag, %rtol : {t}, tensor<f32>",
            f"  %bound = kiln.add %rel, %atol : {t}, tensor<f32>",
            # NaN compares false, so it counts as a mismatch.
            f"  %ok = kiln.less %err, %bound : {t}, {t}",
            f"  %bad = kiln.not %ok : {bt}",
            f"  %badf = kiln.cast %bad : {bt} -> {t}",
        ]
        if a.ndim:
            lines.append(f"  %count = kiln.reduce_sum %badf {{axes = array<i64: {axes}>, keepdims = false}} : {t} -> tensor<f32>")
        else:
            lines.append("  %count = kiln.add %badf, %badf : tensor<f32>, tensor<f32>")
        lines += ["  %r = kiln.reshape %count : tensor<f32> -> tensor<1xf32>",
                  "  return %r : tensor<1xf32>", "}"]
        return "\n".join(lines)

    def write(self):
        parts = [RUN, f"// {self.summary}", "// Generated by gen_numerics.py; ONNX Runtime gave the expected outputs.", ""]
        parts += self.checks + [""]
        parts += ["func.func private @printMemrefF32(tensor<*xf32>)", ""]
        parts += [self.mismatch_fn(k, a) for k, a in sorted(self.types.items())] + [""]
        parts += [k + "\n" for k in self.kernels]
        parts += ["func.func @main() {"] + ["  " + l for l in self.main] + ["  return", "}", ""]
        with open(os.path.join(HERE, self.name), "w") as f:
            f.write("\n".join(parts))


rng = np.random.default_rng(1234)


def rnd(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def shape_str(a):
    return "x".join(map(str, a.shape))


# ----------------------------------------------------------------- conv2d
conv = TestFile("numerics-conv.mlir", "conv2d: groups, dilation, padding, strides.")
for title, (n, c, h, w, f, g, k, s, p, d) in [
    ("padded 3x3", (1, 3, 6, 5, 4, 1, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1))),
    ("groups 2, strides (2, 3), dilations (1, 2), asymmetric padding",
     (1, 4, 9, 11, 6, 2, (3, 3), (2, 3), (1, 0, 2, 2), (1, 2))),
    ("depthwise, stride 2", (1, 4, 7, 7, 4, 4, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1))),
    ("depthwise multiplier 2, dilation (2, 1)", (2, 3, 8, 7, 6, 3, (3, 2), (2, 2), (0, 1, 1, 0), (2, 1))),
]:
    x, wt, b = rnd(n, c, h, w), rnd(f, c // g, *k), rnd(f)
    want = onnx_run("Conv", [("x", x), ("w", wt), ("b", b)],
                    dict(strides=list(s), pads=list(p), dilations=list(d), group=g))
    body = (f"%r = kiln.conv2d %x, %w, %b {{strides = array<i64: {s[0]}, {s[1]}>, "
            f"padding = array<i64: {', '.join(map(str, p))}>, dilations = array<i64: {d[0]}, {d[1]}>, "
            f"group = {g} : i64}}\n     : {ttype(x)}, {ttype(wt)}, {ttype(b)} -> {ttype(want)}")
    conv.case(title, [("x", x), ("w", wt), ("b", b)], body, want)
conv.write()

# ---------------------------------------------------------------- pooling
pool = TestFile("numerics-pool.mlir",
                "max/avg pooling: ceil-mode padding, count_include_pad both ways.")
for title, kind, shape, k, s, p, ceil, cip in [
    ("max 3x3/2 pad 1", "max", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), 0, 0),
    ("max ceil_mode with padding", "max", (1, 1, 8, 8), (3, 2), (2, 2), (1, 0, 1, 0), 1, 0),
    ("avg excluding padding", "avg", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), 0, 0),
    ("avg including padding", "avg", (1, 2, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), 0, 1),
    ("avg asymmetric padding, excluding", "avg", (2, 1, 5, 6), (2, 3), (1, 2), (1, 0, 0, 2), 0, 0),
    ("avg asymmetric padding, including", "avg", (2, 1, 5, 6), (2, 3), (1, 2), (1, 0, 0, 2), 0, 1),
    ("avg ceil_mode excluding padding", "avg", (1, 1, 8, 8), (3, 3), (2, 2), (1, 1, 1, 1), 1, 0),
]:
    x = rnd(*shape)
    attrs = dict(kernel_shape=list(k), strides=list(s), pads=list(p), ceil_mode=ceil)
    if kind == "avg":
        attrs["count_include_pad"] = cip
    want = onnx_run("MaxPool" if kind == "max" else "AveragePool", [("x", x)], attrs)
    # The importer expresses ceil_mode as extra bottom/right padding.
    kp = list(p)
    for i in range(2):
        need = (want.shape[2 + i] - 1) * s[i] + k[i] - (shape[2 + i] + p[i] + p[i + 2])
        kp[i + 2] += max(0, need)
    extra = f", count_include_pad = {'true' if cip else 'false'}" if kind == "avg" else ""
    body = (f"%r = kiln.{kind}_pool2d %x {{kernel = array<i64: {k[0]}, {k[1]}>, "
            f"strides = array<i64: {s[0]}, {s[1]}>, padding = array<i64: {', '.join(map(str, kp))}>{extra}}}"
            f"\n     : {ttype(x)} -> {ttype(want)}")
    pool.case(title, [("x", x)], body, want)
pool.write()

# ------------------------------------------------------- normalization
norm = TestFile("numerics-norm.mlir", "softmax, layer_norm and batch_norm.")
for axis, shape in [(2, (2, 3, 6)), (1, (2, 4, 3))]:
    x = rnd(*shape, scale=10.0)
    want = onnx_run("Softmax", [("x", x)], dict(axis=axis))
    norm.case(f"softmax axis {axis}", [("x", x)],
              f"%r = kiln.softmax %x {{axis = {axis} : i64}} : {ttype(x)}", want)
for axis, shape in [(2, (2, 3, 8)), (1, (2, 3, 4))]:
    x = rnd(*shape, scale=3.0) + 5.0
    g, b = rnd(*shape[axis:]), rnd(*shape[axis:])
    want = onnx_run("LayerNormalization", [("x", x), ("g", g), ("b", b)],
                    dict(axis=axis, epsilon=1e-5))
    norm.case(f"layer_norm axis {axis}", [("x", x), ("g", g), ("b", b)],
              f"%r = kiln.layer_norm %x, %g, %b {{axis = {axis} : i64, epsilon = 1.0e-05 : f32}}"
              f" : {ttype(x)}, {ttype(g)}", want)
x = rnd(2, 3, 4, 4)
s, b, m = rnd(3), rnd(3), rnd(3)
v = np.abs(rnd(3)) + 0.1
want = onnx_run("BatchNormalization", [("x", x), ("s", s), ("b", b), ("m", m), ("v", v)],
                dict(epsilon=1e-5))
norm.case("batch_norm", [("x", x), ("s", s), ("b", b), ("m", m), ("v", v)],
          f"%r = kiln.batch_norm %x, %s, %b, %m, %v {{epsilon = 1.0e-05 : f32}} : {ttype(x)}, {ttype(s)}",
          want)
norm.write()

# ----------------------------------------------------------------- matmul
mm = TestFile("numerics-matmul.mlir", "matmul with and without batch broadcasting.")
for sa, sb in [((4, 8), (8, 3)), ((2, 4, 8), (8, 5)), ((2, 4, 8), (2, 8, 5)),
               ((3, 1, 4, 8), (2, 8, 5)), ((5, 3), (2, 1, 3, 4))]:
    a, b = rnd(*sa), rnd(*sb)
    want = onnx_run("MatMul", [("a", a), ("b", b)])
    mm.case(f"{shape_str(a)} x {shape_str(b)}", [("a", a), ("b", b)],
            f"%r = kiln.matmul %a, %b : {ttype(a)}, {ttype(b)}", want)
mm.write()

# ---------------------------------------------------------- gather/slice
gs = TestFile("numerics-gather-slice.mlir", "gather with negative indices, slice with negative steps.")
data = rnd(5, 3, 4)
for axis, idx in [(0, np.array([[-1, 0], [4, -5]], np.int64)),
                  (1, np.array([2, -1, 0, -3], np.int64)),
                  (2, np.array([[1], [-2]], np.int32))]:
    want = onnx_run("Gather", [("d", data), ("i", idx)], dict(axis=axis))
    gs.case(f"gather axis {axis}, indices {idx.tolist()}", [("d", data), ("i", idx)],
            f"%r = kiln.gather %d, %i {{axis = {axis} : i64}} : {ttype(data)}, {ttype(idx)} -> {ttype(want)}",
            want)
x = rnd(4, 5, 6)
for starts, sizes, steps in [((3, 4, 5), (4, 5, 6), (-1, -1, -1)),
                             ((1, 4, 0), (2, 2, 3), (2, -3, 2)),
                             ((0, 1, 0), (4, 3, 3), (1, 1, 2))]:
    index = tuple(np.arange(st, st + n * sp, sp) for st, n, sp in zip(starts, sizes, steps))
    want = x[np.ix_(*index)]
    gs.case(f"slice starts {starts} sizes {sizes} steps {steps}", [("x", x)],
            f"%r = kiln.slice %x {{starts = array<i64: {', '.join(map(str, starts))}>, "
            f"sizes = array<i64: {', '.join(map(str, sizes))}>, steps = array<i64: {', '.join(map(str, steps))}>}}"
            f" : {ttype(x)} -> {ttype(want)}", want)
gs.write()

# ------------------------------------------------------------ elementwise
ew = TestFile("numerics-elementwise.mlir", "activations and broadcasting elementwise ops.")
x, y = rnd(3, 4, scale=2.0), rnd(4)
for title, op, ins, attrs, body in [
    ("gelu (erf)", "Gelu", [("x", x)], dict(approximate="none"), "%r = kiln.gelu %x : {x}"),
    ("gelu (tanh)", "Gelu", [("x", x)], dict(approximate="tanh"),
     "%r = kiln.gelu %x {{approximate = \"tanh\"}} : {x}"),
    ("sigmoid", "Sigmoid", [("x", x * 20)], {}, "%r = kiln.sigmoid %x : {x}"),
    ("leaky_relu", "LeakyRelu", [("x", x)], dict(alpha=0.1), "%r = kiln.leaky_relu %x {{alpha = 0.1 : f32}} : {x}"),
    ("pow, broadcast exponent", "Pow", [("x", np.abs(x) + 0.1), ("y", y)], {}, "%r = kiln.pow %x, %y : {x}, {y}"),
    ("div, broadcast", "Div", [("x", x), ("y", y)], {}, "%r = kiln.div %x, %y : {x}, {y}"),
]:
    want = onnx_run(op, ins, attrs)
    d = dict(ins)
    ew.case(title, ins, body.format(x=ttype(d["x"]), y=ttype(d["y"]) if "y" in d else ""), want)
want = onnx_run("Pow", [("x", x), ("e", np.array(2.0, np.float32))])
ew.case("pow, constant exponent 2 (negative bases)", [("x", x)],
        f"%e = kiln.constant dense<2.0> : tensor<f32>\n%r = kiln.pow %x, %e : {ttype(x)}, tensor<f32>", want)
for e in (3.0, -2.0, 4.0):
    want = onnx_run("Pow", [("x", x), ("e", np.array(e, np.float32))])
    ew.case(f"pow, constant exponent {e:g} (repeated multiplication)", [("x", x)],
            f"%e = kiln.constant dense<{e}> : tensor<f32>\n%r = kiln.pow %x, %e : {ttype(x)}, tensor<f32>", want)
ew.write()

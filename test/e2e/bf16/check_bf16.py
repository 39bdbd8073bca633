#!/usr/bin/env python3
"""kiln compile --precision=bf16 against references we did not write.

Matmuls and convolutions with constant weights round both operands to
bf16 (nearest even) and add the pair products into f32 with vdpbf16ps. So
each such output must equal exact arithmetic on the bf16-rounded operands
up to f32 accumulation error, and differ from the f32 result by the bf16
rounding (proving the bf16 kernel ran). Matmuls of two activations stay
f32. Matmul shapes cover an odd K (a half-empty last pair), N not a
multiple of 16, M = 1, K blocks (partial sums through C) and a bias + ReLU
epilogue; convolutions an odd channel count, batch 2, padding, dilation,
output channels not a multiple of 16, stride 2 (a 7x7 stem on 3 channels, a 3x3) and 1x1 convs whose input channels
run in K blocks (of an even and of an odd size). The conv reference is
ONNX Runtime's fp32 conv on the bf16-rounded input and weights. Then one
BERT-style encoder layer against ONNX Runtime's fp32 outputs by cosine, and
a real pretrained model, all-MiniLM-L6-v2 with its published weights, on 8
real sentences (every embedding's cosine to ORT's fp32 >= 0.999).

usage: check_bf16.py --kiln PATH --work DIR [--model-only]
  --model-only writes DIR/mm.onnx and DIR/convs.onnx and stops (for the codegen test, which
  cross-compiles and needs no AVX512_BF16 host).
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))

# (name, M, K, N, epilogue)
CASES = [("odd_k_ragged_n", 37, 67, 45, True),
         ("gemv", 1, 768, 96, False),
         ("k_blocks", 64, 1000, 130, False),
         ("k_one", 3, 1, 17, False)]
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def bf16(a):
    """Round float32 to bf16 (nearest even; inputs here are finite)."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    u = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16
    return u.astype(np.uint32).view(np.float32)


def build(path, rng):
    nodes, inputs, outputs, inits, weights = [], [], [], [], {}
    for name, m, k, n, epilogue in CASES:
        w = rng.standard_normal((k, n)).astype(np.float32)
        weights[name] = w
        inits.append(numpy_helper.from_array(w, f"{name}_w"))
        inputs.append(helper.make_tensor_value_info(f"{name}_x", TensorProto.FLOAT,
                                                    [m, k]))
        out = f"{name}_y"
        if epilogue:
            bias = rng.standard_normal(n).astype(np.float32)
            weights[name + "_bias"] = bias
            inits.append(numpy_helper.from_array(bias, f"{name}_bias"))
            nodes += [helper.make_node("MatMul", [f"{name}_x", f"{name}_w"], [f"{name}_p"]),
                      helper.make_node("Add", [f"{name}_p", f"{name}_bias"], [f"{name}_b"]),
                      helper.make_node("Relu", [f"{name}_b"], [out])]
        else:
            nodes.append(helper.make_node("MatMul", [f"{name}_x", f"{name}_w"], [out]))
        outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, [m, n]))
    # Activation x activation (attention-like): stays f32.
    inputs += [helper.make_tensor_value_info("q", TensorProto.FLOAT, [2, 8, 32]),
               helper.make_tensor_value_info("kt", TensorProto.FLOAT, [2, 32, 8])]
    nodes.append(helper.make_node("MatMul", ["q", "kt"], ["scores"]))
    outputs.append(helper.make_tensor_value_info("scores", TensorProto.FLOAT, [2, 8, 8]))
    graph = helper.make_graph(nodes, "bf16_matmuls", inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return weights


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"command failed: {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result.stdout


def matmul_cases(kiln, work, rng):
    weights = build(os.path.join(work, "mm.onnx"), rng)
    report = run([kiln, "compile", os.path.join(work, "mm.onnx"), "-o",
                  os.path.join(work, "mm.so"), "--precision=bf16", "--report"])
    kernels = [l for l in report.splitlines() if l.startswith("  matmul")]
    check(sum("bf16 pairs (vdpbf16ps)" in l for l in kernels) == len(CASES),
          f"report: {len(CASES)} bf16 kernels, the activation product in f32")
    feeds = {}
    for name, m, k, n, _ in CASES:
        feeds[f"{name}_x"] = rng.standard_normal((m, k)).astype(np.float32)
    feeds["q"] = rng.standard_normal((2, 8, 32)).astype(np.float32)
    feeds["kt"] = rng.standard_normal((2, 32, 8)).astype(np.float32)
    args = []
    for key, value in feeds.items():
        np.save(os.path.join(work, key + ".npy"), value)
        args += ["--input", f"{key}={os.path.join(work, key + '.npy')}"]
    outs = {}
    for threads in (1, 2):
        out_dir = os.path.join(work, f"out{threads}")
        run([kiln, "run", os.path.join(work, "mm.so"), "--threads", str(threads),
             "--output-dir", out_dir] + args)
        outs[threads] = out_dir
    for name, m, k, n, epilogue in CASES:
        x, w = feeds[f"{name}_x"], weights[name]
        got = np.load(os.path.join(outs[1], f"{name}_y.npy"))
        same = np.load(os.path.join(outs[2], f"{name}_y.npy"))
        ref = bf16(x).astype(np.float64) @ bf16(w).astype(np.float64)
        exact = x.astype(np.float64) @ w.astype(np.float64)
        # f32 accumulation of k rounded steps: errors of random sign grow
        # like sqrt(k) (the worst case k * eps would not tell bf16 from f32
        # operands at k = 1000).
        bound = 8 * np.sqrt(k) * np.finfo(np.float32).eps * (
            np.abs(bf16(x)).astype(np.float64) @ np.abs(bf16(w)).astype(np.float64)) + 1e-30
        if epilogue:
            ref = np.maximum(ref + weights[name + "_bias"], 0)
            exact = np.maximum(exact + weights[name + "_bias"], 0)
        err = np.abs(got - ref)
        check(bool(np.all(err <= bound)),
              f"{name} [{m}x{k}] x [{k}x{n}]: bf16-operand reference, max err "
              f"{err.max():.2e} (bound {bound.max():.2e})")
        if k > 1:
            check(bool(np.abs(got - exact).max() > bound.max()),
                  f"{name}: differs from the f32 product by the rounding "
                  f"({np.abs(got - exact).max():.2e})")
        check(bool(np.array_equal(got, same)), f"{name}: 1 and 2 threads bit-identical")
    scores = np.load(os.path.join(outs[1], "scores.npy"))
    exact = np.matmul(feeds["q"].astype(np.float64), feeds["kt"].astype(np.float64))
    check(bool(np.abs(scores - exact).max() < 1e-4),
          f"activation product stays f32 (max err {np.abs(scores - exact).max():.1e})")


# (name, input, F, kernel, pads, dilation, epilogue, stride)
CONVS = [("c3x3", [2, 5, 9, 11], 20, 3, 1, 1, True, 1),
         ("dilated", [2, 5, 9, 11], 16, 3, 2, 2, False, 1),
         ("c1x1_blocks", [1, 300, 8, 8], 40, 1, 0, 1, False, 1),
         ("c1x1_odd", [1, 301, 7, 7], 16, 1, 0, 1, True, 1),
         ("stem_7x7_s2", [1, 3, 23, 21], 24, 7, 3, 1, True, 2),
         ("c3x3_s2", [1, 32, 14, 14], 32, 3, 1, 1, False, 2)]


def conv_model(path, weights, absolute):
    """The CONVS on their inputs; `absolute`: |W| and no bias or ReLU (its
    outputs are sum |x| |w|, the scale of the accumulation error)."""
    nodes, inputs, outputs, inits = [], [], [], []
    for name, shape, f, k, pad, dil, epilogue, stride in CONVS:
        w, bias = weights[name]
        inits.append(numpy_helper.from_array(np.abs(w) if absolute else w, f"{name}_w"))
        inputs.append(helper.make_tensor_value_info(f"{name}_x", TensorProto.FLOAT, shape))
        conv_inputs = [f"{name}_x", f"{name}_w"]
        if epilogue and not absolute:
            inits.append(numpy_helper.from_array(bias, f"{name}_b"))
            conv_inputs.append(f"{name}_b")
        out = f"{name}_y"
        nodes.append(helper.make_node("Conv", conv_inputs,
                                      [f"{name}_c" if epilogue and not absolute else out],
                                      kernel_shape=[k, k], pads=[pad] * 4,
                                      dilations=[dil, dil], strides=[stride, stride]))
        if epilogue and not absolute:
            nodes.append(helper.make_node("Relu", [f"{name}_c"], [out]))
        outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "bf16_convs", inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def conv_cases(kiln, work, rng):
    import onnxruntime as ort

    weights = {}
    for name, shape, f, k, *_ in CONVS:
        weights[name] = (rng.standard_normal((f, shape[1], k, k)).astype(np.float32),
                         rng.standard_normal(f).astype(np.float32))
    model = os.path.join(work, "convs.onnx")
    conv_model(model, weights, absolute=False)
    report = run([kiln, "compile", model, "-o", os.path.join(work, "convs.so"),
                  "--precision=bf16", "--report"])
    kernels = [l for l in report.splitlines() if l.startswith("  conv2d")]
    check(len(kernels) == len(CONVS) and
          all("bf16 pairs (vdpbf16ps)" in l for l in kernels),
          f"report: {len(CONVS)} bf16 conv kernels")
    feeds, args = {}, []
    for name, shape, *_ in CONVS:
        feeds[f"{name}_x"] = rng.standard_normal(shape).astype(np.float32)
        np.save(os.path.join(work, f"{name}_x.npy"), feeds[f"{name}_x"])
        args += ["--input", f"{name}_x={os.path.join(work, f'{name}_x.npy')}"]
    outs = {}
    for threads in (1, 2):
        outs[threads] = os.path.join(work, f"conv_out{threads}")
        run([kiln, "run", os.path.join(work, "convs.so"), "--threads", str(threads),
             "--output-dir", outs[threads]] + args)
    # References: ORT on the bf16-rounded model and inputs, on the f32
    # ones, and sum |x| |w| for the error bound.
    rounded = {n: (bf16(w), b) for n, (w, b) in weights.items()}
    runs = {}
    for tag, wts, absolute, fix in [("bf16", rounded, False, bf16),
                                    ("f32", weights, False, lambda a: a),
                                    ("abs", rounded, True, lambda a: np.abs(bf16(a)))]:
        path = os.path.join(work, f"convs_{tag}.onnx")
        conv_model(path, wts, absolute)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        runs[tag] = dict(zip(names, session.run(None, {k: fix(v) for k, v in feeds.items()})))
    for name, shape, f, k, *_ in CONVS:
        got = np.load(os.path.join(outs[1], f"{name}_y.npy"))
        same = np.load(os.path.join(outs[2], f"{name}_y.npy"))
        terms = shape[1] * k * k
        bound = (8 * np.sqrt(terms) * np.finfo(np.float32).eps * runs["abs"][f"{name}_y"]
                 + 1e-6)
        err = np.abs(got - runs["bf16"][f"{name}_y"])
        check(bool(np.all(err <= bound)),
              f"conv {name} {shape} -> {f} channels, {k}x{k}: bf16-operand "
              f"reference, max err {err.max():.2e} (bound {bound.max():.2e})")
        diff = np.abs(got - runs["f32"][f"{name}_y"]).max()
        check(bool(diff > bound.max()),
              f"conv {name}: differs from the f32 conv by the rounding ({diff:.2e})")
        check(bool(np.array_equal(got, same)), f"conv {name}: 1 and 2 threads bit-identical")


def encoder_vs_ort(kiln, work):
    import onnxruntime as ort
    from transformer import build_transformer
    from util import save_model

    path = os.path.join(work, "transformer.onnx")
    save_model(build_transformer(0), path)
    run([kiln, "compile", path, "-o", os.path.join(work, "transformer.so"),
         "--precision=bf16"])
    model = onnx.load(path)
    rng = np.random.default_rng(1)
    feeds, args = {}, []
    for inp in model.graph.input:
        dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        if inp.type.tensor_type.elem_type == TensorProto.INT64:
            value = np.ones(dims, np.int64)
        else:
            value = rng.standard_normal(dims).astype(np.float32)
        feeds[inp.name] = value
        np.save(os.path.join(work, f"t_{inp.name}.npy"), value)
        args += ["--input", f"{inp.name}={os.path.join(work, f't_{inp.name}.npy')}"]
    out_dir = os.path.join(work, "t_out")
    run([kiln, "run", os.path.join(work, "transformer.so"), "--output-dir", out_dir] + args)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    for name, want in zip(names, session.run(None, feeds)):
        got = np.load(os.path.join(out_dir, name + ".npy")).astype(np.float64).ravel()
        want = want.astype(np.float64).ravel()
        cosine = float(got @ want / (np.linalg.norm(got) * np.linalg.norm(want)))
        rel = float(np.abs(got - want).max() / np.abs(want).max())
        check(cosine >= 0.999 and rel < 0.05,
              f"encoder output {name} vs ORT fp32: cosine {cosine:.6f}, "
              f"max err / max |ORT| {rel:.2e}")


def real_weights(kiln, work):
    from minilm_eval import MiniLM, cosines

    minilm = MiniLM(kiln, os.path.join(work, "minilm"), 16)
    got = minilm.run("bf16", ["--precision=bf16"])
    c = cosines(got, minilm.reference)
    err = float(np.abs(got - minilm.reference).max())
    check(bool(c.min() >= 0.999),
          f"all-MiniLM-L6-v2 sentence embeddings vs ORT fp32: cosine mean "
          f"{c.mean():.6f} min {c.min():.6f}, max abs err {err:.1e} (of "
          f"max {np.abs(minilm.reference).max():.3f})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kiln", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--model-only", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(0)
    if args.model_only:
        build(os.path.join(args.work, "mm.onnx"), rng)
        conv_model(os.path.join(args.work, "convs.onnx"),
                   {c[0]: (rng.standard_normal((c[2], c[1][1], c[3], c[3])).astype(np.float32),
                           rng.standard_normal(c[2]).astype(np.float32)) for c in CONVS},
                   absolute=False)
        return 0
    matmul_cases(args.kiln, args.work, rng)
    conv_cases(args.kiln, args.work, rng)
    encoder_vs_ort(args.kiln, args.work)
    real_weights(args.kiln, args.work)
    print("FAIL" if failures else "PASS")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Quantize a small model with ONNX Runtime's own tools, compile it with kiln,
run it, and compare with ORT running the same quantized model.

usage: check_ort_quant.py MODEL MODE --kiln KILN --work DIR
                          [--ort-opt all|extended|basic|disable]
                          [--atol-steps N] [--exact-softmax-scale] [--ort-fused]

MODEL and MODE as in test/models/ort_quantized.py (--list). The comparison is
run_e2e.py's (|kiln - ort| <= atol + rtol * |ort|, rtol 1e-4, atol 1e-5),
whose log shows the max abs/rel error.

  --ort-opt LEVEL        ORT's graph optimization level. At `basic` ORT runs a
                         QDQ model node by node (DequantizeLinear, the float
                         op, QuantizeLinear: the ONNX semantics); from
                         `extended` on it fuses QDQ groups into its integer
                         QLinear* kernels.
  --atol-steps N         atol = N quantization steps of the model output (the
                         scale of the DequantizeLinear that produces it) plus
                         1e-5.
  --exact-softmax-scale  set the output scale of every QuantizeLinear after a
                         Softmax to 1/256, a scale whose reciprocal is an
                         integer (see qdq_transformer.test for why).
  --avoid-ties           use the first input seed (from --seed on) for which
                         no DynamicQuantizeLinear input, as ORT computes it
                         node by node, lies within 1e-4 of a step of a
                         rounding tie (x/scale = k + 0.5). There the
                         fp32 summation order alone decides the uint8 code
                         (measured: x/scale = -52.500008 rounded to 75 by
                         ORT, 76 by kiln's 8-lane attention), and one flipped
                         code moves a whole output row by a step.
  --ort-fused            compile the graph ORT's optimizer makes of the
                         quantized model (level extended: QDQ groups fused
                         into QLinearMatMul, com.microsoft QLinearAdd,
                         QLinearSoftmax, ...) instead of the model itself.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.join(ROOT, "test", "models"))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))

import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

import ort_quantized  # noqa: E402
import run_e2e  # noqa: E402


def producers(graph):
    return {o: n for n in graph.node for o in n.output}


def output_step(model):
    """Scale of the DequantizeLinear that produces the (first) graph output."""
    prod = producers(model.graph)
    inits = {t.name: t for t in model.graph.initializer}
    name = model.graph.output[0].name
    node = prod.get(name)
    while node is not None and node.op_type == "Identity":
        node = prod.get(node.input[0])
    if node is None or node.op_type != "DequantizeLinear":
        raise SystemExit("check_ort_quant: the output is not produced by a "
                         "DequantizeLinear; --atol-steps does not apply")
    scale = numpy_helper.to_array(inits[node.input[1]])
    if scale.size != 1:
        raise SystemExit("check_ort_quant: the output scale is not per tensor")
    return float(scale.reshape(()))


def exact_softmax_scale(model):
    prod = producers(model.graph)
    inits = {t.name: t for t in model.graph.initializer}
    changed = 0
    for n in model.graph.node:
        src = prod.get(n.input[0])
        if n.op_type == "QuantizeLinear" and src is not None and src.op_type == "Softmax":
            t = inits[n.input[1]]
            t.CopyFrom(numpy_helper.from_array(np.array(1 / 256, np.float32), t.name))
            changed += 1
    if not changed:
        raise SystemExit("check_ort_quant: no QuantizeLinear after a Softmax")
    print(f"softmax output scales set to 1/256: {changed}")


def tie_distance(path, inputs):
    """The smallest |frac(x / scale) - 0.5| over every DynamicQuantizeLinear
    input of the model at `path`, run by ORT node by node on `inputs`."""
    import onnxruntime as ort

    model = onnx.load(path)
    dql = [n for n in model.graph.node if n.op_type == "DynamicQuantizeLinear"]
    if not dql:
        raise SystemExit("check_ort_quant: --avoid-ties: no DynamicQuantizeLinear")
    wanted = []
    for n in dql:
        wanted += [n.input[0], n.output[1]]
    known = {o.name for o in model.graph.output}
    for name in wanted:
        if name not in known:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
            known.add(name)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    values = dict(zip(wanted, sess.run(wanted, inputs)))
    best = 1.0
    for n in dql:
        steps = values[n.input[0]].astype(np.float64) / float(values[n.output[1]])
        best = min(best, float(np.abs(np.abs(steps - np.floor(steps)) - 0.5).min()))
    return best


def inputs_away_from_ties(path, work, seed, tries=20):
    """Writes DIR/tie_free_inputs/*.npy for the first seed >= `seed` whose
    inputs keep every quantized activation 1e-4 steps from a tie; returns
    (DIR, seed)."""
    import make_inputs

    out = os.path.join(work, "tie_free_inputs")
    for s in range(seed, seed + tries):
        written = make_inputs.make_inputs(path, out, s)
        feeds = {n: np.load(f) for n, f in written.items()}
        d = tie_distance(path, feeds)
        if d > 1e-4:
            print(f"inputs of seed {s}: every quantized activation is "
                  f"{d:.3g} of a step or more from a rounding tie")
            return out, s
        print(f"inputs of seed {s}: an activation is {d:.2g} of a step "
              f"from a rounding tie; next seed")
    raise SystemExit(f"check_ort_quant: no tie-free inputs in {tries} seeds")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("mode")
    p.add_argument("--kiln", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--ort-opt", default="all")
    p.add_argument("--atol-steps", type=float)
    p.add_argument("--exact-softmax-scale", action="store_true")
    p.add_argument("--ort-fused", action="store_true")
    p.add_argument("--avoid-ties", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)

    os.makedirs(a.work, exist_ok=True)
    path = os.path.join(a.work, f"{a.model}_{a.mode}.onnx")
    ort_quantized.make(a.model, a.mode, path, a.seed)
    model = onnx.load(path)
    if a.exact_softmax_scale:
        exact_softmax_scale(model)
        onnx.save(model, path)
    if a.ort_fused:
        import onnxruntime as ort

        fused = os.path.join(a.work, f"{a.model}_{a.mode}_fused.onnx")
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        so.optimized_model_filepath = fused
        ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        path = fused
        model = onnx.load(path)
        ops = sorted({(n.domain + "." if n.domain else "") + n.op_type
                      for n in model.graph.node})
        print("ORT-fused graph ops:", " ".join(ops))
    args = ["--onnx", path, "--kiln", a.kiln, "--work", a.work,
            "--ort-opt", a.ort_opt, "--ort-repeat", "1", "--seed", str(a.seed)]
    if a.avoid_ties:
        in_dir, _ = inputs_away_from_ties(path, a.work, a.seed)
        args += ["--inputs", in_dir]
    if a.atol_steps is not None:
        step = output_step(model)
        atol = a.atol_steps * step + 1e-5
        print(f"output quantization step {step:.6g}: atol {atol:.6g} "
              f"({a.atol_steps:g} steps)")
        args += ["--atol", repr(atol)]
    return run_e2e.main(args)


if __name__ == "__main__":
    sys.exit(main())

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
    if a.atol_steps is not None:
        step = output_step(model)
        atol = a.atol_steps * step + 1e-5
        print(f"output quantization step {step:.6g}: atol {atol:.6g} "
              f"({a.atol_steps:g} steps)")
        args += ["--atol", repr(atol)]
    return run_e2e.main(args)


if __name__ == "__main__":
    sys.exit(main())

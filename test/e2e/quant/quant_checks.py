"""Shared pieces of the quantization e2e checkers (check_weight_quant.py,
check_w8a8.py): pass/fail bookkeeping, running a step, and the two-layer
MLP model (MatMul + Add + Relu + MatMul, random weights, fixed seed) they
compile."""

import shlex
import subprocess

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def exit_status():
    """Prints how the checks went; 0 when all passed, else 1."""
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("PASS")
    return 0


def run(cmd):
    """Runs a step; on failure prints it and exits 2 (a step failed)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        print(f"$ {shlex.join(cmd)}\n{p.stdout}", flush=True)
        raise SystemExit(2)
    return p.stdout


def make_mlp(path, x_shape, k, hidden, n, seed):
    """Writes the MLP x [.., k] -> [.., n] to `path`; returns w1, b1, w2."""
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((k, hidden)) / np.sqrt(k)).astype(np.float32)
    b1 = (rng.standard_normal(hidden) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((hidden, n)) / np.sqrt(hidden)).astype(
        np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]),
             helper.make_node("Add", ["h", "b1"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"])]
    out_shape = list(x_shape[:-1]) + [n]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
         numpy_helper.from_array(w2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return w1, b1, w2

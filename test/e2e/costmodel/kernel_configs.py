#!/usr/bin/env python3
"""Every kernel configuration the cost model may pick computes the right
result: matmuls (constant and runtime B, ragged M/N/K) and convolutions
(3x3, 1x1 flattened, stride 2) compiled with --force-kernel-config over
register tiles of 1-4 vectors, several row counts and K blocks, against
NumPy / ONNX Runtime.

usage: kernel_configs.py KILN WORKDIR
"""
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

kiln, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.RandomState(0)
lanes = 16  # configs name nr in floats; 16 = one AVX-512 vector (two AVX2)


def save(graph, path):
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def check(model, feeds, ref, configs, label):
    bad = 0
    for cfg in configs:
        lib = os.path.join(work, "k.so")
        r = subprocess.run([kiln, "compile", model, "-o", lib, "--force-kernel-config=" + cfg],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"{label} {cfg}: compile failed: {r.stderr[-300:]}")
            bad += 1
            continue
        args = [kiln, "run", lib, "--output-dir", os.path.join(work, "out")]
        for name, value in feeds.items():
            np.save(os.path.join(work, name + ".npy"), value)
            args += ["--input", f"{name}={os.path.join(work, name + '.npy')}"]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode:
            print(f"{label} {cfg}: run failed: {r.stderr[-300:]}")
            bad += 1
            continue
        got = np.load(os.path.join(work, "out", "y.npy"))
        if not np.allclose(got, ref, rtol=1e-4, atol=1e-4):
            print(f"{label} {cfg}: WRONG, max abs error {np.abs(got - ref).max():.3g}")
            bad += 1
    print(f"{label}: {len(configs) - bad}/{len(configs)} configurations correct")
    return bad


bad = 0
for m, n, k, constant in [(7, 45, 70, True), (33, 100, 130, True), (5, 19, 9, False)]:
    a = rng.randn(m, k).astype(np.float32)
    b = rng.randn(k, n).astype(np.float32)
    inputs = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])]
    inits, feeds = [], {"a": a}
    if constant:
        inits.append(numpy_helper.from_array(b, "b"))
    else:
        inputs.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, [k, n]))
        feeds["b"] = b
    path = os.path.join(work, "mm.onnx")
    save(helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["y"])], "g", inputs,
                           [helper.make_tensor_value_info("y", TensorProto.FLOAT, [m, n])],
                           initializer=inits), path)
    configs = [f"{mr},{v * lanes},{kc}" for mr in (1, 3, 7, 14) for v in (1, 2, 3, 4)
               for kc in (8, 512)]
    bad += check(path, feeds, a @ b, configs, f"matmul {m}x{n}x{k} {'constant' if constant else 'runtime'} B")

for c, f, h, kh, stride in [(8, 12, 13, 3, 1), (16, 20, 9, 1, 1), (5, 7, 17, 3, 2)]:
    w = rng.randn(f, c, kh, kh).astype(np.float32)
    x = rng.randn(1, c, h, h).astype(np.float32)
    path = os.path.join(work, "conv.onnx")
    save(helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[kh // 2] * 4, strides=[stride] * 2)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, h])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "w")]), path)
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    configs = [f"{mr},{v * lanes},64" for mr in (1, 6, 14) for v in (1, 2, 3, 4)]
    bad += check(path, {"x": x}, ref, configs, f"conv {f}x{c}x{kh}x{kh} stride {stride}")
print("PASS" if bad == 0 else f"FAIL ({bad})")
sys.exit(1 if bad else 0)

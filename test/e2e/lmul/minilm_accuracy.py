#!/usr/bin/env python3
"""L-Mul accuracy on a real pretrained model: all-MiniLM-L6-v2.

usage: minilm_accuracy.py --kiln KILN --work DIR [--seq 16]

Builds the model from the package's weights (test/models/minilm.py), runs
ONNX Runtime as the fp32 reference, compiles and runs kiln's fp32 build and
one build per L-Mul variant below on the same 8 tokenized sentences, and
prints, per variant, the mean and minimum cosine similarity of the sentence
embeddings to ONNX Runtime's. Checks:
  - kiln fp32 matches ONNX Runtime (rtol 1e-4, atol 1e-5 on the embeddings);
  - attention-only L-Mul (fp32, and 3-bit mantissa operands) keeps every
    sentence's cosine >= 0.99 (issue 6's target);
  - every variant stays above a floor (0.9) and degrades monotonically in
    the expected direction: matmul <= attention for the same format.
Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "models")

VARIANTS = [  # (label, kiln compile flags)
    ("attention fp32", ["--lmul=attention"]),
    ("attention m=3", ["--lmul=attention", "--lmul-mantissa=3"]),
    ("matmul fp32", ["--lmul=matmul"]),
    ("matmul m=4", ["--lmul=matmul", "--lmul-mantissa=4"]),
    ("all fp32", ["--lmul=all"]),
]


def step(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"step failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
        sys.exit(2)


def cosines(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seq", type=int, default=16)
    args = ap.parse_args()
    w = args.work
    os.makedirs(w, exist_ok=True)
    model, inputs = os.path.join(w, "minilm.onnx"), os.path.join(w, "in")
    minilm = os.path.join(MODELS, "minilm.py")
    step([sys.executable, minilm, "export", model, "--seq", str(args.seq)])
    step([sys.executable, minilm, "inputs", inputs, "--seq", str(args.seq)])
    feeds = {n: np.load(os.path.join(inputs, n + ".npy")) for n in ("input_ids", "attention_mask")}

    import onnxruntime as ort
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    ref = dict(zip(names, session.run(None, feeds)))["sentence_embedding"]

    def kiln(label, flags):
        stem = label.replace(" ", "_").replace("=", "")
        lib = os.path.join(w, stem + ".so")
        step([args.kiln, "compile", model, "-o", lib] + flags)
        out = os.path.join(w, stem + "_out")
        step([args.kiln, "run", lib, "--output-dir", out]
             + [f"--input={n}={os.path.join(inputs, n + '.npy')}" for n in feeds])
        return np.load(os.path.join(out, "sentence_embedding.npy"))

    ok = True
    fp32 = kiln("fp32", [])
    err = np.max(np.abs(fp32 - ref))
    same = np.allclose(fp32, ref, rtol=1e-4, atol=1e-5)
    print(f"kiln fp32 vs onnxruntime: max abs error {err:.2e} -> {'ok' if same else 'FAIL'}")
    ok &= same
    results = {}
    for label, flags in VARIANTS:
        c = cosines(kiln(label, flags), ref)
        results[label] = c
        floor = 0.99 if label.startswith("attention") else 0.9
        good = c.min() >= floor
        ok &= good
        print(f"{label:16s} cosine to fp32: mean {c.mean():.5f} min {c.min():.5f} "
              f"(>= {floor}: {'ok' if good else 'FAIL'})")
    for fmt in ("fp32",):
        if results[f"matmul {fmt}"].mean() > results[f"attention {fmt}"].mean():
            print(f"FAIL: matmul {fmt} is closer to fp32 than attention {fmt}")
            ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Shared steps of the real-weights accuracy checks on all-MiniLM-L6-v2
(test/e2e/lmul/minilm_accuracy.py, test/e2e/quant/minilm_quant_accuracy.py):
export the model and 8 tokenized sentences (minilm.py), ONNX Runtime's fp32
sentence embeddings as the reference, kiln compile + run with given flags,
cosine similarity per sentence."""

import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def step(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"step failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
        sys.exit(2)
    return r.stdout


def cosines(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


class MiniLM:
    """The exported model in `work`, its inputs and ORT's embeddings."""

    def __init__(self, kiln, work, seq=16):
        self.kiln, self.work = kiln, work
        os.makedirs(work, exist_ok=True)
        self.model = os.path.join(work, "minilm.onnx")
        self.inputs = os.path.join(work, "in")
        script = os.path.join(HERE, "minilm.py")
        step([sys.executable, script, "export", self.model, "--seq", str(seq)])
        step([sys.executable, script, "inputs", self.inputs, "--seq", str(seq)])
        self.feeds = {n: np.load(os.path.join(self.inputs, n + ".npy"))
                      for n in ("input_ids", "attention_mask")}
        import onnxruntime as ort
        session = ort.InferenceSession(self.model,
                                       providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        self.reference = dict(zip(names, session.run(None, self.feeds)))[
            "sentence_embedding"]

    def run(self, label, flags):
        """kiln compile with `flags`, kiln run: the sentence embeddings."""
        stem = label.replace(" ", "_").replace("=", "")
        lib = os.path.join(self.work, stem + ".so")
        step([self.kiln, "compile", self.model, "-o", lib] + flags)
        out = os.path.join(self.work, stem + "_out")
        step([self.kiln, "run", lib, "--output-dir", out]
             + [f"--input={n}={os.path.join(self.inputs, n + '.npy')}"
                for n in self.feeds])
        return np.load(os.path.join(out, "sentence_embedding.npy"))

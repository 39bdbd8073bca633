#!/usr/bin/env python3
"""L-Mul on real model graphs: accuracy vs fp32 and CPU latency.

usage: bench_lmul.py --kiln PATH/TO/kiln --work DIR [--model transformer]
                     [--onnx MODEL.onnx --input NAME=file.npy ...]
                     [--scopes attention,matmul,all] [--mantissas 3,4,5,0]
                     [--format fp32] [--threads 1] [--iterations 20]
       bench_lmul.py --kiln ... --work DIR --matmul 256x384x384 [--rounds 3]

--matmul MxKxN: one kiln.matmul kernel, fp32 vs L-Mul (fp32 and e4m3
operands), `kiln bench` alternated over --rounds rounds (the machines are
shared: compare the per-round ratios, not single times).

For each scope x mantissa (0: the format's own), compiles the model with
`kiln compile --lmul=SCOPE --lmul-mantissa=M`, runs it on the same inputs
as the fp32 build and reports, per output, the cosine similarity and the
relative L2 error to fp32, plus `kiln bench` median latency and its ratio
to fp32 (same machine, same run, same thread count). Also prints the
`--report` energy estimate of the first L-Mul build.

On a CPU, L-Mul is an emulation: each product becomes ~20 integer ops
(bitcast, and/xor, add, compares, selects) instead of one fused FMA, and
contractions lose the named-matmul path, so expect it to be SLOWER than
fp32; the energy saving needs an adder datapath in hardware.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "test", "models"))


def sh(cmd, capture=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        sys.exit(f"$ {' '.join(cmd)}\n{p.stdout}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--model", default="transformer",
                    help="a test/models/make_model.py name")
    ap.add_argument("--onnx", help="an existing model instead of --model")
    ap.add_argument("--input", action="append", default=[],
                    help="NAME=file.npy for --onnx models (else random)")
    ap.add_argument("--scopes", default="attention,matmul,all")
    ap.add_argument("--mantissas", default="3,4,5,0")
    ap.add_argument("--format", default="fp32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--matmul", help="MxKxN: benchmark one matmul kernel")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    if args.matmul:
        return matmul_kernel(args, work)

    if args.onnx:
        model = os.path.abspath(args.onnx)
    else:
        import make_model
        model = os.path.join(work, args.model + ".onnx")
        if not os.path.exists(model):
            make_model.make(args.model, model)
    inputs = list(args.input)
    if not inputs:
        import make_inputs  # noqa: F401
        sh([sys.executable, os.path.join(ROOT, "test", "models", "make_inputs.py"),
            model, os.path.join(work, "inputs")])
        for f in sorted(os.listdir(os.path.join(work, "inputs"))):
            inputs.append(f"{f[:-4]}={os.path.join(work, 'inputs', f)}")
    run_inputs = sum((["--input", i] for i in inputs), [])

    def build(tag, flags):
        so = os.path.join(work, tag + ".so")
        sh([args.kiln, "compile", model, "-o", so, *flags])
        out = os.path.join(work, "out_" + tag)
        sh([args.kiln, "run", so, *run_inputs, "--output-dir", out,
            "--threads", str(args.threads)])
        outs = {f[:-4]: np.load(os.path.join(out, f)) for f in sorted(os.listdir(out))}
        ms = None
        if not args.no_bench:
            j = json.loads(sh([args.kiln, "bench", so, *run_inputs, "--json",
                               "--threads", str(args.threads),
                               "--iterations", str(args.iterations)]).strip().splitlines()[-1])
            ms = j.get("median_ms")
        return outs, ms

    ref, ref_ms = build("fp32", [])
    print(f"model {model}, threads {args.threads}, L-Mul format {args.format}")
    print(f"{'variant':32s} {'output':24s} {'cosine':>10s} {'rel L2 err':>11s} "
          f"{'median ms':>10s} {'vs fp32':>8s}")
    print(f"{'fp32':32s} {'':24s} {'':>10s} {'':>11s} "
          f"{ref_ms if ref_ms is not None else float('nan'):10.3f} {'1.00x':>8s}")
    report_done = False
    for scope in args.scopes.split(","):
        for m in [int(v) for v in args.mantissas.split(",")]:
            flags = [f"--lmul={scope}", f"--lmul-format={args.format}"]
            if m:
                flags.append(f"--lmul-mantissa={m}")
            tag = f"{scope}_{args.format}_m{m}"
            outs, ms = build(tag, flags)
            for name, r in ref.items():
                if r.dtype.kind != "f":
                    continue
                a, b = r.astype(np.float64).ravel(), outs[name].astype(np.float64).ravel()
                cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
                rel = float(np.linalg.norm(a - b) / np.linalg.norm(a))
                ratio = f"{ms / ref_ms:.2f}x" if ms and ref_ms else ""
                print(f"{'--lmul=' + scope + (' m=' + str(m) if m else ''):32s} "
                      f"{name[:24]:24s} {cos:10.6f} {rel:11.3%} "
                      f"{ms if ms is not None else float('nan'):10.3f} {ratio:>8s}",
                      flush=True)
                if r.ndim == 2:  # [batch, dim] embeddings: per-row cosine
                    ra, rb = r.astype(np.float64), outs[name].astype(np.float64)
                    rows = np.sum(ra * rb, 1) / (np.linalg.norm(ra, axis=1) *
                                                 np.linalg.norm(rb, axis=1))
                    print(f"{'':32s} {'  per row: min cosine':24s} "
                          f"{rows.min():10.6f}", flush=True)
            if not report_done:
                print(sh([args.kiln, "compile", model, "-o",
                          os.path.join(work, "report.mlir"), *flags, "--report"]))
                report_done = True


def matmul_kernel(args, work):
    m, k, n = (int(v) for v in args.matmul.split("x"))
    src = os.path.join(work, "matmul.mlir")
    with open(src, "w") as f:
        f.write(f"""func.func @main(%a: tensor<{m}x{k}xf32> {{kiln.name = "a"}},
    %b: tensor<{k}x{n}xf32> {{kiln.name = "b"}})
    -> (tensor<{m}x{n}xf32> {{kiln.name = "c"}}) attributes {{kiln.entry}} {{
  %c = kiln.matmul %a, %b : tensor<{m}x{k}xf32>, tensor<{k}x{n}xf32>
  return %c : tensor<{m}x{n}xf32>
}}
""")
    variants = {"fp32": [], "lmul-fp32": ["--lmul=matmul"],
                "lmul-e4m3": ["--lmul=matmul", "--lmul-format=e4m3"]}
    for tag, flags in variants.items():
        sh([args.kiln, "compile", src, "-o", os.path.join(work, f"mm_{tag}.so"), *flags])
    print(f"matmul [{m}x{k}] x [{k}x{n}], {m * k * n:,} MACs, threads {args.threads}")
    for r in range(args.rounds):
        times = {}
        for tag in variants:
            j = json.loads(sh([args.kiln, "bench", os.path.join(work, f"mm_{tag}.so"),
                               "--json", "--threads", str(args.threads),
                               "--iterations", str(args.iterations)]).strip().splitlines()[-1])
            times[tag] = j["min_ms"]
        print(f"round {r + 1}: " + ", ".join(
            f"{t} {ms:.3f} ms ({ms / times['fp32']:.2f}x, "
            f"{m * k * n / ms / 1e6:.2f} GMAC/s)" for t, ms in times.items()), flush=True)


if __name__ == "__main__":
    main()

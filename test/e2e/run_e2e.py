#!/usr/bin/env python3
"""End-to-end check: compile a model with kiln, run it, compare to ONNX Runtime.

usage: run_e2e.py --model NAME --kiln PATH/TO/kiln --work DIR
                  [--rtol 1e-4] [--atol 1e-5] [--seed 0] [--shape PARAM=N ...]
                  [--compile-arg ARG ...] [--run-arg ARG ...]
       run_e2e.py --onnx MODEL.onnx [--inputs DIR] [--expected DIR] --kiln ... --work DIR

Steps (every command is printed, so a failure can be replayed by hand):
  1. DIR/NAME.onnx from test/models/make_model.py (cached; regenerated when the
     generator sources, the seed or --regen change it);
  2. DIR/inputs/<name>.npy from make_inputs.py (or copied from --inputs);
  3. DIR/ref/<name>.npy from ONNX Runtime (reference.py), or with --expected
     the stored reference outputs in that directory (ORT is not run);
  4. kiln compile DIR/NAME.onnx -o DIR/NAME.so [--shape PARAM=N ...]
  5. kiln run DIR/NAME.so --input NAME=DIR/inputs/NAME.npy ... --output-dir DIR/out
  6. compare DIR/out/<name>.npy to DIR/ref/<name>.npy for every model output
     with np.allclose semantics (|kiln - ort| <= atol + rtol * |ort|); integer
     and bool outputs must match exactly.
<name> is the tensor name with every character outside [A-Za-z0-9_.-] replaced
by '_'.

Exit status: 0 pass; 1 mismatch or missing/extra-shaped output; 2 a step failed
(kiln crashed or returned non-zero, bad arguments, ...).
"""

import argparse
import glob
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.join(os.path.dirname(HERE), "models")
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, MODELS_DIR)

import make_inputs  # noqa: E402
import make_model  # noqa: E402
import reference  # noqa: E402
from util import sanitize  # noqa: E402

EXIT_PASS, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


class StepError(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


def generator_stamp(name, seed):
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(MODELS_DIR, "*.py"))):
        with open(path, "rb") as f:
            h.update(os.path.basename(path).encode() + b"\0" + f.read())
    h.update(f"{name}|{seed}|onnx {onnx.__version__}|numpy {np.__version__}".encode())
    return h.hexdigest()


def ensure_model(name, work, seed, regen):
    path = os.path.join(work, f"{name}.onnx")
    stamp_path = path + ".stamp"
    stamp = generator_stamp(name, seed)
    if not regen and os.path.exists(path) and os.path.exists(stamp_path):
        with open(stamp_path) as f:
            if f.read().strip() == stamp:
                log(f"model: {path} (cached)")
                return path
    t0 = time.perf_counter()
    files = make_model.make(name, path, seed)
    with open(stamp_path, "w") as f:
        f.write(stamp + "\n")
    size = sum(os.path.getsize(p) for p in files)
    log(f"model: {path} generated in {time.perf_counter() - t0:.2f} s "
        f"({size / 1e6:.1f} MB)")
    return path


def run_tool(cmd, what, timeout):
    log(f"$ {shlex.join(cmd)}")
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        raise StepError(f"{what} timed out after {timeout} s")
    except OSError as e:
        raise StepError(f"{what} could not start: {e}")
    dt = time.perf_counter() - t0
    for stream, text in (("stdout", p.stdout), ("stderr", p.stderr)):
        if text.strip():
            log(f"  [{what} {stream}]")
            for line in text.rstrip().splitlines():
                log(f"    {line}")
    if p.returncode != 0:
        how = (f"was killed by signal {-p.returncode}" if p.returncode < 0
               else f"exited with status {p.returncode}")
        raise StepError(f"{what} {how}")
    return dt, p.stdout


def describe_index(idx):
    return "[" + ",".join(str(int(i)) for i in idx) + "]"


def compare(name, actual, expected, rtol, atol):
    """Prints a report line for one output; returns True when it passes."""
    shape_e, shape_a = list(expected.shape), list(actual.shape)
    if shape_a != shape_e:
        log(f"FAIL {name}: shape {shape_a} (kiln) != {shape_e} (ort)")
        return False
    if actual.dtype != expected.dtype:
        log(f"FAIL {name}: dtype {actual.dtype} (kiln) != {expected.dtype} (ort)")
        return False
    if actual.size == 0:
        log(f"ok   {name}: empty {shape_e}")
        return True
    if expected.dtype.kind not in "fc":
        bad = actual != expected
        n_bad = int(bad.sum())
        if n_bad:
            idx = np.unravel_index(int(np.argmax(bad)), bad.shape)
            log(f"FAIL {name}: {n_bad}/{bad.size} elements differ (exact compare); "
                f"first at {describe_index(idx)}: kiln {actual[idx]} ort {expected[idx]}")
            return False
        log(f"ok   {name}: {expected.dtype}{shape_e} exact match")
        return True
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(a - e)
        rel = np.where(e != 0, diff / np.abs(e), np.where(diff == 0, 0.0, np.inf))
        excess = diff - (atol + rtol * np.abs(e))
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    # NaN in one but not the other is a mismatch; NaN in both is not compared.
    nan_mismatch = nan_a != nan_e
    finite = ~(nan_a | nan_e)
    excess = np.where(finite, excess, np.where(nan_mismatch, np.inf, -np.inf))
    ok = np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
    # Failing: the element furthest outside the tolerance; passing: the
    # element with the largest absolute error.
    pick = excess if not ok else np.where(finite, diff, -np.inf)
    worst = np.unravel_index(int(np.argmax(pick)), pick.shape)
    max_abs = float(np.max(np.where(finite, diff, 0.0)))
    max_rel = float(np.max(np.where(finite, rel, 0.0)))
    n_bad = int((excess > 0).sum())
    status = "ok  " if ok else "FAIL"
    log(f"{status} {name}: {expected.dtype}{shape_e} max abs err {max_abs:.3e}, "
        f"max rel err {max_rel:.3e}, {'worst' if not ok else 'max abs err'} at "
        f"{describe_index(worst)} "
        f"(kiln {a[worst]:.8g}, ort {e[worst]:.8g})"
        + ("" if ok else f"; {n_bad}/{a.size} elements outside "
           f"atol={atol:g} + rtol={rtol:g}*|ort|"))
    return ok


def stored_outputs(model, expected_dir):
    """{output name: DIR/<name>.npy} for every graph output of `model`."""
    out = {}
    for vi in make_inputs.load_graph_only(model).graph.output:
        path = os.path.join(expected_dir, sanitize(vi.name) + ".npy")
        if not os.path.exists(path):
            raise StepError(f"--expected has no file for output '{vi.name}': {path}")
        out[vi.name] = path
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model name known to make_model.py (--list)")
    src.add_argument("--onnx", help="use this existing .onnx file instead")
    p.add_argument("--inputs", help="directory with <input>.npy files to use "
                   "instead of random ones")
    p.add_argument("--expected", help="directory with stored reference outputs "
                   "<output>.npy to compare with instead of running ONNX Runtime "
                   "(needs --inputs)")
    p.add_argument("--kiln", required=True, help="path to the kiln driver")
    p.add_argument("--work", required=True, help="work directory (created)")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--atol", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=0, help="model and input seed")
    p.add_argument("--shape", action="append", default=[], metavar="PARAM=N",
                   help="symbolic dim value; passed to `kiln compile --shape`")
    p.add_argument("--compile-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for `kiln compile` (repeatable)")
    p.add_argument("--run-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for `kiln run` (repeatable)")
    p.add_argument("--ort-threads", type=int, default=0,
                   help="ORT intra-op threads (0: ORT's default)")
    p.add_argument("--ort-opt", default="all", choices=sorted(reference.OPT_LEVELS),
                   help="ORT graph optimization level (default all)")
    p.add_argument("--ort-repeat", type=int, default=10,
                   help="timed ORT runs (median reported)")
    p.add_argument("--timeout", type=int, default=900,
                   help="seconds allowed for each kiln command")
    p.add_argument("--regen", action="store_true", help="regenerate the model")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.expected and not args.inputs:
        log("error: --expected needs --inputs (the inputs those outputs came from)")
        return EXIT_ERROR
    work = os.path.abspath(args.work)
    if os.path.isfile(work):
        os.remove(work)
    os.makedirs(work, exist_ok=True)
    kiln = args.kiln
    if not (os.path.isfile(kiln) and os.access(kiln, os.X_OK)):
        found = shutil.which(kiln)
        if not found:
            log(f"error: kiln driver not found or not executable: {kiln}")
            return EXIT_ERROR
        kiln = found

    try:
        if args.model:
            name = args.model
            model = ensure_model(name, work, args.seed, args.regen)
        else:
            model = os.path.abspath(args.onnx)
            name = os.path.splitext(os.path.basename(model))[0]
            log(f"model: {model}")

        in_dir = os.path.join(work, "inputs")
        shutil.rmtree(in_dir, ignore_errors=True)
        if args.inputs:
            os.makedirs(in_dir)
            inputs = {}
            for n, _, _ in make_inputs.graph_inputs(make_inputs.load_graph_only(model)):
                fname = sanitize(n) + ".npy"
                src = os.path.join(args.inputs, fname)
                if not os.path.exists(src):
                    raise StepError(f"--inputs has no file for input '{n}': {src}")
                inputs[n] = shutil.copy(src, os.path.join(in_dir, fname))
        else:
            shapes = make_inputs.parse_assignments(args.shape, "--shape")
            inputs = make_inputs.make_inputs(model, in_dir, args.seed, shapes)
        for n, path in inputs.items():
            a = np.load(path)
            log(f"input: {n}: {a.dtype}{list(a.shape)} -> {path}")

        if args.expected:
            r = {"outputs": stored_outputs(model, args.expected)}
            for n, path in r["outputs"].items():
                log(f"expected: {n} -> {path} (stored)")
        else:
            ref_dir = os.path.join(work, "ref")
            shutil.rmtree(ref_dir, ignore_errors=True)
            r = reference.run_reference(model, in_dir, ref_dir, args.ort_threads,
                                        args.ort_repeat, args.ort_opt)
            log(f"ort: session {r['load_s'] * 1e3:.1f} ms, first run "
                f"{r['first_run_s'] * 1e3:.3f} ms, run {r['run_s'] * 1e3:.3f} ms "
                f"(median of {r['repeat']}, threads "
                f"{args.ort_threads or 'default'}, optimization {args.ort_opt})")

        artifact = os.path.join(work, f"{name}.so")
        out_dir = os.path.join(work, "out")
        if os.path.exists(artifact):
            os.remove(artifact)
        shutil.rmtree(out_dir, ignore_errors=True)

        compile_cmd = [kiln, "compile", model, "-o", artifact]
        for s in args.shape:
            compile_cmd += ["--shape", s]
        compile_cmd += args.compile_arg
        compile_s, _ = run_tool(compile_cmd, "kiln compile", args.timeout)
        log(f"kiln compile: {compile_s:.3f} s")
        if not os.path.exists(artifact):
            raise StepError(f"kiln compile succeeded but wrote no {artifact}")

        run_cmd = [kiln, "run", artifact]
        for n, path in inputs.items():
            run_cmd += ["--input", f"{n}={path}"]
        run_cmd += ["--output-dir", out_dir] + args.run_arg
        run_s, run_out = run_tool(run_cmd, "kiln run", args.timeout)
        # The driver reports the model's own run time as "ran in X ms".
        m = re.search(r"ran in ([0-9.]+) ms", run_out)
        kiln_ms = float(m.group(1)) if m else None
        log(f"kiln run: {run_s:.3f} s (whole process: load, I/O, run)"
            + (f", model run {kiln_ms:.3f} ms (driver-reported)" if m else ""))
    except (StepError, make_inputs.InputError, reference.ReferenceError) as e:
        log(f"error: {e}")
        log("RESULT: ERROR")
        return EXIT_ERROR

    all_ok = True
    for out_name, ref_path in r["outputs"].items():
        expected = np.load(ref_path)
        got_path = os.path.join(out_dir, sanitize(out_name) + ".npy")
        if not os.path.exists(got_path):
            log(f"FAIL {out_name}: kiln wrote no {got_path}")
            all_ok = False
            continue
        try:
            actual = np.load(got_path)
        except Exception as e:  # noqa: BLE001 - any unreadable file is a failure
            log(f"FAIL {out_name}: cannot read {got_path}: {e}")
            all_ok = False
            continue
        all_ok &= compare(out_name, actual, expected, args.rtol, args.atol)

    kiln_run = (f"kiln run {kiln_ms:.3f} ms (driver), {run_s:.3f} s (process)"
                if kiln_ms is not None else f"kiln run {run_s:.3f} s (process)")
    ort_times = ("ort not run (stored outputs)" if args.expected else
                 f"ort run {r['run_s'] * 1e3:.3f} ms (median), "
                 f"session {r['load_s'] * 1e3:.1f} ms")
    log(f"times: kiln compile {compile_s:.3f} s | {kiln_run} | {ort_times}")
    log(f"RESULT: {'PASS' if all_ok else 'FAIL'} ({name}, rtol={args.rtol:g}, "
        f"atol={args.atol:g})")
    return EXIT_PASS if all_ok else EXIT_MISMATCH


if __name__ == "__main__":
    sys.exit(main())

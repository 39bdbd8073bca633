"""Peak resident memory of a compiled model as an embedding app runs it.

`kiln bench` links the compiler (libLLVM, libMLIR: ~85 MB mapped before any
model), so its RSS is not what running a kiln model costs. app/app_run.c is a
C program linked only against the static kiln runtime, as an app ships it:
it loads the model's .so, runs it a few times on the harness's inputs and
reports its resident set before loading (the baseline) and its peak.

The ORT worker likewise reports its RSS after `import onnxruntime` and before
creating the session, so both sides can be compared on the memory the model
adds as well as on the whole process."""

import os
import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNS = 3  # enough to reach the steady-state peak (workspace, thread stacks)


def runtime_library(kiln):
    """The static runtime of kiln's build tree:
    <build>/runtime/libkiln_runtime.a next to <build>/tools/kiln/kiln."""
    build_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(kiln))))
    return os.path.join(build_dir, "runtime", "libkiln_runtime.a")


def build(cc, kiln, workdir, log, lib=None, extra_sources=(), name="app_run",
          main="app_run.c"):
    """Compiles app/`main` (and `extra_sources`) against `lib`, by
    default runtime_library(kiln). -> the executable's path, or None
    (logged) when that library is missing or the compile fails."""
    lib = lib or runtime_library(kiln)
    if not os.path.exists(lib):
        log(f"bench/perf: no {lib}; the embedded-app RSS is not measured")
        return None
    exe = os.path.join(workdir, name)
    cmd = [cc, "-O2", "-std=c11", "-I", os.path.join(ROOT, "runtime", "include"),
           "-o", exe, os.path.join(HERE, "app", main), *extra_sources, lib,
           # Exports the runtime to the dlopened model, whose parallel loops
           # call it through weak references (serial without them).
           "-rdynamic", "-pthread", "-ldl", "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        log(f"bench/perf: {' '.join(cmd)} failed:\n{r.stderr}")
        return None
    return exe


def raw_inputs(inputs):
    """Writes each input .npy as raw little-endian bytes beside it (what
    app_run reads); -> {name: path}."""
    out = {}
    for name, npy in inputs.items():
        path = npy[:-len(".npy")] + ".bin" if npy.endswith(".npy") else npy + ".bin"
        if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(npy):
            arr = np.load(npy)
            np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).tofile(path)
        out[name] = path
    return out


def measure(run_child, last_json, short_error, exe, so, inputs, threads):
    """Runs app_run on `so` at `threads`; -> {peak_rss_mb, baseline_rss_mb,
    above_baseline_mb, median_ms, runs} or {error}."""
    args = [exe, so, str(threads), str(RUNS)]
    args += [f"{n}={p}" for n, p in raw_inputs(inputs).items()]
    r = run_child(args, timeout=1800)
    if r["rc"] != 0:
        return {"error": short_error(r)}
    res = last_json(r["out"])
    # ru_maxrss of the process (from the launcher) and of app_run's own
    # getrusage agree; the launcher's is the one the other rows use.
    res["peak_rss_mb"] = r["maxrss_mb"]
    res["above_baseline_mb"] = r["maxrss_mb"] - res["baseline_rss_mb"]
    return res

"""Child process for the ONNX Runtime side of bench/perf (run by perf.py, one
process per model and thread count, so its peak RSS is that run's alone).

usage: ort_worker.py SPEC.json   (prints one JSON object on stdout)

SPEC: {"model": path, "inputs": {name: npy}, "threads": N, "warmup": W,
       "target_s": T, "min_iters": a, "max_iters": b, "output_dir": dir|null}

Timing policy (the same as the kiln side): one untimed calibration run,
then `warmup` untimed runs (1 when the calibration run took > 0.5 s, none
when it took > 2 s), then
K timed runs with K = clamp(ceil(T / calibration time), a, b); median/min/max.
"""

import json
import math
import os
import sys
import time

import numpy as np
import onnxruntime as ort


def sanitize(name):
    safe = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
    out = "".join(chr(c) if c in safe else "_" for c in name.encode("utf-8"))
    return "_" + out if out in ("", ".", "..") else out


def current_rss_mb():
    """Resident set now, from /proc/self/statm (pages); None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def main():
    baseline_rss_mb = current_rss_mb()  # Python, numpy and onnxruntime loaded
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(spec["threads"])
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    t0 = time.perf_counter()
    sess = ort.InferenceSession(spec["model"], so, providers=["CPUExecutionProvider"])
    create_s = time.perf_counter() - t0
    feeds = {k: np.load(v) for k, v in spec["inputs"].items()}
    names = [o.name for o in sess.get_outputs()]

    t0 = time.perf_counter()
    outs = sess.run(names, feeds)
    calib = time.perf_counter() - t0
    warmup = 0 if calib > 2.0 else 1 if calib > 0.5 else int(spec["warmup"])
    for _ in range(warmup):
        sess.run(names, feeds)
    iters = int(min(max(math.ceil(spec["target_s"] / max(calib, 1e-6)),
                        spec["min_iters"]), spec["max_iters"]))
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        sess.run(names, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2

    if spec.get("output_dir"):
        os.makedirs(spec["output_dir"], exist_ok=True)
        for name, arr in zip(names, outs):
            np.save(os.path.join(spec["output_dir"], sanitize(name) + ".npy"), arr)
    print(json.dumps({
        "median_ms": median, "min_ms": times[0], "max_ms": times[-1],
        "iterations": n, "warmup": warmup + 1, "calibration_ms": calib * 1e3,
        "session_create_s": create_s, "threads": int(spec["threads"]),
        "ort_version": ort.__version__, "providers": sess.get_providers(),
        "baseline_rss_mb": baseline_rss_mb,
    }))


if __name__ == "__main__":
    main()

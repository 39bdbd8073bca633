#!/usr/bin/env python3
"""kiln vs ONNX Runtime vs the machine's limits, in one run (issue 8).

Run through bench/perf/run.sh, which picks the venv and the kiln binary:

  bench/perf/run.sh [--quick] [--models a,b] [--threads 1,2] [--out DIR]

For each model: generate it (cached in bench/cache/models), write fixed-seed
inputs, count its MatMul/Gemm/Conv FLOPs and weight bytes, compile it with
`kiln compile` (timed, peak RSS), check `kiln run` against ONNX Runtime
(rtol 1e-3, atol 1e-4), then time both sides at each thread count, each in
its own child process (peak RSS from wait4). Prints tables; writes JSON.
See bench/perf/README.md.
"""

import argparse
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, "test", "models"), os.path.join(HERE, "models"), HERE]

import numpy as np  # noqa: E402

import app_memory  # noqa: E402
import flops as flopcount  # noqa: E402
import limits as machine  # noqa: E402
from kiln_binary import default_kiln  # noqa: E402
import make_inputs  # noqa: E402
import registry  # noqa: E402
from util import sanitize  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# -- child processes ----------------------------------------------------------

RUSAGE_RUN = None  # path of the compiled limits/rusage_run.c launcher
APP_RUN = None  # path of the compiled app/app_run.c (runtime-only runner)


def run_child(cmd, timeout, env=None):
    """Runs cmd; -> dict(rc, out, err, wall_s, maxrss_mb, timed_out). Peak RSS
    is the command's own, measured by the tiny rusage_run launcher (a child
    forked from this Python process would inherit its RSS high-water mark).
    Without the launcher, falls back to wait4 here and says so."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe, \
            tempfile.NamedTemporaryFile(suffix=".rss") as fr:
        full = [RUSAGE_RUN, fr.name] + list(cmd) if RUSAGE_RUN else list(cmd)
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=fo, stderr=fe, env=env,
                             start_new_session=True)
        timed_out = False
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(p.pid, 9)  # the launcher and the command it runs
            p.wait()
        wall = time.perf_counter() - t0
        maxrss_mb, inherited = None, True
        if RUSAGE_RUN:
            parts = open(fr.name).read().split()
            if len(parts) == 2:
                maxrss_mb, wall, inherited = int(parts[0]) / 1024.0, float(parts[1]), False
        if maxrss_mb is None:
            maxrss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
        fo.seek(0)
        fe.seek(0)
        return {"rc": p.returncode, "out": fo.read().decode(errors="replace"),
                "err": fe.read().decode(errors="replace"), "wall_s": wall,
                "maxrss_mb": maxrss_mb, "maxrss_upper_bound_only": inherited,
                "timed_out": timed_out}


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in output")


def short_error(r):
    msg = (r["err"] or r["out"]).strip().splitlines()
    tail = " | ".join(msg[-3:]) if msg else ""
    what = "timed out" if r["timed_out"] else f"exit {r['rc']}"
    return f"{what}: {tail}"[:500]


# -- host description ---------------------------------------------------------

def host_info():
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "nproc": os.cpu_count()}
    try:
        txt = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in txt.splitlines():
            k, _, v = line.partition(":")
            k, v = k.strip(), v.strip()
            if k in ("Model name", "L1d cache", "L2 cache", "L3 cache",
                     "Thread(s) per core", "Core(s) per socket", "Socket(s)",
                     "Hypervisor vendor", "CPU max MHz"):
                info[k] = v
            if k == "Flags":
                flags = set(v.split())
                info["simd"] = [f for f in ("avx2", "fma", "avx512f", "avx512bw",
                                            "avx512vl", "avx512_vnni", "avx_vnni",
                                            "amx_tile") if f in flags]
    except OSError:
        pass
    info["l3_bytes"] = _cache_bytes(info.get("L3 cache"))
    info["l2_bytes_per_core"] = _per_instance(info.get("L2 cache"))
    return info


def _cache_bytes(text):
    if not text:
        return None
    num, unit = text.split()[0:2]
    mult = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}.get(unit, 1)
    return int(float(num) * mult)


def _per_instance(text):
    total = _cache_bytes(text)
    if total and "(" in text:
        try:
            n = int(text.split("(")[1].split()[0])
            return total // max(n, 1)
        except ValueError:
            pass
    return total


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except OSError:
        return "unknown"


# -- models, inputs, checks ---------------------------------------------------

def ensure_model(name, cache, seed):
    path = os.path.join(cache, "models", f"{name}-s{seed}.onnx")
    newest_src = max(os.path.getmtime(f) for f in registry.source_files(name))
    if os.path.exists(path) and os.path.getmtime(path) >= newest_src:
        return path, 0.0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path[:3]),
               PYTHONDONTWRITEBYTECODE="1")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, os.path.join(HERE, "models", "registry.py"),
                        name, path, str(seed)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"generating {name} failed: {r.stderr.strip()[-500:]}")
    return path, time.perf_counter() - t0


def compare_outputs(kiln_dir, ort_dir, output_names, cosine=False):
    """allclose per output; with `cosine` (two different quantizations of
    one model) `equal` means every output's cosine to ORT's is >= 0.99."""
    res = {"rtol": RTOL, "atol": ATOL, "outputs": {}, "equal": True,
           "max_abs_err": 0.0}
    for name in output_names:
        fn = sanitize(name) + ".npy"
        k_path, o_path = os.path.join(kiln_dir, fn), os.path.join(ort_dir, fn)
        if not os.path.exists(k_path) or not os.path.exists(o_path):
            res["outputs"][name] = {"error": "missing output file"}
            res["equal"] = False
            continue
        k, o = np.load(k_path), np.load(o_path)
        if k.shape != o.shape:
            res["outputs"][name] = {"error": f"shape {k.shape} vs ORT {o.shape}"}
            res["equal"] = False
            continue
        kf, of = k.astype(np.float64), o.astype(np.float64)
        diff = np.abs(kf - of)
        finite = bool(np.isfinite(kf).all())
        max_abs = float(diff.max()) if diff.size else 0.0
        max_rel = float((diff / np.maximum(np.abs(of), ATOL)).max()) if diff.size else 0.0
        ok = finite and bool(np.allclose(kf, of, rtol=RTOL, atol=ATOL))
        res["outputs"][name] = {"max_abs_err": max_abs, "max_rel_err": max_rel,
                                "ref_max_abs": float(np.abs(of).max()) if of.size else 0.0,
                                "allclose": ok, "finite": finite}
        if cosine:
            cos = float(np.dot(kf.ravel(), of.ravel()) /
                        max(np.linalg.norm(kf) * np.linalg.norm(of), 1e-30))
            res["outputs"][name]["cosine"] = cos
            res["min_cosine"] = min(res.get("min_cosine", 1.0), cos)
            ok = finite and cos >= 0.99
        res["equal"] &= ok
        res["max_abs_err"] = max(res["max_abs_err"], max_abs)
    return res


# -- one model ----------------------------------------------------------------

class Policy:
    """Iteration policy shared by both sides (ort_worker.py repeats it): one
    untimed calibration run, then `warm(calibration)` more untimed runs
    (`warmup`; 1 when a run takes > 0.5 s; none when it takes > 2 s), then
    K = clamp(ceil(target_s / calibration), min_iters, max_iters) timed runs;
    the median is reported."""

    def __init__(self, quick):
        self.warmup = 2 if quick else 5
        self.target_s = 0.5 if quick else 3.0
        self.min_iters = 3 if quick else 5
        self.max_iters = 30 if quick else 200

    def iters(self, calib_s):
        k = math.ceil(self.target_s / max(calib_s, 1e-6))
        return int(min(max(k, self.min_iters), self.max_iters))

    def warm(self, calib_s):
        return 0 if calib_s > 2.0 else 1 if calib_s > 0.5 else self.warmup


def kiln_bench(kiln, so, inputs, threads, policy, estimate_s=None):
    """`kiln bench` with the policy above. The calibration run is a separate
    `kiln bench --iterations 1` process, unless `estimate_s` (an earlier
    measurement of one run: the previous thread count's median, or the
    `kiln run` process time) is at least 1 s, in which case that stands in
    for it (one fewer multi-second run; a timed process still gets one
    untimed run first)."""
    args = [kiln, "bench", so, "--threads", str(threads), "--json"]
    args += [f"--input={n}={p}" for n, p in inputs.items()]
    calib_s = estimate_s if (estimate_s is not None and estimate_s >= 1.0) else None
    if calib_s is None:
        r = run_child(args + ["--warmup", "0", "--iterations", "1"], timeout=1800)
        if r["rc"] != 0:
            return {"error": short_error(r), "maxrss_mb": r["maxrss_mb"]}
        calib_s = last_json(r["out"])["median_ms"] / 1e3
    warm, iters = policy.warm(calib_s) + 1, policy.iters(calib_s)
    timeout = 120 + 3 * calib_s * (warm + iters)
    r = run_child(args + ["--warmup", str(warm), "--iterations", str(iters)],
                  timeout=timeout)
    if r["rc"] != 0:
        return {"error": short_error(r), "maxrss_mb": r["maxrss_mb"]}
    res = last_json(r["out"])
    res.update({"warmup": warm, "calibration_ms": calib_s * 1e3,
                "maxrss_mb": r["maxrss_mb"], "process_wall_s": r["wall_s"]})
    return res


def ort_bench(onnx_path, inputs, threads, policy, work, output_dir=None):
    spec = {"model": onnx_path, "inputs": inputs, "threads": threads,
            "warmup": policy.warmup, "target_s": policy.target_s,
            "min_iters": policy.min_iters, "max_iters": policy.max_iters,
            "output_dir": output_dir}
    spec_path = os.path.join(work, f"ort-spec-{threads}.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    r = run_child([sys.executable, os.path.join(HERE, "ort_worker.py"), spec_path],
                  timeout=1800, env=env)
    if r["rc"] != 0:
        return {"error": short_error(r), "maxrss_mb": r["maxrss_mb"]}
    res = last_json(r["out"])
    res.update({"maxrss_mb": r["maxrss_mb"], "process_wall_s": r["wall_s"]})
    return res


def roofline(counts, limits, host, threads, peak_kind="fma"):
    """Which limit bounds this model at `threads`. Weights that fit in half
    the L3 stay cached across the repeated runs, so their stream is held to
    the L3-resident triad bandwidth; bigger ones to the DRAM triad. The model
    is memory-bound when its FLOP per weight byte is below the machine balance
    (peak FLOP/s / that bandwidth), else compute-bound (fp32 FMA peak, or
    with `peak_kind` "bf16" the vdpbf16ps peak of a --precision=bf16 run)."""
    peak = machine.value(limits, peak_kind, "gflops", threads)
    bw_dram = machine.value(limits, "dram", "triad_gbs", threads)
    bw_l3 = machine.value(limits, "l3", "triad_gbs", threads)
    fl, wb = counts["flops"], counts["weight_bytes"]
    l3 = host.get("l3_bytes")
    level = "L3" if (l3 and wb <= l3 // 2) else "DRAM"
    bw = bw_l3 if level == "L3" else bw_dram
    intensity = fl / wb if wb else None  # None: no weights, never memory-bound
    balance = peak / bw if (peak and bw) else None
    if balance is None:
        bound = "unknown"  # limits not measured (--skip-limits)
    else:
        bound = "memory" if (intensity is not None and intensity < balance) else "compute"
    return {"bound": bound, "peak_kind": peak_kind, "memory_level": level,
            "flop_per_weight_byte": intensity,
            "machine_balance": balance, "peak_gflops": peak, "bandwidth_gbs": bw,
            "dram_gbs": bw_dram, "l3_gbs": bw_l3}


def achieved(ms, counts, roof):
    if ms is None:
        return None
    s = ms / 1e3
    gflops = counts["flops"] / s / 1e9
    gbs = counts["weight_bytes"] / s / 1e9

    def pct(x, lim):
        return 100 * x / lim if lim else None

    res = {"gflops": gflops, "weight_gbs": gbs,
           "pct_peak_flops": pct(gflops, roof["peak_gflops"]),
           "pct_bandwidth": pct(gbs, roof["bandwidth_gbs"]),
           "pct_dram_bw": pct(gbs, roof["dram_gbs"]),
           "pct_l3_bw": pct(gbs, roof["l3_gbs"])}
    res["pct_of_bound"] = (res["pct_bandwidth"] if roof["bound"] == "memory"
                           else res["pct_peak_flops"])
    return res


def bench_model(name, args, kiln, limits, host, policy):
    builder, group, summary = registry.MODELS[name]
    entry = {"name": name, "group": group, "summary": summary,
             "loadavg_start": os.getloadavg()}
    work = os.path.join(args.cache, "perf-work", name)
    os.makedirs(work, exist_ok=True)
    onnx_path, gen_s = ensure_model(name, args.cache, args.seed)
    entry.update({"onnx": onnx_path, "onnx_bytes": os.path.getsize(onnx_path),
                  "generate_s": gen_s})
    inputs = make_inputs.make_inputs(onnx_path, os.path.join(work, "inputs"),
                                     seed=args.seed)
    entry["inputs"] = {k: list(np.load(v, mmap_mode="r").shape) for k, v in inputs.items()}
    counts = flopcount.count(onnx_path, inputs)
    entry["counts"] = counts
    model_proto = make_inputs.load_graph_only(onnx_path)
    output_names = [o.name for o in model_proto.graph.output]
    del model_proto

    # A quantized variant: kiln compiles the fp32 file with its flags, ORT
    # runs its own quantization of it; without flags (None) kiln compiles
    # that same ORT-quantized file.
    kiln_flags, ort_path, kiln_path = [], onnx_path, onnx_path
    if name in registry.VARIANTS:
        _, kiln_flags, ort_quantize = registry.VARIANTS[name]
        ort_path = onnx_path[:-len(".onnx")] + "-ort.onnx"
        if not os.path.exists(ort_path) or \
                os.path.getmtime(ort_path) < os.path.getmtime(onnx_path):
            ort_quantize(onnx_path, ort_path)
        if kiln_flags is None:
            kiln_flags, kiln_path = [], ort_path
        entry["kiln_flags"], entry["ort_onnx"] = kiln_flags, ort_path
        entry["kiln_onnx"] = kiln_path

    # kiln compile (timed, peak RSS of the compiler process).
    so = os.path.join(work, f"{name}.so")
    if os.path.exists(so):
        os.remove(so)
    r = run_child([kiln, "compile", kiln_path, "-o", so] + kiln_flags,
                  timeout=args.compile_timeout)
    entry["compile"] = {"ok": r["rc"] == 0, "seconds": r["wall_s"],
                        "maxrss_mb": r["maxrss_mb"]}
    if r["rc"] != 0:
        entry["compile"]["error"] = short_error(r)
        log(f"  kiln compile FAILED: {entry['compile']['error']}")
    else:
        log(f"  kiln compile {r['wall_s']:.1f} s, peak RSS {r['maxrss_mb']:.0f} MB")
    kiln_ok = r["rc"] == 0

    # Outputs: kiln run vs ORT (the ORT outputs come from its first timed process).
    kiln_out, ort_out = os.path.join(work, "kiln-out"), os.path.join(work, "ort-out")
    for d in (kiln_out, ort_out):
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
    if kiln_ok:
        rr = run_child([kiln, "run", so, "--threads", str(args.threads[0]),
                        "--output-dir", kiln_out] +
                       [f"--input={n}={p}" for n, p in inputs.items()], timeout=1800)
        entry["kiln_run_s"] = rr["wall_s"]
        if rr["rc"] != 0:
            entry["kiln_run_error"] = short_error(rr)
            log(f"  kiln run FAILED: {entry['kiln_run_error']}")

    entry["runs"] = []
    prev_kiln_s = entry.get("kiln_run_s")  # process time: an over-estimate
    for i, t in enumerate(args.threads):
        roof = roofline(counts, limits, host, t)
        # kiln's bf16 matmuls and convs are held to the bf16 peak; ORT runs
        # the fp32 model.
        kiln_roof = roof
        if "--precision=bf16" in entry.get("kiln_flags", []) and limits.get("bf16"):
            kiln_roof = roofline(counts, limits, host, t, "bf16")
        run = {"threads": t, "roofline": roof, "loadavg": os.getloadavg()}
        if kiln_roof is not roof:
            run["kiln_roofline"] = kiln_roof
        # Rounds of kiln then ORT; the one with the median ratio stands.
        rounds = []
        for r in range(max(1, args.rounds)):
            one = {}
            if kiln_ok and "kiln_run_error" not in entry:
                one["kiln"] = kiln_bench(kiln, so, inputs, t, policy, prev_kiln_s)
                if "median_ms" in one["kiln"]:
                    prev_kiln_s = one["kiln"]["median_ms"] / 1e3
            one["ort"] = ort_bench(ort_path, inputs, t, policy, work,
                                   output_dir=ort_out if (i == 0 and r == 0) else None)
            k, o = one.get("kiln", {}).get("median_ms"), one["ort"].get("median_ms")
            one["ratio"] = (o / k) if (k and o) else None
            rounds.append(one)
        ranked = sorted((x for x in rounds if x["ratio"] is not None),
                        key=lambda x: x["ratio"])
        pick = ranked[(len(ranked) - 1) // 2] if ranked else rounds[0]
        if "kiln" in pick:
            run["kiln"] = pick["kiln"]
        run["ort"] = pick["ort"]
        if len(rounds) > 1:
            run["rounds"] = [{"kiln_ms": x.get("kiln", {}).get("median_ms"),
                              "ort_ms": x["ort"].get("median_ms"),
                              "ratio": x["ratio"]} for x in rounds]
        if APP_RUN and "kiln" in run:
            run["kiln_app"] = app_memory.measure(run_child, last_json, short_error,
                                                 APP_RUN, so, inputs, t)
        k_ms = run.get("kiln", {}).get("median_ms")
        o_ms = run["ort"].get("median_ms")
        run["kiln_achieved"] = achieved(k_ms, counts, kiln_roof)
        run["ort_achieved"] = achieved(o_ms, counts, roof)
        run["ratio_ort_over_kiln"] = (o_ms / k_ms) if (k_ms and o_ms) else None
        for side in ("kiln", "ort"):
            if side in run and "error" in run[side]:
                log(f"  {side} bench {t} thr FAILED: {run[side]['error']}")
        entry["runs"].append(run)
        if i == 0:
            if kiln_ok and "kiln_run_error" not in entry and "error" not in run["ort"]:
                entry["check"] = compare_outputs(kiln_out, ort_out, output_names,
                                                 cosine=name in registry.VARIANTS)
            else:
                entry["check"] = None
        log("  " + format_row(entry, run).strip())
    entry["loadavg_end"] = os.getloadavg()
    return entry


# -- tables -------------------------------------------------------------------

def _f(v, fmt, width):
    return f"{'-':>{width}}" if v is None else f"{v:{width}{fmt}}"


def _ach(a, roof):
    if not a:
        return f"{'-':>18}"
    if roof["bound"] == "memory":
        return f"{a['weight_gbs']:8.2f} GB/s {_f(a['pct_bandwidth'], '.0f', 4)}%"
    return f"{a['gflops']:8.2f} GF/s {_f(a['pct_peak_flops'], '.0f', 4)}%"


HEADER = (f"{'model':18} {'thr':>3} {'kiln ms':>10} {'ORT ms':>9} {'ORT/kiln':>8} "
          f"{'bound':>8} {'kiln achieved %lim':>18} {'ORT achieved %lim':>18} "
          f"{'max err':>8} {'eq':>3}")


def format_row(entry, run):
    k, o = run.get("kiln", {}), run["ort"]
    k_ms = k.get("median_ms") if k else None
    chk = entry.get("check")
    if not entry["compile"]["ok"]:
        k_txt = "cmp-fail"
    elif "kiln_run_error" in entry or "error" in k:
        k_txt = "error"
    else:
        k_txt = f"{k_ms:.2f}"
    o_txt = "error" if "error" in o else f"{o['median_ms']:.2f}"
    ratio = run["ratio_ort_over_kiln"]
    roof = run["roofline"]
    bound = {"memory": f"mem-{roof['memory_level']}", "compute": "fp32"}.get(roof["bound"], "-")
    if "kiln_roofline" in run and roof["bound"] == "compute":
        bound = "bf16/f32"  # kiln held to the bf16 peak, ORT to fp32's
    err = chk["max_abs_err"] if chk else None
    eq = ("yes" if chk["equal"] else "NO") if chk else "-"
    if entry["runs"] and run is not entry["runs"][0]:
        err_txt, eq = f"{'':>8}", ""
    else:
        err_txt = _f(err, ".1e", 8)
    return (f"{entry['name']:18} {run['threads']:3d} {k_txt:>10} {o_txt:>9} "
            f"{_f(ratio, '.3f', 8)} {bound:>8} "
            f"{_ach(run['kiln_achieved'], run.get('kiln_roofline', roof)):>18} "
            f"{_ach(run['ort_achieved'], roof):>18} {err_txt} {eq:>3}")


def print_limits(result, lim):
    src = f", reused from {lim['reused_from']}" if lim.get("reused_from") else ""
    print("\nMachine limits (best of repeated runs; C probes built with "
          f"{lim.get('compiler', '?')} {lim.get('cflags', '')}{src})")
    for t in sorted({int(k) for k in lim.get("fma", {})}):
        key = str(t)
        parts = []
        if key in lim["fma"]:
            parts.append(f"fp32 FMA {lim['fma'][key]['gflops']:.1f} GFLOP/s "
                         f"[{lim['fma'][key]['isa']}]")
        if key in lim["int8"]:
            parts.append(f"int8 dot {lim['int8'][key]['gops']:.1f} GOP/s")
        if key in lim.get("bf16", {}):
            parts.append(f"bf16 dot {lim['bf16'][key]['gflops']:.1f} GFLOP/s")
        if key in lim["dram"]:
            parts.append(f"triad {lim['dram'][key]['triad_gbs']:.1f} GB/s "
                         f"(read {lim['dram'][key]['read_gbs']:.1f})")
        if key in lim["l3"]:
            parts.append(f"L3-resident triad {lim['l3'][key]['triad_gbs']:.1f} GB/s")
        print(f"  {t} thr: " + ", ".join(parts))
    counts = sorted(int(k) for k in lim.get("fma", {}))
    if len(counts) > 1:
        one, most = lim["fma"][str(counts[0])]["gflops"], lim["fma"][str(counts[-1])]["gflops"]
        if most < one * (counts[-1] / counts[0]) * 0.8:
            print(f"  NOTE: {counts[-1]}-thread FMA rate is {most / one:.2f}x the "
                  f"{counts[0]}-thread one (ideal {counts[-1] / counts[0]:.0f}x): "
                  "the cores were busy with other work; percentages are unreliable")
    print(f"  triad/read working set 3 x {lim.get('dram_bytes_per_array', 0) >> 20} MiB "
          f"against an L3 of {result['host'].get('L3 cache', '?')} (not >> L3: see "
          f"README); L3-resident triad 3 x {lim.get('l3_bytes_per_array', 0) >> 20} MiB")


KHEADER = (f"{'kernel':18} {'M x N x K':>16} {'thr':>3} {'kiln ms':>9} {'ORT ms':>9} "
           f"{'ORT/kiln':>8} {'kiln GF/s %peak':>16} {'ORT GF/s %peak':>16} "
           f"{'kiln GB/s %bw':>15} {'ORT GB/s %bw':>15} {'max err':>8} {'eq':>3}")


def format_kernel_row(entry, run):
    """Kernels: GFLOP/s and % of the fp32 peak always; for memory-bound ones
    also weight GB/s and % of the bandwidth limit."""
    base = format_row(entry, run)
    k, o = run.get("kiln", {}), run["ort"]
    k_txt = f"{k['median_ms']:.2f}" if "median_ms" in k else "error"
    o_txt = f"{o['median_ms']:.2f}" if "median_ms" in o else "error"
    roof = run["roofline"]
    mnk = "x".join(map(str, registry.KERNEL_MNK.get(entry["name"], ())))

    def gf(a):
        if not a:
            return f"{'-':>16}"
        return f"{a['gflops']:9.2f} {_f(a['pct_peak_flops'], '.0f', 5)}%"

    def bw(a):
        if not a or roof["bound"] != "memory":
            return f"{'':>15}"
        return f"{a['weight_gbs']:6.2f} {roof['memory_level']:>4} {_f(a['pct_bandwidth'], '.0f', 3)}%"

    tail = base[-12:]  # max err + eq columns
    return (f"{entry['name']:18} {mnk:>16} {run['threads']:3d} {k_txt:>9} {o_txt:>9} "
            f"{_f(run['ratio_ort_over_kiln'], '.3f', 8)} {gf(run['kiln_achieved'])} "
            f"{gf(run['ort_achieved'])} {bw(run['kiln_achieved'])} "
            f"{bw(run['ort_achieved'])}{tail}")


def print_summary(result):
    """One line: which models failed where, and which outputs differed."""
    problems = []
    for m in result["models"]:
        if "error" in m:
            problems.append(f"{m['name']} (harness: {m['error'][:80]})")
            continue
        if not m["compile"]["ok"]:
            problems.append(f"{m['name']} (kiln compile)")
        elif "kiln_run_error" in m:
            problems.append(f"{m['name']} (kiln run)")
        elif m.get("check") and not m["check"]["equal"]:
            problems.append(f"{m['name']} (outputs differ from ORT)")
        for r in m.get("runs", []):
            for side in ("kiln", "ort"):
                if "error" in r.get(side, {}):
                    problems.append(f"{m['name']} ({side} bench, {r['threads']} thr)")
    n = len(result["models"])
    if problems:
        print(f"\nProblems ({len(problems)}): " + "; ".join(problems) + " (details in the JSON)")
    else:
        print(f"\nAll {n} models compiled, ran and matched ORT.")


def print_tables(result):
    models = [m for m in result["models"] if "runs" in m]
    for group, title, header, fmt in (
            ("model", "Models", HEADER, format_row),
            ("kernel", "Single kernels (one MatMul node: A [M,K] input x B [K,N] "
             "constant; FLOPs = 2*M*N*K; %peak of the fp32 FMA peak)", KHEADER,
             format_kernel_row)):
        rows = [m for m in models if m["group"] == group]
        if not rows:
            continue
        print(f"\n{title}")
        print(header)
        for m in rows:
            for run in m["runs"]:
                print(fmt(m, run))
    print("\nCompile time and peak resident memory, MB (ru_maxrss of each child "
          "process). app = a C program linked only against the kiln runtime "
          "(bench/perf/app/app_run.c); bench = `kiln bench`, which also maps "
          "libLLVM/libMLIR; ORT = the Python + onnxruntime worker. +model = "
          "peak minus the process's RSS before loading the model (app: libc + "
          "runtime; ORT: Python, numpy, onnxruntime imported)")
    print(f"{'model':18} {'GFLOP':>9} {'weights MB':>10} {'compile s':>9} "
          f"{'compile MB':>10} {'kiln app':>8} {'+model':>7} {'ORT':>6} "
          f"{'+model':>7} {'kiln bench':>10} {'ORT load s':>10}")

    def peak(rows, key):
        vals = [r.get(key) for r in rows if r.get(key) is not None]
        return max(vals) if vals else None

    for m in models:
        kr = [r["kiln"] for r in m["runs"] if "kiln" in r]
        ar = [r["kiln_app"] for r in m["runs"] if "kiln_app" in r]
        orr = [dict(r["ort"], above_baseline_mb=r["ort"]["maxrss_mb"] -
                    r["ort"]["baseline_rss_mb"])
               if r["ort"].get("maxrss_mb") and r["ort"].get("baseline_rss_mb")
               else r["ort"] for r in m["runs"]]
        ol = [r["ort"].get("session_create_s") for r in m["runs"]
              if r["ort"].get("session_create_s") is not None]
        c = m["compile"]
        print(f"{m['name']:18} {m['counts']['flops'] / 1e9:9.4g} "
              f"{m['counts']['weight_bytes'] / 1e6:10.1f} "
              f"{_f(c['seconds'] if c['ok'] else None, '.1f', 9)} "
              f"{c['maxrss_mb']:10.0f} {_f(peak(ar, 'peak_rss_mb'), '.0f', 8)} "
              f"{_f(peak(ar, 'above_baseline_mb'), '.0f', 7)} "
              f"{_f(peak(orr, 'maxrss_mb'), '.0f', 6)} "
              f"{_f(peak(orr, 'above_baseline_mb'), '.0f', 7)} "
              f"{_f(peak(kr, 'maxrss_mb'), '.0f', 10)} "
              f"{_f(min(ol) if ol else None, '.2f', 10)}")
    lim = result["limits"]
    if lim.get("fma"):
        print_limits(result, lim)
    else:
        print("\nMachine limits: not measured (--skip-limits)")
    print("\nNotes: ORT = onnxruntime " + result["tools"]["onnxruntime"] +
          " through its Python API (CPUExecutionProvider, intra_op=N, inter_op=1, "
          "ORT_ENABLE_ALL). ms = median. ORT/kiln > 1 means kiln is faster. "
          "bound: fp32 = FLOP per weight byte above the machine balance: GFLOP/s "
          "and % of the fp32 FMA peak at that thread count; mem-L3 / mem-DRAM = "
          "below it: weight GB/s and % of the L3-resident (weights <= L3/2) or "
          "DRAM triad bandwidth (cache effects can push this past 100%). FLOPs "
          "count MatMul/Gemm/Conv only. eq: kiln "
          f"run vs ORT, allclose(rtol={RTOL}, atol={ATOL}); max err = max |kiln - ORT|.")


# -- main ---------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="kiln vs ONNX Runtime vs machine limits (bench/perf/README.md)")
    p.add_argument("--quick", action="store_true",
                   help=f"fewer iterations, small models only ({','.join(registry.QUICK)})")
    p.add_argument("--models", help="comma-separated names (see --list); "
                   "'all', 'models' and 'kernels' select groups")
    p.add_argument("--threads", default=None,
                   help="comma-separated intra-op thread counts (default 1,<all cores>)")
    p.add_argument("--out", help="JSON file, or a directory for perf-<date>.json "
                   "(default bench/cache/)")
    p.add_argument("--kiln", default=os.environ.get("KILN"),
                   help="kiln binary (default $KILN, else "
                   "$KILN_BUILD_DIR/tools/kiln/kiln, else build/tools/kiln/kiln)")
    p.add_argument("--cache", default=os.path.join(ROOT, "bench", "cache"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-limits", action="store_true",
                   help="do not measure the machine limits (bound and percentages "
                   "become '-')")
    p.add_argument("--limits-from", metavar="JSON",
                   help="reuse the machine limits of an earlier run's JSON "
                   "instead of measuring them")
    p.add_argument("--compile-timeout", type=float, default=1800)
    p.add_argument("--rounds", type=int, default=1,
                   help="time kiln and ORT this many times in turn per thread "
                        "count; the round with the median ratio is reported "
                        "(all rounds are in the JSON). This VM's speed at 2 "
                        "threads moves within minutes: 3 makes a ratio robust")
    p.add_argument("--list", action="store_true", help="list the models and exit")
    p.add_argument("--print", metavar="JSON", dest="print_json",
                   help="print the tables of an earlier run's JSON and exit")
    args = p.parse_args(argv)
    if args.print_json:
        with open(args.print_json) as f:
            print_tables(json.load(f))
        raise SystemExit(0)
    if args.list:
        for n, (_, g, s) in registry.MODELS.items():
            print(f"{n:18} {g:6} {s}{'  [quick]' if n in registry.QUICK else ''}")
        raise SystemExit(0)
    nproc = os.cpu_count() or 1
    args.threads = ([int(x) for x in args.threads.split(",") if x.strip()]
                    if args.threads else sorted({1, nproc}))
    if not args.threads or min(args.threads) < 1:
        p.error("--threads needs positive integers")
    if args.models:
        names = []
        for n in args.models.split(","):
            n = n.strip()
            if n == "all":
                names += list(registry.MODELS)
            elif n in ("models", "kernels"):
                g = n[:-1]
                names += [m for m, v in registry.MODELS.items() if v[1] == g]
            elif n in registry.MODELS:
                names.append(n)
            elif n:
                p.error(f"unknown model '{n}' (try --list)")
        args.names = list(dict.fromkeys(names))
    else:
        args.names = list(registry.QUICK) if args.quick else list(registry.MODELS)
    if not args.kiln:
        args.kiln = default_kiln()
    if not os.access(args.kiln, os.X_OK):
        p.error(f"kiln binary not found at {args.kiln} (build it, or pass --kiln)")
    return args


def main(argv=None):
    args = parse_args(argv)
    import onnxruntime

    started = datetime.datetime.now(datetime.timezone.utc)
    stamp = started.strftime("%Y%m%d-%H%M%S")
    if args.out and args.out.endswith(".json"):
        out_path = args.out
    else:
        out_path = os.path.join(args.out or args.cache, f"perf-{stamp}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)

    host = host_info()
    policy = Policy(args.quick)
    result = {"date": started.isoformat(), "quick": args.quick, "host": host,
              "tools": {"kiln": os.path.abspath(args.kiln), "kiln_git": git_rev(),
                        "onnxruntime": onnxruntime.__version__,
                        "onnxruntime_api": "python",
                        "numpy": np.__version__},
              "config": {"threads": args.threads, "models": args.names,
                         "rounds": args.rounds,
                         "seed": args.seed, "rtol": RTOL, "atol": ATOL,
                         "policy": vars(policy)},
              "models": []}
    log(f"bench/perf: kiln {result['tools']['kiln_git']}, onnxruntime "
        f"{onnxruntime.__version__} (Python API), threads {args.threads}, "
        f"{'quick' if args.quick else 'full'} run, loadavg {os.getloadavg()}")

    global RUSAGE_RUN, APP_RUN
    built = machine.build(os.path.join(args.cache, "perf-work", "limits"), log)
    RUSAGE_RUN = built[2].get("rusage_run")
    APP_RUN = app_memory.build(built[0], args.kiln,
                               os.path.join(args.cache, "perf-work", "limits"), log)
    if not RUSAGE_RUN:
        log("bench/perf: no rusage_run launcher; RSS figures are upper bounds")
    limit_threads = sorted({1, host["nproc"]} | {min(t, host["nproc"]) for t in args.threads})
    if args.limits_from:
        with open(args.limits_from) as f:
            result["limits"] = json.load(f)["limits"]
        result["limits"]["reused_from"] = os.path.abspath(args.limits_from)
        log(f"bench/perf: machine limits reused from {args.limits_from}")
    elif args.skip_limits:
        result["limits"] = {"compiler": built[1], "fma": {}, "int8": {}, "bf16": {},
                            "dram": {}, "l3": {}}
    else:
        result["limits"] = machine.measure(built, limit_threads, args.quick, log)

    for name in args.names:
        log(f"[{name}] {registry.MODELS[name][2]}")
        t_model = time.perf_counter()
        try:
            entry = bench_model(name, args, args.kiln, result["limits"], host, policy)
        except Exception as e:  # noqa: BLE001 - one model must not stop the run
            log(f"  FAILED: {type(e).__name__}: {e}")
            entry = {"name": name, "group": registry.MODELS[name][1],
                     "error": f"{type(e).__name__}: {e}"}
        entry["harness_s"] = time.perf_counter() - t_model
        result["models"].append(entry)
        with open(out_path, "w") as f:  # partial results survive an interrupt
            json.dump(result, f, indent=1)

    result["elapsed_s"] = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print_tables(result)
    print_summary(result)
    print(f"\nJSON: {out_path}   ({result['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

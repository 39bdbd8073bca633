#!/usr/bin/env python3
"""Time each parallel loop of a compiled model, at several thread counts.

usage: regions.py MODEL.so [--threads 1,2] [--runs 100] [--top 25]
                  [--kiln PATH] [--work DIR]

Where does a model lose time at 2 threads? Builds app/app_run.c against a
copy of the static runtime whose kiln_exec_parallel_for is renamed, with
app/region_timer.c in its place, runs the model --runs times per thread
count (inputs zero) and prints, per outlined loop (MODEL_run_kernel_parN,
in call order), its item count n and its fastest call at each thread
count; with two or more counts, the efficiency against the first (t1 / (k
t_k) for k times the threads) and the time lost against perfect scaling,
largest losses first. Serial code between the loops is not timed: the sum
of the loops' mean calls, against `kiln bench`'s median, says how much time
it takes; the sum of their fastest calls, how much noise does.

Not a test: numbers depend on the machine and its load.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import app_memory  # noqa: E402
from kiln_binary import default_kiln  # noqa: E402


def build(kiln, work):
    """-> app_run linked against the renamed runtime and region_timer.c."""
    lib = app_memory.runtime_library(kiln)
    if not os.path.exists(lib):
        sys.exit(f"regions.py: no {lib} (build the runtime first)")
    renamed = os.path.join(work, "libkiln_runtime_timed.a")
    subprocess.run(["objcopy", "--redefine-sym",
                    "kiln_exec_parallel_for=kiln_exec_parallel_for_timed",
                    lib, renamed], check=True)
    cc = os.environ.get("CC") or shutil.which("cc") or "gcc"
    exe = app_memory.build(cc, kiln, work, lambda msg: print(msg, file=sys.stderr),
                           lib=renamed, name="app_run_regions",
                           extra_sources=[os.path.join(HERE, "app", "region_timer.c")])
    if not exe:
        sys.exit("regions.py: cannot build the timing app")
    return exe


def symbols(so):
    """-> {address: name} of the shared object's functions."""
    out = subprocess.run(["nm", so], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            table[int(parts[0], 16)] = parts[2]
    return table


def run(exe, so, threads, runs, work, names):
    """-> [(name, n, min_ns, mean_ns)] in first-call order."""
    times = os.path.join(work, f"regions-{threads}.txt")
    env = dict(os.environ, KILN_REGION_TIMES=times)
    subprocess.run([exe, so, str(threads), str(runs)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    lines = open(times).read().splitlines()
    base = int(lines[-1].split()[1], 16)
    rows = []
    for line in lines[:-1]:
        addr, n, _calls, mean, best = line.split()
        offset = int(addr, 16) - base
        rows.append((names.get(offset, hex(offset)), int(n), float(best), float(mean)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("so")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--kiln", default=default_kiln())
    ap.add_argument("--work", default="")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="kiln-regions-")
    os.makedirs(work, exist_ok=True)
    exe = build(args.kiln, work)
    names = symbols(args.so)
    counts = [int(t) for t in args.threads.split(",")]
    results = {t: run(exe, args.so, t, args.runs, work, names) for t in counts}

    first = counts[0]
    base_rows = results[first]
    header = f"{'loop':<28} {'n':>6}" + "".join(f" {f'{t} thr us':>10}" for t in counts)
    extra = len(counts) > 1
    if extra:
        header += f" {'eff':>5} {'lost us':>8}"
    print(header)
    table = []
    for i, (name, n, t1, _mean) in enumerate(base_rows):
        short = name[name.rfind("_par") + 1:] if "_par" in name else name
        row = [results[t][i][2] if i < len(results[t]) else float("nan") for t in counts]
        eff = lost = 0.0
        if extra:
            last = counts[-1]
            ideal = t1 * first / last
            eff = ideal / row[-1]
            lost = row[-1] - ideal
        table.append((lost, short, n, row, eff))
    if extra:
        table.sort(key=lambda r: -r[0])
    for lost, short, n, row, eff in table[:args.top]:
        line = f"{short:<28} {n:>6}" + "".join(f" {t / 1e3:>10.1f}" for t in row)
        if extra:
            line += f" {eff:>5.2f} {lost / 1e3:>8.1f}"
        print(line)
    # The fastest calls' sum is what the loops can do; the means' sum,
    # against the whole run's time, shows what noise and serial code cost.
    for label, col in (("fastest", 2), ("mean", 3)):
        sums = [sum(r[col] for r in results[t]) / 1e6 for t in counts]
        print(f"sum of {label} calls, ms: " +
              ", ".join(f"{t} thr {s:.2f}" for t, s in zip(counts, sums)))


if __name__ == "__main__":
    main()

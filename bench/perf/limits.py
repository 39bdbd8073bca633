"""Machine limits for bench/perf: compiles the C probes in limits/ with the
system compiler (-O3 -march=native -pthread) and runs them at 1 thread and
at all cores (and at any other requested thread count).

  fma      fp32 FMA GFLOP/s: 16 independent FMA chains per thread, AVX-512 when
           the compiler targets it, else AVX2+FMA
  int8dot  int8 dot-product GOP/s (1 MAC = 2 ops): vpdpbusd with AVX-512 VNNI,
           else vpmaddubsw+vpmaddwd+vpaddd
  bf16dot  bf16 dot-product GFLOP/s (1 MAC = 2 FLOP): vdpbf16ps with
           AVX512_BF16 (the peak of kiln compile --precision=bf16); none
           without it
  stream   STREAM-style triad and read-only sum, GB/s, over arrays far larger
           than L2 (1 GiB each by default; see the README on the 260 MB L3),
           and once more over 16 MiB arrays that stay inside L3.
"""

import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "limits")


def find_compiler():
    for cc in (os.environ.get("CC"), "gcc", "clang", "cc"):
        if cc and shutil.which(cc):
            return cc
    raise SystemExit("bench/perf: no C compiler (gcc/clang) found")


def build(workdir, log):
    cc = find_compiler()
    os.makedirs(workdir, exist_ok=True)
    version = subprocess.run([cc, "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    exes = {}
    for prog in ("fma", "int8dot", "bf16dot", "stream", "rusage_run"):
        exe = os.path.join(workdir, prog)
        cmd = [cc, "-O3", "-march=native", "-pthread", "-o", exe,
               os.path.join(SRC, prog + ".c")]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            log(f"limits: {' '.join(cmd)} failed:\n{r.stderr}")
            exes[prog] = None
        else:
            exes[prog] = exe
    return cc, version, exes


def _run(exe, *args, timeout=600):
    r = subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{exe} failed: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure(built, thread_counts, quick, log):
    """-> dict with per-thread-count results (keys are str(threads)).
    `built`: what build() returned."""
    cc, version, exes = built
    # Many short timed runs (~30-60 ms each at peak), best one kept: on a
    # shared machine a short run is more likely to get a core to itself.
    fma_iters = dot_iters = 10_000_000
    reps = 10 if quick else 25
    big = (256 << 20) if quick else (1 << 30)
    big_reps = 3 if quick else 5
    small = 16 << 20
    out = {"compiler": version, "cflags": "-O3 -march=native -pthread",
           "fma": {}, "int8": {}, "bf16": {}, "dram": {}, "l3": {},
           "dram_bytes_per_array": big, "l3_bytes_per_array": small}
    for t in thread_counts:
        key = str(t)
        if exes["fma"]:
            out["fma"][key] = _run(exes["fma"], t, fma_iters, reps)
            log(f"limits: fp32 FMA {t} thr: {out['fma'][key]['gflops']:.1f} GFLOP/s "
                f"({out['fma'][key]['isa']})")
        if exes["int8dot"]:
            out["int8"][key] = _run(exes["int8dot"], t, dot_iters, reps)
            log(f"limits: int8 dot {t} thr: {out['int8'][key]['gops']:.1f} GOP/s "
                f"({out['int8'][key]['isa']})")
        if exes.get("bf16dot"):
            bf16 = _run(exes["bf16dot"], t, fma_iters, reps)
            if bf16.get("gflops"):
                out["bf16"][key] = bf16
                log(f"limits: bf16 dot {t} thr: {bf16['gflops']:.1f} GFLOP/s "
                    f"({bf16['isa']})")
        if exes["stream"]:
            out["dram"][key] = _run(exes["stream"], t, big, big_reps)
            out["l3"][key] = _run(exes["stream"], t, small, 20)
            log(f"limits: memory {t} thr: triad {out['dram'][key]['triad_gbs']:.1f} GB/s, "
                f"read {out['dram'][key]['read_gbs']:.1f} GB/s "
                f"(3 x {big >> 20} MiB); L3-resident triad "
                f"{out['l3'][key]['triad_gbs']:.1f} GB/s (3 x {small >> 20} MiB)")
    return out


def value(limits, kind, field, threads):
    """The limit `kind`/`field` at `threads`, from the nearest measured thread
    count not above it (or the smallest measured)."""
    table = limits.get(kind, {})
    if not table:
        return None
    counts = sorted(int(k) for k in table)
    below = [c for c in counts if c <= threads]
    pick = below[-1] if below else counts[0]
    return table[str(pick)].get(field)

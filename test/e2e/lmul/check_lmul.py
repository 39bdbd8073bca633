#!/usr/bin/env python3
"""L-Mul numerics of compiled kernels (kiln compile + kiln run).

usage: check_lmul.py golden --kiln PATH/TO/kiln --work DIR
       check_lmul.py tables --kiln PATH/TO/kiln --work DIR [--quick]

golden  bit-exact checks, a few seconds:
        - the golden vectors of docs/techniques.md 1.2-C (fp32 and e4m3);
        - NaN/Inf/zero/subnormal/overflow handling;
        - elementwise kiln.mul for every format and both roundings (and
          reduced mantissas) on inputs spanning the whole float range, and
          kiln.matmul (incl. broadcast batch dims) for 9 of those modes,
          against the NumPy reference lmul_ref.py (the C++ reference's
          twin), with 1 and 2 threads;
        - the driver path: kiln compile --lmul=... on plain IR.
tables  the error tables of techniques.md 1.2-B, computed from compiled
        kernels on the reference scripts' exact inputs (Python `random`,
        same seeds and call order as docs/reference-sims/lmul_error.py and
        lmul_dot.py):
        (i)   exhaustive mantissa grid m = 2..8, mean and max relative
              error, each within 0.01 percentage points;
        (ii)  Gaussian operands, mean relative error, within 0.1 points;
        (iii) 128-dim dot products, relative RMS error, within 0.1 points.
        --quick: (i) only.

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import math
import os
import random
import shlex
import subprocess
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmul_ref  # noqa: E402
from lmul_ref import Params, lmul, lmul_matmul  # noqa: E402

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


class Kiln:
    def __init__(self, kiln, work):
        self.kiln, self.work = kiln, work
        os.makedirs(work, exist_ok=True)

    def _run(self, cmd):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if p.returncode != 0:
            print(f"$ {shlex.join(cmd)}\n{p.stdout}", flush=True)
            raise SystemExit(2)

    def compile(self, name, mlir, *args):
        src = os.path.join(self.work, name + ".mlir")
        with open(src, "w") as f:
            f.write(mlir)
        so = os.path.join(self.work, name + ".so")
        self._run([self.kiln, "compile", src, "-o", so, *args])
        return so

    def run(self, so, inputs, outputs, threads=0):
        base = os.path.splitext(so)[0]
        args = []
        for n, v in inputs.items():
            path = f"{base}.in.{n}.npy"
            np.save(path, np.ascontiguousarray(v, dtype=np.float32))
            args += ["--input", f"{n}={path}"]
        out = f"{base}.out{threads}"
        self._run([self.kiln, "run", so, *args, "--output-dir", out,
                   "--threads", str(threads)])
        return {n: np.load(os.path.join(out, n + ".npy")) for n in outputs}


def ttype(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def module(inputs, body, outputs):
    """inputs/outputs: [(name, shape)]; body: lines using %<name>."""
    args = ", ".join(f'%{n}: {ttype(s)} {{kiln.name = "{n}"}}' for n, s in inputs)
    res = ", ".join(f'{ttype(s)} {{kiln.name = "{n}"}}' for n, s in outputs)
    rets = ", ".join(f"%{n}" for n, _ in outputs)
    rtypes = ", ".join(ttype(s) for _, s in outputs)
    lines = "\n".join("  " + l for l in body)
    return (f"func.func @main({args}) -> ({res}) attributes {{kiln.entry}} {{\n"
            f"{lines}\n  return {rets} : {rtypes}\n}}\n")


def mul_line(out, x, y, shape_x, shape_y, p=None):
    attr = f" {{lmul = {p.attr()}}}" if p else ""
    return f"%{out} = kiln.mul %{x}, %{y}{attr} : {ttype(shape_x)}, {ttype(shape_y)}"


def matmul_line(out, x, y, shape_x, shape_y, p=None):
    attr = f" {{lmul = {p.attr()}}}" if p else ""
    return f"%{out} = kiln.matmul %{x}, %{y}{attr} : {ttype(shape_x)}, {ttype(shape_y)}"


def same_bits(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    if a.shape != b.shape:
        return False, f"shape {a.shape} != {b.shape}"
    nan = np.isnan(a) & np.isnan(b)
    bad = (a.view(np.uint32) != b.view(np.uint32)) & ~nan
    n = int(bad.sum())
    if n:
        i = np.unravel_index(int(np.argmax(bad)), bad.shape)
        return False, (f"{n}/{a.size} differ, first at {list(i)}: kiln "
                       f"{a[i]!r} (0x{int(a.view(np.uint32)[i]):08X}) ref {b[i]!r} "
                       f"(0x{int(b.view(np.uint32)[i]):08X})")
    return True, f"{a.size} values bit-identical"


#===------------------------------------------------------------------------===#
# golden
#===------------------------------------------------------------------------===#

def wide_inputs(n, seed):
    """Random floats over the whole range plus the special values."""
    rng = np.random.default_rng(seed)
    mant = rng.uniform(1.0, 2.0, n)
    exp = rng.integers(-150, 128, n)
    sign = rng.choice([-1.0, 1.0], n)
    x = (sign * np.ldexp(mant, exp)).astype(np.float32)
    # Values near each format's range limits, rounding ties, specials.
    special = np.array([0.0, -0.0, 1e-45, -1e-40, 1.17e-38, np.inf, -np.inf,
                        np.nan, 3.4e38, -3.4e38, 448.0, 464.0, 480.0, 1000.0,
                        57344.0, 61440.0, 65504.0, 65520.0, 2.0**-6, 2.0**-7,
                        2.0**-14, 2.0**-15, 6.1e-5, 1.0625, 1.1875, 1.0, -1.5,
                        2.0**-126, 2.0**127, 1.9999999],
                       dtype=np.float32)
    x[: special.size] = special
    return x


def golden(k):
    # 1. Golden vectors (techniques.md 1.2-C) and special values, fp32 and e4m3.
    fp32, e4m3 = Params("fp32"), Params("e4m3")
    gx = np.array([3.6, 1.0, 1.5, -0.75, 1.875], np.float32)
    gy = np.array([2.1, 1.0, 1.5, 2.5, 1.875], np.float32)
    g32 = np.array([0x40F4CCCC, 0x3F880000, 0x40080000, 0xBFE80000, 0x40680000],
                   np.uint32).view(np.float32)
    dec = lambda c: lmul_ref.decode(c, 4, 3)  # noqa: E731
    ex = np.array([dec(0x3C), dec(0x38), dec(0x44)], np.float32)
    ey = np.array([dec(0x3C), dec(0x38), dec(0x3A)], np.float32)
    e4 = np.array([dec(0x41), dec(0x39), dec(0x47)], np.float32)
    sx = np.array([0, -0.0, np.inf, np.inf, np.nan, 1e-40, 1e-20, 1e30, -np.inf, 2],
                  np.float32)
    sy = np.array([5, 5, 0, -2, 1, 7, 1e-20, -1e30, 1e-40, 3], np.float32)
    mlir = module([("gx", gx.shape), ("gy", gy.shape), ("ex", ex.shape),
                   ("ey", ey.shape), ("sx", sx.shape), ("sy", sy.shape)],
                  [mul_line("g", "gx", "gy", gx.shape, gy.shape, fp32),
                   mul_line("e", "ex", "ey", ex.shape, ey.shape, e4m3),
                   mul_line("s", "sx", "sy", sx.shape, sy.shape, fp32)],
                  [("g", gx.shape), ("e", ex.shape), ("s", sx.shape)])
    so = k.compile("golden", mlir)
    out = k.run(so, dict(gx=gx, gy=gy, ex=ex, ey=ey, sx=sx, sy=sy), ["g", "e", "s"])
    ok, msg = same_bits(out["g"], g32)
    check(ok, f"fp32 golden vectors 3.6*2.1, 1*1, 1.5*1.5, -0.75*2.5, 1.875^2 -> "
          f"{[hex(v) for v in out['g'].view(np.uint32)]}: {msg}")
    ok, msg = same_bits(out["e"], e4)
    check(ok, f"e4m3 golden vectors 0x3C*0x3C=0x41, 0x38*0x38=0x39, "
          f"0x44*0x3A=0x47 -> {out['e'].tolist()}: {msg}")
    s = out["s"]
    expect_s = np.array([0, -0.0, np.nan, -np.inf, np.nan, 0, 0, -3.4028235e38,
                         np.nan, 6.25], np.float32)  # 2 (*) 3 = 0x40C80000
    ok, msg = same_bits(s, expect_s)
    check(ok and np.signbit(s[1]), "special values: 0*5, -0*5, inf*0=nan, "
          "inf*-2=-inf, nan*1, FTZ subnormal, underflow, overflow saturates, "
          f"-inf*subnormal=nan -> {s.tolist()}: {msg}")

    # 2. Every format x rounding (+ reduced mantissas), elementwise and
    #    matmul, bit-exact against the NumPy reference, 1 and 2 threads.
    configs = []
    for fmt, (_, m, _) in lmul_ref.FORMATS.items():
        # fp32 at 23 bits does not round: truncate is the same IR, and two
        # entry results that CSE to one value crash bufferization
        # (promoteBufferResultsToOutParams), a codegen bug outside L-Mul.
        for rounding in ("nearest", "truncate")[: 1 if m == 23 else 2]:
            configs.append(Params(fmt, 0, rounding))
    configs += [Params("fp32", k_) for k_ in (2, 3, 4, 5, 8)]
    configs += [Params("fp16", 5), Params("e4m3", 2)]
    n = 8192
    x, y = wide_inputs(n, 1), wide_inputs(n, 2)[::-1].copy()
    # Matmul operands in a moderate range (sums stay finite), batch dims
    # broadcast ([2,1,M,K] x [3,K,N]) and a 2-D case.
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((2, 1, 5, 33)) * 4).astype(np.float32)
    b = (rng.standard_normal((3, 33, 7)) * 4).astype(np.float32)
    a[0, 0, 0, :4] = [0, 1e-41, 2.0**-7, 500]
    c = (rng.standard_normal((6, 64)) * 3).astype(np.float32)
    d = (rng.standard_normal((64, 9)) * 3).astype(np.float32)
    # Matmuls for a subset (their body only differs from one format to the
    # next in constants; LLVM time grows with every kernel).
    with_matmul = {0, 1, 2, 3, 5, 6, 7, 10, 12}
    body, outs = [], []
    for i, p in enumerate(configs):
        body.append(mul_line(f"z{i}", "x", "y", (n,), (n,), p))
        outs.append((f"z{i}", (n,)))
        if i in with_matmul:
            body.append(matmul_line(f"m{i}", "a", "b", a.shape, b.shape, p))
            body.append(matmul_line(f"q{i}", "c", "d", c.shape, d.shape, p))
            outs += [(f"m{i}", (2, 3, 5, 7)), (f"q{i}", (6, 9))]
    mlir = module([("x", (n,)), ("y", (n,)), ("a", a.shape), ("b", b.shape),
                   ("c", c.shape), ("d", d.shape)], body, outs)
    so = k.compile("formats", mlir)
    names = [o for o, _ in outs]
    inputs = dict(x=x, y=y, a=a, b=b, c=c, d=d)
    out1 = k.run(so, inputs, names, threads=1)
    out2 = k.run(so, inputs, names, threads=2)
    for i, p in enumerate(configs):
        tag = f"{p.fmt} k={p.k} {p.rounding}"
        ok, msg = same_bits(out1[f"z{i}"], lmul(x, y, p))
        check(ok, f"mul    {tag}: {msg}")
        if i not in with_matmul:
            continue
        ok1, msg = same_bits(out1[f"m{i}"], lmul_matmul(a, b, p))
        ok2, msg2 = same_bits(out1[f"q{i}"], lmul_matmul(c, d, p))
        check(ok1 and ok2, f"matmul {tag}: [2,1,5,33]x[3,33,7] {msg}; "
              f"[6,64]x[64,9] {msg2}")
    same = all(same_bits(out1[o], out2[o])[0] for o in names)
    check(same, "1 and 2 threads give identical bits")

    # 3. The driver: plain IR + kiln compile --lmul=...
    plain = module([("x", (n,)), ("y", (n,)), ("c", c.shape), ("d", d.shape)],
                   [mul_line("z", "x", "y", (n,), (n,)),
                    matmul_line("q", "c", "d", c.shape, d.shape)],
                   [("z", (n,)), ("q", (6, 9))])
    for flags, pm, pq in [
            (["--lmul=all", "--lmul-format=e4m3"], Params("e4m3"), Params("e4m3")),
            (["--lmul=all", "--lmul-mantissa=3", "--lmul-rounding=truncate"],
             Params("fp32", 3, "truncate"), Params("fp32", 3, "truncate")),
            (["--lmul=matmul", "--lmul-format=bf16"], None, Params("bf16"))]:
        so = k.compile("driver", plain, *flags)
        out = k.run(so, dict(x=x, y=y, c=c, d=d), ["z", "q"])
        with np.errstate(over="ignore"):
            zref = lmul(x, y, pm) if pm else (x * y).astype(np.float32)
        ok1, m1 = same_bits(out["z"], zref)
        ok2, m2 = same_bits(out["q"], lmul_matmul(c, d, pq))
        check(ok1 and ok2, f"kiln compile {' '.join(flags)}: mul {m1}; matmul {m2}")


#===------------------------------------------------------------------------===#
# tables
#===------------------------------------------------------------------------===#

# docs/techniques.md 1.2-B (docs/reference-sims/*.out), percent.
EXHAUSTIVE = {2: (14.6736, 25.0), 3: (5.2412, 12.5), 4: (5.1408, 12.5),
              5: (2.6659, 7.2884), 6: (2.6574, 7.2884), 7: (2.6555, 7.2884),
              8: (2.6550, 7.2884)}
GAUSSIAN = {2: 14.2861, 3: 5.7153, 4: 5.3018, 5: 2.7531, 7: 2.6878, 23: 2.6829}
DOT = {3: 6.9988, 4: 6.3269, 5: 3.2878, 23: 3.1317}


def exhaustive(k):
    print("\n(i) exhaustive mantissa grid, exponent 0 "
          "(kiln compile --lmul=all --lmul-mantissa=m)")
    print(" m | mean rel err  target  | max rel err  target")
    for m, (t_mean, t_max) in EXHAUSTIVE.items():
        n = 1 << m
        grid = 1.0 + np.arange(n) / n
        x = np.repeat(grid, n).astype(np.float32)
        y = np.tile(grid, n).astype(np.float32)
        plain = module([("x", x.shape), ("y", y.shape)],
                       [mul_line("z", "x", "y", x.shape, y.shape)],
                       [("z", x.shape)])
        so = k.compile(f"exhaustive{m}", plain, "--lmul=all",
                       f"--lmul-mantissa={m}")
        z = k.run(so, dict(x=x, y=y), ["z"])["z"].astype(np.float64)
        exact = x.astype(np.float64) * y
        err = np.abs(z - exact) / exact
        mean, mx = 100 * err.mean(), 100 * err.max()
        print(f" {m} | {mean:8.4f}%  {t_mean:8.4f}% | {mx:8.4f}%  {t_max:8.4f}%")
        check(abs(mean - t_mean) <= 0.01 and abs(mx - t_max) <= 0.01,
              f"exhaustive m={m}: mean {mean:.4f}% (target {t_mean}%), "
              f"max {mx:.4f}% (target {t_max}%), tolerance 0.01 points")


def gaussian(k):
    print("\n(ii) Gaussian N(0,1) operands, N=200000 (lmul_error.py's pairs)")
    random.seed(0)
    pairs = [(random.gauss(0, 1), random.gauss(0, 1)) for _ in range(200000)]
    xd = np.array([p[0] for p in pairs])
    yd = np.array([p[1] for p in pairs])
    x, y = xd.astype(np.float32), yd.astype(np.float32)
    n = x.size
    ms = list(GAUSSIAN)
    mlir = module([("x", (n,)), ("y", (n,))],
                  [mul_line(f"z{m}", "x", "y", (n,), (n,), Params("fp32", m))
                   for m in ms], [(f"z{m}", (n,)) for m in ms])
    so = k.compile("gaussian", mlir)
    out = k.run(so, dict(x=x, y=y), [f"z{m}" for m in ms])
    exact = xd * yd
    keep = exact != 0
    for m in ms:
        z = out[f"z{m}"].astype(np.float64)
        mre = 100 * np.mean(np.abs(z - exact)[keep] / np.abs(exact[keep]))
        check(abs(mre - GAUSSIAN[m]) <= 0.1,
              f"Gaussian L-Mul {m:2d}-bit: mean rel err {mre:.4f}% "
              f"(target {GAUSSIAN[m]}%, tolerance 0.1 points)")


def dots(k):
    print("\n(iii) d=128 dot products, 2000 trials, relative RMS error "
          "(lmul_dot.py's vectors)")
    d, trials = 128, 2000
    random.seed(1)
    blocks = []
    for _ in range(6):  # fp8 e4m3, fp8 e5m2, L-Mul 3, 4, 5, 23 bits
        q = np.empty((trials, d)); kk = np.empty((trials, d))
        for t in range(trials):
            q[t] = [random.gauss(0, 1) for _ in range(d)]
            kk[t] = [random.gauss(0, 1) for _ in range(d)]
        blocks.append((q, kk))
    ms = list(DOT)
    inputs, body, outs = {}, [], []
    for m, (q, kk) in zip(ms, blocks[2:]):
        inputs[f"q{m}"] = q.reshape(trials, 1, d).astype(np.float32)
        inputs[f"k{m}"] = kk.reshape(trials, d, 1).astype(np.float32)
        body.append(matmul_line(f"o{m}", f"q{m}", f"k{m}", (trials, 1, d),
                                (trials, d, 1), Params("fp32", m)))
        outs.append((f"o{m}", (trials, 1, 1)))
    mlir = module([(n, v.shape) for n, v in inputs.items()], body, outs)
    so = k.compile("dots", mlir)
    out = k.run(so, inputs, [o for o, _ in outs])
    for m, (q, kk) in zip(ms, blocks[2:]):
        exact = np.sum(q * kk, axis=1)
        approx = out[f"o{m}"].reshape(trials).astype(np.float64)
        rms = 100 * math.sqrt(np.sum((approx - exact) ** 2) / np.sum(exact ** 2))
        check(abs(rms - DOT[m]) <= 0.1,
              f"dot d=128 L-Mul {m:2d}-bit: relative RMS error {rms:.4f}% "
              f"(target {DOT[m]}%, tolerance 0.1 points)")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["golden", "tables"])
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    k = Kiln(args.kiln, os.path.abspath(args.work))
    if args.what == "golden":
        golden(k)
    else:
        exhaustive(k)
        if not args.quick:
            gaussian(k)
            dots(k)
    if failures:
        print(f"\n{len(failures)} check(s) failed")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

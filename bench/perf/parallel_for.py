#!/usr/bin/env python3
"""What one kiln_exec_parallel_for costs, per thread count and item count.

usage: parallel_for.py [--threads 2] [--items 8,1000] [--lib A.a,B.a]
                       [--rounds 3] [--kiln PATH] [--work DIR]

Builds app/parallel_for_cost.c against the static runtime of kiln's build
tree (or each --lib, e.g. a copy built from another commit, for an A/B
comparison) and prints, per library, thread count and item count, the
best of 20 x 20000 calls in ns per call. Libraries alternate within each
round (--rounds), since this machine's cross-core latency drifts.

Not a test: numbers depend on the machine and its load.
"""

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import app_memory  # noqa: E402
from kiln_binary import default_kiln  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", default="2")
    p.add_argument("--items", default="8,1000")
    p.add_argument("--lib", default="", help="comma-separated static runtimes")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--kiln", default=default_kiln())
    p.add_argument("--work", default="")
    args = p.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="kiln-parallel-for-")
    os.makedirs(work, exist_ok=True)
    libs = args.lib.split(",") if args.lib else [app_memory.runtime_library(args.kiln)]
    exes = [app_memory.build("cc", args.kiln, work, print, lib=lib,
                             name=f"parallel_for_cost{i}", main="parallel_for_cost.c")
            for i, lib in enumerate(libs)]
    if None in exes:
        sys.exit("parallel_for.py: could not build the benchmark (see above)")
    print(f"{'library':40} {'threads':>7} {'items':>7}  ns per call (each round)")
    rows = {}
    for _ in range(args.rounds):
        for lib, exe in zip(libs, exes):
            for t in args.threads.split(","):
                for n in args.items.split(","):
                    out = subprocess.run([exe, t, n], check=True, capture_output=True,
                                         text=True).stdout.strip()
                    rows.setdefault((lib, t, n), []).append(out)
    for (lib, t, n), values in rows.items():
        print(f"{os.path.basename(lib)[-40:]:40} {t:>7} {n:>7}  {' '.join(values)}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""How well one measurement run predicts another: the ceiling for any cost
model judged on these measurements (not a test).

usage: bench/costmodel/repeatability.py RUN1.jsonl RUN2.jsonl [--json OUT]

RUN1 and RUN2 are two `kiln-costmodel collect` runs over the same shapes and
configurations (e.g. the exhaustive search of bench/costmodel/run.py done
twice). Per shape, over the configurations both measured: Kendall tau-b
between the two runs' latencies, and the regret of taking run 1's fastest
configuration as measured in run 2 (run 2's latency of it / run 2's best).
A model cannot rank run 2 better than run 1 itself does, on average.
"""

import argparse
import json
import math
import statistics


def kendall_tau_b(a, b):
    concordant = discordant = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b))
    return (concordant - discordant) / denom if denom else 0.0


def by_config(path):
    rows = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                c = r["config"]
                rows.setdefault(r["shape"], {})[(c["mr"], c["nr"], c["kc"])] = r["latency_ns"]
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run1")
    ap.add_argument("run2")
    ap.add_argument("--json")
    args = ap.parse_args()
    one, two = by_config(args.run1), by_config(args.run2)
    taus, log_regrets, per_shape = [], [], {}
    for shape in sorted(set(one) & set(two)):
        configs = sorted(set(one[shape]) & set(two[shape]))
        if len(configs) < 2:
            continue
        a = [one[shape][c] for c in configs]
        b = [two[shape][c] for c in configs]
        tau = kendall_tau_b(a, b)
        regret = b[a.index(min(a))] / min(b)
        taus.append(tau)
        log_regrets.append(math.log(regret))
        per_shape[shape] = {"configs": len(configs), "tau": tau, "regret": regret}
        print(f"{shape}: {len(configs)} configs, run-to-run tau {tau:.3f}, "
              f"run 1's best in run 2 {regret:.3f}x best")
    if not taus:
        raise SystemExit("no shape measured in both runs")
    summary = {"median_tau": statistics.median(taus),
               "regret_geomean": math.exp(sum(log_regrets) / len(log_regrets)),
               "shapes": per_shape}
    print(f"median run-to-run tau {summary['median_tau']:.3f}, "
          f"regret geomean {summary['regret_geomean']:.3f} over {len(taus)} shapes")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()

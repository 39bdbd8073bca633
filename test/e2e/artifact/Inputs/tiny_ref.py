#!/usr/bin/env python3
"""numpy reference for Inputs/tiny.mlir.

  tiny_ref.py inputs DIR        write input.1.npy, idx.npy (seeded random)
  tiny_ref.py check IN OUT      compare OUT/out_probs.npy and OUT/sum_0.npy
                                (as `kiln run --output-dir` names them) with
                                numpy; print the max errors, exit 1 on mismatch
"""
import os
import sys

import numpy as np

W = np.array([[1.0, -1.0, 2.0], [0.5, 3.0, -2.0]], np.float32)
BIAS = np.array([0.5, -1.0, 0.25], np.float32)


def reference(x, idx):
    idx = np.where(idx < 0, idx + W.shape[0], idx).clip(0, W.shape[0] - 1)
    probs = np.maximum((x + BIAS) * W[idx], 0).astype(np.float32)
    sums = np.concatenate([x.T.sum(axis=1), x.reshape(-1)[1:4:2]])
    return {"out_probs": probs, "sum_0": sums.astype(np.float32)}


def main(argv):
    if len(argv) == 2 and argv[0] == "inputs":
        os.makedirs(argv[1], exist_ok=True)
        rng = np.random.default_rng(7)
        np.save(os.path.join(argv[1], "input.1.npy"),
                rng.standard_normal((2, 3)).astype(np.float32))
        np.save(os.path.join(argv[1], "idx.npy"), np.array([-1, 1], np.int64))
        return 0
    if len(argv) == 3 and argv[0] == "check":
        x = np.load(os.path.join(argv[1], "input.1.npy"))
        idx = np.load(os.path.join(argv[1], "idx.npy"))
        ok = True
        for name, want in reference(x, idx).items():
            got = np.load(os.path.join(argv[2], name + ".npy"))
            if got.dtype != want.dtype or got.shape != want.shape:
                print(f"{name}: got {got.dtype}{list(got.shape)}, "
                      f"expected {want.dtype}{list(want.shape)}")
                ok = False
                continue
            err = float(np.max(np.abs(got - want)))
            good = np.allclose(got, want, rtol=1e-6, atol=1e-6)
            print(f"{name}: {want.dtype}{list(want.shape)} max_abs_err {err:.3g} "
                  f"{'ok' if good else 'MISMATCH'}")
            ok &= bool(good)
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Small portable helpers for the e2e lit tests (lit's internal shell has no
`test`, `$?` or arithmetic).

  helpers.py truncate IN OUT [--fraction 0.5]
      Write the first half (or FRACTION) of IN to OUT, moving the cut back until
      the bytes no longer parse as an ONNX ModelProto, so the file is really
      broken and not a shorter valid message.
  helpers.py expect-exit CODE -- CMD [ARGS...]
      Run CMD (stdout/stderr passed through); succeed only if it exits with
      exactly CODE (not a signal, not another non-zero status).
  helpers.py absent PATH...
      Succeed only if none of the paths exists (e.g. no artifact left behind by
      a failed compile).
  helpers.py check-class LOGITS.npy EXPECTED.txt
      Succeed only if argmax(LOGITS) equals `ort_predicted:` in EXPECTED.txt
      (examples/mnist/expected.txt); prints `class N`.
"""

import os
import subprocess
import sys


def truncate(argv):
    import argparse

    import onnx
    from google.protobuf.message import DecodeError

    p = argparse.ArgumentParser(prog="helpers.py truncate")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--fraction", type=float, default=0.5)
    a = p.parse_args(argv)
    with open(a.src, "rb") as f:
        data = f.read()
    cut = int(len(data) * a.fraction)
    while cut > 0:
        try:
            onnx.ModelProto().ParseFromString(data[:cut])
        except DecodeError:
            break
        cut -= 1  # still a valid (shorter) message: cut somewhere else
    if cut <= 0:
        print("truncate: could not produce an unparsable prefix", file=sys.stderr)
        return 1
    with open(a.dst, "wb") as f:
        f.write(data[:cut])
    print(f"truncate: wrote {cut} of {len(data)} bytes to {a.dst}")
    return 0


def expect_exit(argv):
    if len(argv) < 3 or argv[1] != "--":
        print("usage: helpers.py expect-exit CODE -- CMD [ARGS...]", file=sys.stderr)
        return 2
    want = int(argv[0])
    rc = subprocess.run(argv[2:]).returncode
    if rc == want:
        return 0
    how = f"was killed by signal {-rc}" if rc < 0 else f"exited with status {rc}"
    print(f"expect-exit: {argv[2]} {how}, expected status {want}", file=sys.stderr)
    return 1


def absent(argv):
    present = [p for p in argv if os.path.exists(p)]
    for p in present:
        print(f"absent: {p} exists", file=sys.stderr)
    return 1 if present else 0


def check_class(argv):
    import numpy as np

    got = int(np.argmax(np.load(argv[0]).reshape(-1)))
    with open(argv[1]) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    want = int(fields["ort_predicted"])
    print(f"class {got}")
    if got != want:
        print(f"check-class: predicted {got}, expected {want}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {"truncate": truncate, "expect-exit": expect_exit, "absent": absent,
            "check-class": check_class}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))

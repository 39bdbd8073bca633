#!/usr/bin/env python3
"""Writes a kiln Hessian file (passes/Quantize/InputHessian.h) for the
kiln-weight-quantize lit tests: "KILNHES1", the count, then per Hessian
k, rows and the lower triangle (row-major packed), little-endian.

usage: write_hessians.py OUT K:v0,v1,... [K:...]   (k (k + 1) / 2 values)
       write_hessians.py OUT --garbage              (not a Hessian file)
"""
import struct
import sys

out, specs = sys.argv[1], sys.argv[2:]
with open(out, "wb") as f:
    if specs == ["--garbage"]:
        f.write(b"not a kiln Hessian file")
        sys.exit(0)
    f.write(b"KILNHES1" + struct.pack("<Q", len(specs)))
    for spec in specs:
        k, values = spec.split(":")
        k, values = int(k), [float(v) for v in values.split(",")]
        assert len(values) == k * (k + 1) // 2, spec
        f.write(struct.pack("<qQ", k, 1) + struct.pack(f"<{len(values)}d", *values))

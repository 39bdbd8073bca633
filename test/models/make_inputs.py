#!/usr/bin/env python3
"""Write random inputs for an ONNX model, one .npy per graph input.

usage: make_inputs.py MODEL.onnx OUTDIR [--seed N] [--shape NAME=1x128 ...]
                                        [--dim PARAM=N ...]

File names follow the shared rule: the input name with every character outside
[A-Za-z0-9_.-] replaced by '_', plus '.npy'.

Shapes come from the model. Symbolic dims must be given: `--dim batch=3` sets
dim_param 'batch'; `--shape NAME=2x8` sets a whole input's shape (`--shape
batch=3`, where 'batch' is not an input name, is taken as `--dim batch=3`).

Values: floats ~ N(0, 1); integers uniform in [lo, hi) where the model's
metadata_props has `kiln.input_range.<input name>` = "lo,hi" (e.g. token ids),
else [0, 10); bools uniform. Deterministic for a seed.
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from util import sanitize  # noqa: E402

DEFAULT_INT_RANGE = (0, 10)


class InputError(Exception):
    pass


def load_graph_only(path: str) -> onnx.ModelProto:
    return onnx.load(path, load_external_data=False)


def graph_inputs(model: onnx.ModelProto):
    """[(name, numpy dtype, dims)] for real inputs (not initializer defaults);
    dims entries are int, str (dim_param) or None (unknown)."""
    inits = {t.name for t in model.graph.initializer}
    result = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        dims = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append(None)
        result.append((vi.name, np.dtype(dtype), dims))
    return result


def parse_dims(text: str):
    text = text.strip()
    if text in ("", "scalar"):
        return []
    return [int(v) for v in text.replace(",", "x").split("x")]


def resolve_shape(name, dims, shapes, dim_values):
    if name in shapes:
        return list(shapes[name])
    out = []
    for i, d in enumerate(dims):
        if isinstance(d, int):
            out.append(d)
        elif isinstance(d, str) and d in dim_values:
            out.append(dim_values[d])
        else:
            what = f"symbolic ('{d}')" if isinstance(d, str) else "unknown"
            hint = f"--dim {d}=N or " if isinstance(d, str) else ""
            raise InputError(f"input '{name}' dim {i} is {what}: pass {hint}"
                             f"--shape {name}=AxBx...")
    return out


def random_array(rng, dtype, shape, value_range=None):
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        lo, hi = value_range or DEFAULT_INT_RANGE
        return rng.integers(lo, hi, shape).astype(dtype)
    raise InputError(f"unsupported input dtype {dtype}")


def make_inputs(model_path, outdir, seed=0, shapes=None, dim_values=None):
    """Writes the inputs; returns {input name: .npy path} in graph order."""
    shapes, dim_values = dict(shapes or {}), dict(dim_values or {})
    model = load_graph_only(model_path)
    meta = {p.key: p.value for p in model.metadata_props}
    inputs = graph_inputs(model)
    names = {n for n, _, _ in inputs}
    for key in list(shapes):
        if key not in names:
            dims = shapes.pop(key)
            if len(dims) != 1:
                raise InputError(f"--shape {key}=...: no input named '{key}'")
            dim_values[key] = dims[0]
    os.makedirs(outdir, exist_ok=True)
    written, files = {}, set()
    for idx, (name, dtype, dims) in enumerate(inputs):
        shape = resolve_shape(name, dims, shapes, dim_values)
        rng_ = np.random.default_rng([seed, idx])
        value_range = None
        if f"kiln.input_range.{name}" in meta:
            lo, hi = (int(v) for v in meta[f"kiln.input_range.{name}"].split(","))
            value_range = (lo, hi)
        arr = random_array(rng_, dtype, shape, value_range)
        fname = sanitize(name) + ".npy"
        if fname in files:
            raise InputError(f"two inputs map to the file name {fname}")
        files.add(fname)
        path = os.path.join(outdir, fname)
        np.save(path, arr)
        written[name] = path
    return written


def parse_assignments(items, what):
    out = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"{what} expects NAME=VALUE, got '{item}'")
        k, v = item.split("=", 1)
        out[k] = parse_dims(v)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shape", action="append", metavar="NAME=1x128")
    p.add_argument("--dim", action="append", metavar="PARAM=N")
    args = p.parse_args(argv)
    shapes = parse_assignments(args.shape, "--shape")
    dims = {}
    for k, v in parse_assignments(args.dim, "--dim").items():
        if len(v) != 1:
            raise SystemExit(f"--dim {k}: expects one integer")
        dims[k] = v[0]
    try:
        written = make_inputs(args.model, args.outdir, args.seed, shapes, dims)
    except InputError as e:
        print(f"make_inputs: error: {e}", file=sys.stderr)
        return 1
    for name, path in written.items():
        a = np.load(path)
        print(f"{name}: {a.dtype}{list(a.shape)} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

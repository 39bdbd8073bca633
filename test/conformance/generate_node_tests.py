#!/usr/bin/env python3
"""Writes the official ONNX backend node tests as data for `kiln conformance`.

The layout is the one onnx's own `backend-test-tools generate-data` writes:

    <out>/node/<case>/model.onnx
    <out>/node/<case>/test_data_set_<N>/input_<i>.pb, output_<i>.pb
    <out>/node/<case>/data.json      (only when a case sets its own rtol/atol)

The cases come from `onnx.backend.test.case.node` of the installed `onnx`
package. Wheels of some versions ship without those generator files; then the
sdist of the same version is fetched from the Python package registry (its
sha256 checked against the `#sha256=` fragment of the simple index), and its
`onnx/backend/test/case/node/*.py` are laid over a private copy of the
installed package.

Idempotent: a finished directory carries a stamp (`.kiln-node-tests`) naming
the onnx version and the case count; a second run with the same version only
prints the path. Default output: $XDG_CACHE_HOME/kiln/onnx-node-<version>
(~/.cache/kiln/onnx-node-<version>), where `kiln conformance` looks when it is
given no directory. A directory without the stamp is never overwritten.

Usage:
    generate_node_tests.py [--out DIR] [--force] [--quiet]
Prints the node directory (<out>/node) on its last line of stdout.
"""

from __future__ import annotations

import argparse
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import warnings

STAMP = ".kiln-node-tests"
# Bumped when the written layout changes, so stale caches are rewritten.
FORMAT = 1
SIMPLE_INDEX = "https://pypi.org/simple/onnx/"


def log(args, msg):
    if not args.quiet:
        print(f"generate_node_tests: {msg}", file=sys.stderr, flush=True)


def default_out(version: str) -> str:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "kiln", f"onnx-node-{version}")


def stamp_ok(out: str, version: str) -> bool:
    try:
        with open(os.path.join(out, STAMP)) as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return False
    return (stamp.get("onnx") == version and stamp.get("format") == FORMAT
            and os.path.isdir(os.path.join(out, "node")))


def case_dir_of(onnx_dir: str) -> str:
    return os.path.join(onnx_dir, "backend", "test", "case", "node")


def has_case_files(onnx_dir: str) -> bool:
    files = glob.glob(os.path.join(case_dir_of(onnx_dir), "*.py"))
    return len([f for f in files if not f.endswith("__init__.py")]) > 10


def fetch_sdist(args, version: str) -> str:
    """Downloads onnx-<version>.tar.gz (sha256-checked) into the cache."""
    cache = os.path.join(
        os.environ.get("XDG_CACHE_HOME")
        or os.path.join(os.path.expanduser("~"), ".cache"), "kiln")
    os.makedirs(cache, exist_ok=True)
    name = f"onnx-{version}.tar.gz"
    req = urllib.request.Request(SIMPLE_INDEX, headers={"Accept": "text/html"})
    with urllib.request.urlopen(req, timeout=60) as r:
        index = r.read().decode("utf-8", "replace")
    m = re.search(r'href="([^"#]*/' + re.escape(name) +
                  r')#sha256=([0-9a-f]{64})"', index)
    if not m:
        sys.exit(f"generate_node_tests: {name} is not listed in {SIMPLE_INDEX}")
    url, sha = m.group(1), m.group(2)
    path = os.path.join(cache, name)

    def digest(p):
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()

    if not (os.path.exists(path) and digest(path) == sha):
        log(args, f"downloading {url}")
        tmp = path + f".part{os.getpid()}"
        with urllib.request.urlopen(url, timeout=300) as r, open(tmp, "wb") as f:
            shutil.copyfileobj(r, f)
        got = digest(tmp)
        if got != sha:
            os.unlink(tmp)
            sys.exit(f"generate_node_tests: sha256 mismatch for {url}: "
                     f"expected {sha}, got {got}")
        os.replace(tmp, path)
    return path


def overlay_package(args, onnx_dir: str, version: str, tmp: str) -> str:
    """A copy of the installed onnx with the sdist's case generators."""
    sdist = fetch_sdist(args, version)
    root = os.path.join(tmp, "pkg")
    shutil.copytree(onnx_dir, os.path.join(root, "onnx"), symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    dest = case_dir_of(os.path.join(root, "onnx"))
    os.makedirs(dest, exist_ok=True)
    prefix = f"onnx-{version}/onnx/backend/test/case/node/"
    count = 0
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            rel = member.name[len(prefix):]
            if (member.isfile() and member.name.startswith(prefix)
                    and member.name.endswith(".py")
                    and ".." not in rel.split("/")):
                target = os.path.join(dest, *rel.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(tar.extractfile(member).read())
                count += 1
    if count < 10:
        sys.exit(f"generate_node_tests: {sdist} holds no case generators")
    log(args, f"overlaid {count} case generators from {os.path.basename(sdist)}")
    return root


def write_cases(node_dir: str) -> int:
    """Runs in the process that imports the (possibly overlaid) onnx."""
    warnings.filterwarnings("ignore")
    import numpy as np  # noqa: F401
    from onnx import TensorProto, numpy_helper
    from onnx.backend.test.case.node import collect_testcases

    def serialize(value, value_info):
        t = value_info.type
        if t.HasField("map_type"):
            return numpy_helper.from_dict(value, value_info.name)
        if t.HasField("sequence_type"):
            return numpy_helper.from_list(value, value_info.name)
        if t.HasField("optional_type"):
            return numpy_helper.from_optional(value, value_info.name)
        if isinstance(value, TensorProto):
            return value
        return numpy_helper.from_array(value, value_info.name)

    cases = collect_testcases(None)
    names = set()
    for case in cases:
        if case.name in names:
            raise SystemExit(f"generate_node_tests: duplicate case {case.name}")
        names.add(case.name)
        d = os.path.join(node_dir, case.name)
        os.makedirs(d)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        if (case.rtol, case.atol) != (1e-3, 1e-7):
            with open(os.path.join(d, "data.json"), "w") as f:
                json.dump({"rtol": case.rtol, "atol": case.atol}, f,
                          sort_keys=True)
        graph = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, f"test_data_set_{i}")
            os.makedirs(ds)
            for j, value in enumerate(inputs):
                with open(os.path.join(ds, f"input_{j}.pb"), "wb") as f:
                    f.write(serialize(value, graph.input[j]).SerializeToString())
            for j, value in enumerate(outputs):
                with open(os.path.join(ds, f"output_{j}.pb"), "wb") as f:
                    f.write(serialize(value, graph.output[j]).SerializeToString())
    return len(cases)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="output directory (holds node/)")
    p.add_argument("--force", action="store_true", help="rewrite even if stamped")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--write-into", help=argparse.SUPPRESS)  # internal
    args = p.parse_args()

    if args.write_into:  # child: the onnx on sys.path has the generators
        n = write_cases(args.write_into)
        print(n)
        return 0

    import onnx
    version = onnx.__version__
    onnx_dir = os.path.dirname(os.path.abspath(onnx.__file__))
    out = os.path.abspath(args.out or default_out(version))
    node_dir = os.path.join(out, "node")
    if not args.force and stamp_ok(out, version):
        print(node_dir)
        return 0

    if (os.path.exists(out) and os.listdir(out)
            and not os.path.exists(os.path.join(out, STAMP))):
        sys.exit(f"generate_node_tests: {out} exists and was not written by "
                 "this script; not overwriting it")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    # One writer at a time (test runs of several build trees share the
    # cache); whoever waited finds the stamp and is done.
    lock = open(out + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not args.force and stamp_ok(out, version):
        print(node_dir)
        return 0
    with tempfile.TemporaryDirectory(prefix="kiln-onnx-node-") as tmp:
        env = dict(os.environ)
        if has_case_files(onnx_dir):
            log(args, f"generating node tests from onnx {version} ({onnx_dir})")
        else:
            log(args, f"onnx {version} at {onnx_dir} has no node case "
                      "generators; using its sdist")
            env["PYTHONPATH"] = os.pathsep.join(
                [overlay_package(args, onnx_dir, version, tmp)] +
                ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        # Write into a sibling of `out`, then swap it in: a killed run never
        # leaves a half-written, stamped directory behind.
        staging = tempfile.mkdtemp(prefix=".staging-",
                                   dir=os.path.dirname(out))
        try:
            staging_node = os.path.join(staging, "node")
            os.makedirs(staging_node)
            # A fresh interpreter, so the overlaid package is the one imported.
            r = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--write-into",
                 staging_node], env=env, stdout=subprocess.PIPE, text=True,
                cwd=tmp)
            if r.returncode != 0:
                sys.exit(f"generate_node_tests: writing the cases failed "
                         f"(exit {r.returncode})")
            count = int(r.stdout.split()[-1])
            with open(os.path.join(staging, STAMP), "w") as f:
                json.dump({"onnx": version, "format": FORMAT, "cases": count},
                          f)
            if os.path.exists(out):
                old = out + f".old{os.getpid()}"
                os.rename(out, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(staging, out)
        finally:
            if os.path.exists(staging):
                shutil.rmtree(staging, ignore_errors=True)
    log(args, f"wrote {count} cases to {node_dir}")
    print(node_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

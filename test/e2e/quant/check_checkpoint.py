#!/usr/bin/env python3
"""GPTQ / AWQ int4 checkpoint import (kiln compile --checkpoint DIR), end
to end.

usage: check_checkpoint.py --kiln PATH/TO/kiln --work DIR

First the packers of checkpoint_models.py are checked against their
independent unpackers (pack -> unpack gives the codes, zeros, scales and
g_idx back, GPTQ v1's zero - 1 offset and AWQ's nibble order included) and
against golden words (AWQ: columns with codes 0..7 -> 0x75316420; GPTQ:
codes 0..7 along K -> 0x76543210, zero 8 stored as nibble 7 in v1).

Then, per case, an MLP exported as torch.nn.Linear layers are
(model.layers.0.mlp.up_proj, .down_proj: P.weight [out, in] initializers
consumed by Transpose -> MatMul with 3-D x and a LayerNormalization in
front, or by Gemm transB=1 with 2-D x) is written with random float
weights, and a checkpoint folder (config.json with a quantization_config,
*.safetensors) is written from a *different* random float model: its two
linear layers quantized (min-max, per group along K) and packed, its
biases and norm parameters stored as F16, BF16 or F32. The reference is
ONNX Runtime (CPU) running the same graph with P.weight = the checkpoint's
tensors read back from disk, unpacked and dequantized with the reference
formula (GPTQ: s[g_idx[k], n] * (q - z[g_idx[k], n]); AWQ: (q - z) * s),
and the other checkpoint tensors in place of the initializers of the same
name. kiln compiles the model with --checkpoint and runs it (kiln run).
Checked per case:
  - kiln's output equals the reference within int4-kernel / fp32 rounding:
    max |y_kiln - y_ref| <= 1e-3 max |y_ref|;
  - kiln's output is far from the ONNX file's own float model (relative
    difference >= 0.2): the checkpoint's values were used.
On a mismatch the output is compared with the usual misreadings (GPTQ v1
zero offset not applied, AWQ nibble order not undone, g_idx ignored, a
layer or a float tensor not replaced, ...) computed in NumPy, and the
closest is printed as a note.

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quant_checks import check, exit_status, run  # noqa: E402
import checkpoint_models as cm  # noqa: E402

TOL = 1e-3       # max |y_kiln - y_ref| / max |y_ref|
FAR = 0.2        # min  max |y_kiln - y_onnx_float| / max |y_onnx_float|

# name, method, bits, group, sym, act_order, checkpoint_format (None:
# absent), gemm model, x shape, K, hidden, N, float tensors' dtype, files
CASES = [
    ("gptq v1 sym g128", "gptq", 4, 128, True, False, "gptq", False,
     (2, 3, 256), 256, 384, 128, "F16", 1),
    ("gptq v1 asym g32 act-order", "gptq", 4, 32, False, True, None, False,
     (2, 3, 256), 256, 192, 128, "F16", 2),
    ("gptq_v2 asym g64", "gptq", 4, 64, False, False, "gptq_v2", False,
     (2, 3, 256), 256, 192, 128, "BF16", 1),
    ("gptq v1 8-bit g128 gemm", "gptq", 8, 128, False, False, "gptq", True,
     (4, 256), 256, 384, 128, "F32", 1),
    ("gptq v1 2-bit g-1", "gptq", 2, -1, False, False, "gptq", False,
     (2, 3, 256), 256, 192, 128, "F16", 1),
    ("awq g32", "awq", 4, 32, False, False, None, False,
     (2, 3, 256), 256, 192, 128, "F16", 2),
    ("awq g128 gemm", "awq", 4, 128, False, False, None, True,
     (4, 256), 256, 384, 128, "F16", 1),
]


def ort_run(path, x):
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(["y"], {"x": x})[0].astype(np.float64)


def np_forward(x, p, gemm):
    """The MLP in float64 NumPy (for the misreading diagnosis)."""
    h = x.astype(np.float64)
    if not gemm:
        mu = h.mean(-1, keepdims=True)
        var = ((h - mu) ** 2).mean(-1, keepdims=True)
        h = (h - mu) / np.sqrt(var + 1e-5) * p[cm.NORM + ".weight"] + \
            p[cm.NORM + ".bias"]
    h = np.maximum(h @ p[cm.UP + ".weight"].T.astype(np.float64)
                   + p[cm.UP + ".bias"], 0)
    y = h @ p[cm.DOWN + ".weight"].T.astype(np.float64)
    if gemm:
        y = y + p[cm.DOWN + ".bias"]
    return y


def float_tensor(a, dtype):
    a = np.asarray(a, np.float32)
    if dtype == "F16":
        return a.astype(np.float16)
    if dtype == "BF16":
        return cm.BF16(a)
    return a


def misreadings(qc, tensors, ref_params, onnx_params, layer_k):
    """Alternative parameter sets: the reference with one thing read the
    wrong way, in both linear layers or in one."""
    method, bits, group = qc["quant_method"], qc["bits"], qc["group_size"]
    unpacked, ways = {}, {}
    for layer, k in layer_k.items():
        t = {n[len(layer) + 1:]: v for n, v in tensors.items()
             if n.startswith(layer + ".")}
        if method == "gptq":
            unpacked[layer] = cm.unpack_gptq(
                t, bits, qc.get("checkpoint_format", "gptq"), k, group)
        else:
            unpacked[layer] = cm.unpack_awq(t, group)
    per = 32 // bits
    for dz in (-1, 1):
        ways[f"zero {dz:+d} (GPTQ v1 +1 offset confused)"] = \
            lambda q, k, dz=dz: dict(q, zeros=q["zeros"] + dz)
    ways["scales and zeros of group k // G (g_idx ignored)"] = \
        lambda q, k: dict(q, g_idx=(np.arange(k) // (
            k if group == -1 else group)).astype(np.int32))
    if method == "gptq":
        ways["qweight fields high bits first"] = lambda q, k: dict(
            q, codes=q["codes"].reshape(-1, per, q["codes"].shape[1])[
                :, ::-1].reshape(q["codes"].shape))
        ways["qzeros fields high bits first"] = lambda q, k: dict(
            q, zeros=q["zeros"].reshape(q["zeros"].shape[0], -1, per)[
                :, :, ::-1].reshape(q["zeros"].shape))
    else:
        def reorder(q, perm, which):
            n = q["codes"].shape[1]
            idx = np.arange(n).reshape(-1, 8)[:, perm].ravel()
            return dict(q, **{f: q[f][:, idx] for f in which})
        for perm, how in ((cm.AWQ_ORDER, "not undone (nibble i = column i)"),
                          (cm.AWQ_REVERSE_ORDER, "applied inverted")):
            for which in (("codes",), ("zeros",), ("codes", "zeros")):
                ways[f"AWQ order of {'+'.join(which)} {how}"] = (
                    lambda q, k, perm=perm, which=which:
                        reorder(q, perm, which))
    out = {}
    for label, f in ways.items():
        for scope in (list(layer_k), *([l] for l in layer_k)):
            p = dict(ref_params)
            for layer in scope:
                p[layer + ".weight"] = cm.dequantize(
                    f(unpacked[layer], layer_k[layer])).T
            where = ("both layers" if len(scope) > 1 else
                     scope[0].rsplit(".", 1)[1])
            out[f"{label} in {where}"] = p
    for layer in layer_k:
        p = dict(ref_params)
        p[layer + ".weight"] = onnx_params[layer + ".weight"]
        out[f"{layer}: ONNX float weight kept"] = p
    p = dict(ref_params)
    for name in ref_params:
        if not name.endswith(".weight") or cm.NORM in name:
            p1 = dict(ref_params)
            p1[name] = p[name] = onnx_params[name]
            out[f"{name}: ONNX float value kept"] = p1
    out["no float tensor (bias, norm) replaced"] = p
    out["nothing replaced (the ONNX float model)"] = dict(onnx_params)
    return out


def case(args, name, method, bits, group, sym, act, version, gemm, x_shape,
         k, hidden, n, ftype, nfiles):
    stem = name.replace(" ", "_")
    work = os.path.join(args.work, stem)
    ckpt = os.path.join(work, "checkpoint")
    os.makedirs(work, exist_ok=True)
    seed = 1000 + sum(map(ord, name))

    # The ONNX file's own float model, and the (different) float model the
    # checkpoint is made from.
    onnx_params = cm.mlp_params(k, hidden, n, seed, gemm)
    model = os.path.join(work, "model.onnx")
    cm.make_mlp_model(model, x_shape, onnx_params, gemm)
    true_params = cm.mlp_params(k, hidden, n, seed + 500, gemm)

    layer_k = {cm.UP: k, cm.DOWN: hidden}
    files = [{} for _ in range(nfiles)]
    for i, (layer, kk) in enumerate(layer_k.items()):
        w = true_params[layer + ".weight"]
        g_idx = (cm.act_order_g_idx(kk, group, seed + i) if act else None)
        q = cm.quantize(w, bits, group, sym, g_idx)
        if method == "gptq":
            t = cm.pack_gptq(q, version or "gptq")
            if version == "gptq_v2":
                del t["g_idx"]  # optional
        else:
            t = cm.pack_awq(q)
        for j, (field, v) in enumerate(sorted(t.items())):
            # Two files: a layer's tensors are spread over both.
            files[(i + j) % nfiles][f"{layer}.{field}"] = v
    for j, (pname, v) in enumerate(sorted(true_params.items())):
        if pname.endswith(".weight") and cm.NORM not in pname:
            continue
        files[j % nfiles][pname] = float_tensor(v, ftype)
    names = (["model.safetensors"] if nfiles == 1 else
             [f"model-{i + 1:05d}-of-{nfiles:05d}.safetensors"
              for i in range(nfiles)])
    qc = (cm.gptq_config(bits, group, act, sym, version) if method == "gptq"
          else cm.awq_config(group))
    cm.write_checkpoint(ckpt, qc, dict(zip(names, files)))

    # The reference, from the files as read back.
    qc_disk, tensors = cm.read_checkpoint(ckpt)
    ref_params = {}
    for pname, v in onnx_params.items():
        layer = pname[:-len(".weight")]
        if layer in layer_k and pname.endswith(".weight"):
            ref_params[pname] = cm.linear_weights_from_checkpoint(
                qc_disk, tensors, layer, layer_k[layer]).T.copy()
        else:
            ref_params[pname] = tensors[pname].astype(np.float32)
    ref_model = os.path.join(work, "reference.onnx")
    cm.make_mlp_model(ref_model, x_shape, ref_params, gemm)
    # The dequantized weights from disk vs the quantizer's values: the
    # files hold what was meant (a writer/reader/unpacker slip fails here).
    dq_err = max(float(np.max(np.abs(
        ref_params[layer + ".weight"] - cm.dequantize(cm.quantize(
            true_params[layer + ".weight"], bits, group, sym,
            cm.act_order_g_idx(kk, group, seed + i) if act else None)).T)))
        for i, (layer, kk) in enumerate(layer_k.items()))
    wq_err = max(float(np.linalg.norm(ref_params[layer + ".weight"] -
                                      true_params[layer + ".weight"]) /
                       np.linalg.norm(true_params[layer + ".weight"]))
                 for layer in layer_k)

    rng = np.random.default_rng(seed + 7)
    x = rng.standard_normal(x_shape).astype(np.float32)
    xin = os.path.join(work, "x.npy")
    np.save(xin, x)
    y_ref = ort_run(ref_model, x)
    y_onnx = ort_run(model, x)

    so = os.path.join(work, "model.so")
    run([args.kiln, "compile", model, "-o", so, "--checkpoint", ckpt])
    out = os.path.join(work, "out")
    run([args.kiln, "run", so, "--input", f"x={xin}", "--output-dir", out])
    y = np.load(os.path.join(out, "y.npy")).astype(np.float64)
    if y.shape != y_ref.shape:
        check(False, f"{name}: output shape {y.shape} != {y_ref.shape}")
        return
    scale = float(np.max(np.abs(y_ref)))
    err = float(np.max(np.abs(y - y_ref)))
    check(dq_err == 0.0 and err <= TOL * scale,
          f"{name}: kiln vs ORT on the dequantized checkpoint, max |err| "
          f"{err:.3e} = {err / scale:.2e} of max |y_ref| {scale:.3f} "
          f"(<= {TOL:g}; weights read back exactly: {dq_err == 0.0}, "
          f"quantization error ||Wq - W|| / ||W|| {wq_err:.3f})")
    if err > TOL * scale:
        diagnose(name, y, x, qc_disk, tensors, ref_params, onnx_params,
                 layer_k, gemm, y_ref)
    far = float(np.max(np.abs(y - y_onnx)) / np.max(np.abs(y_onnx)))
    check(far >= FAR,
          f"{name}: kiln vs the ONNX file's float weights, max |diff| "
          f"{far:.3f} of max |y| (>= {FAR}): the checkpoint was used")


def diagnose(name, y, x, qc, tensors, ref_params, onnx_params, layer_k,
             gemm, y_ref):
    scale = float(np.max(np.abs(y_ref)))
    d = y - y_ref
    worst = np.unravel_index(np.argmax(np.abs(d)), d.shape)
    bad_cols = np.nonzero(np.max(np.abs(d.reshape(-1, d.shape[-1])),
                                 axis=0) > TOL * scale)[0]
    print(f"     note: {name}: worst at {tuple(int(i) for i in worst)}: "
          f"kiln {y[worst]:.5f} vs ref {y_ref[worst]:.5f}; "
          f"{len(bad_cols)}/{d.shape[-1]} output columns off "
          f"(first {bad_cols[:8].tolist()})", flush=True)
    alts = misreadings(qc, tensors, ref_params, onnx_params, layer_k)
    scored = sorted(
        (float(np.max(np.abs(y - np_forward(x, p, gemm)))) / scale, label)
        for label, p in alts.items())
    for rel, label in scored[:3]:
        print(f"     note: {name}: kiln vs reference with {label}: max |err| "
              f"{rel:.2e} of max |y_ref|", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    cm.round_trip_checks()
    # safetensors writer vs reader, every dtype used.
    path = os.path.join(args.work, "roundtrip.safetensors")
    rng = np.random.default_rng(3)
    data = {"a.qweight": rng.integers(-2 ** 31, 2 ** 31, (4, 8),
                                      dtype=np.int64).astype(np.int32),
            "a.scales": rng.standard_normal((2, 8)).astype(np.float16),
            "a.bias": rng.standard_normal(8).astype(np.float32),
            "b.weight": cm.BF16(rng.standard_normal(5).astype(np.float32))}
    cm.write_safetensors(path, data)
    back = cm.read_safetensors(path)
    with open(path, "rb") as f:
        hlen = int.from_bytes(f.read(8), "little")
    same = all(np.array_equal(back[k], v) for k, v in data.items()
               if not isinstance(v, cm.BF16))
    same = same and np.array_equal(cm.to_bf16_bits(back["b.weight"]),
                                   data["b.weight"].bits)
    check(same and hlen % 8 == 0 and set(back) == set(data),
          f"safetensors write/read round trip: I32, F16, F32, BF16 "
          f"(header {hlen} bytes)")

    for c in CASES:
        case(args, *c)
    return exit_status()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A decoder with a compiler-owned KV cache (kiln compile --max-seq-len),
end to end against ONNX Runtime on the same past/present ONNX model.

usage: check_decode.py --kiln PATH/TO/kiln --work DIR [--decomposed]

The model is test/models/decoder.py's `tiny` config: 2 layers, 4 query
heads sharing 2 key/value heads (grouped-query attention), ONNX Attention
(opset 23) with past_key/past_value. kiln compiles it for one token per
call (--shape seq=1); kiln-kv-layout turns the past/present tensors into
state. With --decomposed the model is the same interface written op by op
as opset-17 exporters write it (rotary embeddings, repeat_kv, MatMul /
Softmax / MatMul with constant causal masks): kiln-fuse-attention must
turn it into kiln.attention first, so the compile must report the cache
(no "no past/present" warning) and the IR must hold one kiln.attention
with a kv_length per layer and no softmax left. Checked:
  - the artifact has a `decode` entry, whose inputs are only input_ids and
    position_ids and whose only output is logits (no past/present copies);
  - `kiln run --prompt P --generate K` (greedy) gives, for every step, the
    logits ONNX Runtime computes when the same tokens are fed one per step
    with its present outputs fed back as past (rtol 1e-4, atol 1e-5 of
    the logits' scale), and ORT's argmax picks the same tokens;
  - the generated C header declares the stateful API (<name>_decode with a
    kiln_state, <name>_state_create, MAX_SEQ_LEN);
  - with --prefill seq=4 the artifact also has a 4-token prefill entry on
    the same cache, its weights shared with the decode entry's (the .so
    grows by code, not by a second copy of the weights), and a prompt fed
    through it in chunks gives ORT's logits too;
  - running past --max-seq-len fails with the runtime's "cache is full"
    message instead of writing past the cache.

Exit status: 0 pass, 1 a check failed, 2 a step failed.
"""

import argparse
import os
import subprocess
import sys

import numpy as np
import onnx

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "models"))
sys.path.insert(0, os.path.join(here, "..", "quant"))
import decoder  # noqa: E402
from ort_decode import decode_logits  # noqa: E402
from quant_checks import check, failures, run  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--decomposed", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model = os.path.join(args.work, "decoder.onnx")
    onnx.save(decoder.build("tiny", decomposed=args.decomposed), model)

    lib = os.path.join(args.work, "decoder.so")
    flags = ["--shape", "seq=1", "--shape", "past_seq=1", "--max-seq-len", "32"]
    log = run([args.kiln, "compile", model, "-o", lib] + flags)
    check("warning" not in log, f"the compile warns of nothing ({log.strip()})")
    # (--report's L-Mul latency compile marks every matmul L-Mul, which a
    # decomposed attention then keeps: that side compile has no cache.)
    log = run([args.kiln, "compile", model, "-o",
               os.path.join(args.work, "report.so"), "--report"] + flags)
    check("kv cache: 4 state tensors (float32 rows), 32 tokens max" in log,
          "--report shows the KV cache")
    if args.decomposed:
        ir_path = os.path.join(args.work, "decoder.mlir")
        run([args.kiln, "compile", model, "-o", ir_path, "--emit=mlir"] + flags)
        ir = open(ir_path).read()
        fused = [l for l in ir.splitlines() if "kiln.attention" in l]
        check(len(fused) == 2 and all("kv_length" in l and "causal" in l and
                                      "tensor<1x2x32x16xf32>" in l for l in fused)
              and "kiln.softmax" not in ir,
              "two fused causal GQA attentions read the 32-row caches, no "
              f"softmax left ({fused})")
    header = open(os.path.join(args.work, "decoder.h")).read()
    for decl in ["decoder_decode(kiln_context *ctx, kiln_state *state",
                 "decoder_state_create(kiln_state **out)",
                 "#define DECODER_MAX_SEQ_LEN 32",
                 "#define DECODER_NUM_INPUTS 2", "#define DECODER_NUM_OUTPUTS 1",
                 "#define DECODER_NUM_STATES 4"]:
        check(decl in header, f"header declares '{decl}'")

    prompt, k = [5, 7, 9, 11, 3], 12
    out = os.path.join(args.work, "gen")
    log = run([args.kiln, "run", lib, "--prompt", ",".join(map(str, prompt)),
               "--generate", str(k), "--output-dir", out, "--threads", "2"])
    print(log.strip())
    tokens = np.load(os.path.join(out, "tokens.npy"))
    logits = np.load(os.path.join(out, "logits.npy"))
    check(tokens.shape == (len(prompt) + k,) and list(tokens[:len(prompt)]) == prompt,
          f"tokens: prompt then {k} generated ({tokens.tolist()})")
    check(logits.shape == (len(prompt) + k, 96), f"logits shape {logits.shape}")
    ref = decode_logits(model, tokens.tolist())
    scale = float(np.abs(ref).max())
    err = np.abs(logits - ref).max()
    print(f"max |kiln - ORT| over {len(tokens)} steps: {err:.3g} "
          f"(logits scale {scale:.3g})")
    check(np.allclose(logits, ref, rtol=1e-4, atol=1e-5 * scale),
          "logits equal ORT's step by step")
    greedy = [int(np.argmax(ref[i])) for i in range(len(prompt) - 1, len(tokens) - 1)]
    check(greedy == tokens[len(prompt):].tolist(), "ORT's argmax picks the same tokens")

    # A prefill entry of 4 tokens beside the decode entry, sharing the cache
    # and the weights: the prompt's first 8 tokens go through it.
    both = os.path.join(args.work, "prefill.so")
    run([args.kiln, "compile", model, "-o", both, "--shape", "seq=1",
         "--shape", "past_seq=1", "--max-seq-len", "32", "--prefill", "seq=4"])
    header = open(os.path.join(args.work, "prefill.h")).read()
    for decl in ["prefill_prefill(kiln_context *ctx, kiln_state *state",
                 "prefill_decode(kiln_context *ctx, kiln_state *state",
                 "#define PREFILL_PREFILL_TOKENS 4",
                 "#define PREFILL_PREFILL_INPUT0_DIMS {1, 4}"]:
        check(decl in header, f"prefill header declares '{decl}'")
    size_one, size_both = os.path.getsize(lib), os.path.getsize(both)
    check(size_both < size_one + 300_000,
          f"the prefill entry shares the weights ({size_one} -> {size_both} bytes; "
          "the weights alone are ~470 KB)")
    prompt2 = [5, 7, 9, 11, 3, 8, 2, 40, 17]
    out2 = os.path.join(args.work, "gen2")
    run([args.kiln, "run", both, "--prompt", ",".join(map(str, prompt2)),
         "--generate", "6", "--output-dir", out2])
    tokens2 = np.load(os.path.join(out2, "tokens.npy"))
    logits2 = np.load(os.path.join(out2, "logits.npy"))
    ref2 = decode_logits(model, tokens2.tolist())
    err2 = np.abs(logits2 - ref2).max()
    print(f"prefill + decode: max |kiln - ORT| over {len(tokens2)} tokens: {err2:.3g}")
    check(logits2.shape == ref2.shape and
          np.allclose(logits2, ref2, rtol=1e-4, atol=1e-5 * scale),
          "prefill (2 chunks of 4) then decode: logits equal ORT's")

    # 30 + 3 tokens > max_seq_len 32.
    p = subprocess.run([args.kiln, "run", lib, "--prompt", ",".join(["1"] * 30),
                        "--generate", "3", "--output-dir", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(p.returncode != 0 and "the cache is full" in p.stdout,
          f"past max-seq-len: a clear error ({p.stdout.strip()[-160:]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

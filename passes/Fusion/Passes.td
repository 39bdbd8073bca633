//===- Passes.td - graph fusion passes ----------------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_FUSION
#define KILN_PASSES_FUSION

include "mlir/Pass/PassBase.td"

def KilnFoldBatchNormPass : Pass<"kiln-fold-batch-norm"> {
  let summary = "Folds inference batch norms into the convolution before them.";
  let description = [{
    `kiln.batch_norm(kiln.conv2d(x, W, b), gamma, beta, mean, var)` with
    constant f32 W, b and statistics, the conv having no other use, becomes
    `kiln.conv2d(x, W', b')` with s = gamma / sqrt(var + eps),
    W'[f] = W[f] * s[f] and b' = (b - mean) * s + beta, computed in double
    and rounded once. This removes one pass over every conv output (ONNX
    Runtime does the same at its basic graph-optimization level). Convs
    marked for L-Mul are left alone: their products must see the original
    weights.
  }];
}

def KilnFuseAttentionPass : Pass<"kiln-fuse-attention"> {
  let summary = "Rewrites attention written op by op into one kiln.attention.";
  let description = [{
    Exporters before opset 23 (PyTorch's TorchScript exporter for GPT-2,
    Llama, ...) write attention as

      %s = kiln.matmul %q, kiln.transpose(%k) {perm = [0, 1, 3, 2]}
      %s = %s * c  or  %s / c              (scalar constants, any number)
      %s = kiln.where %mask, %s, %min  or  kiln.add %s, %mask  (optional)
      %p = kiln.softmax %s {axis = 3}
      %y = kiln.matmul %p, %v

    with q [B, H, S, D]. This pass replaces it by
    `kiln.attention %q, %k, %v {scale, causal}` when that is provably the
    same function (at the static shapes the model was imported with):

    - scale: the product of every scalar f32 constant multiplying (or
      dividing) the scores, q, or k before or after the transpose (so
      sqrt(scale) on both q and k is caught);
    - mask: a constant that allows exactly kiln.attention's end-aligned
      causal pattern (key j for query i iff j <= L - S + i, L >= S) or
      every key; allowed entries are `true` (or `false` with the where's
      branches swapped) / exactly 0.0 for the add form; masked entries must
      reach the softmax at or below -FLT_MAX / 2 (or -inf), HF's finfo.min:
      then exp(masked - rowmax) is exactly 0 in f32 for any row whose
      allowed scores stay below 1e38 in magnitude. A -1e4 or -1e9 mask is
      only approximately a mask and is left alone, as is any run-time
      (input-dependent) mask;
    - k^T: a [0, 1, 3, 2] transpose of k, or any transpose (PyTorch folds
      the head split in: [0, 2, 3, 1] of [B, L, H, D]), the key then being
      a new transpose of its input;
    - softmax on the key axis (3);
    - k and v: [B, Hkv, L, D] directly, or repeated head by head to H as
      HF's repeat_kv writes it (reshape, expand of a size-1 dim after the
      head dim, reshape: head h reads kv head h / (H / Hkv)); the
      un-repeated tensors become the operands (grouped-query attention).
      Any other repeat (Tile's interleaved heads) stays and the attention
      reads the repeated tensor. Only for a [0, 1, 3, 2] transpose: after
      any other, the repeat is not looked for.

    Every op between the sources and the last matmul must be read only by
    the next one (so the old ops die and a past/present concat is then read
    by the attention alone, as kiln-kv-layout needs). Products marked for
    L-Mul and non-f32 attention are left alone. Anything else is untouched.
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Attentions fused">,
  ];
}

#endif // KILN_PASSES_FUSION

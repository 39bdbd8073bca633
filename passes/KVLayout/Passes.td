//===- Passes.td - KV-cache layout passes ------------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_KVLAYOUT
#define KILN_PASSES_KVLAYOUT

include "mlir/Pass/PassBase.td"

def KilnKVLayoutPass : Pass<"kiln-kv-layout", "::mlir::ModuleOp"> {
  let summary = "Turns past/present key-value tensors into a compiler-owned "
                "cache appended in place.";
  let description = [{
    Exported decoders take the cache as inputs (`past_key_values.*`) and
    return it concatenated with the new tokens' keys and values
    (`present.*`), so every step copies the whole cache. In each
    `kiln.entry` function this pass finds, per attention,

      %k = kiln.concat %past_k, %k_new {axis = 2}   (%past_k an argument)
      %v = kiln.concat %past_v, %v_new {axis = 2}
      %y = kiln.attention %q, %k, %v ...
      return ..., %k, %v, ...                          (the present outputs)

    and rewrites it to read and append a preallocated cache of
    `max-seq-len` rows:

      %kc = kiln.kv_append %state_k, %k_new, %position
      %vc = kiln.kv_append %state_v, %v_new, %position
      %y  = kiln.attention %q, %kc, %vc kv_length (%position + S) ...

    The past arguments and present results disappear; the function gains
    a `tensor<i64>` argument marked `kiln.position` (the tokens already in
    the cache) after the remaining inputs, then one argument per cache
    tensor marked `kiln.state` (named after its past input), which entries
    write in place. The function is marked with `kiln.entry_kind`
    ("decode" for one token per call, else "prefill"), `kiln.tokens` (S)
    and `kiln.max_seq_len`. Layout: contiguous [B, H, max-seq-len, D] per
    layer, the head dim innermost.

    With `kv-dtype=int8` each cache is i8 [B, H, max-seq-len, D] plus a
    state of f32 row scales [B, H, max-seq-len] (named `<past>.scales`),
    written by `kiln.kv_append_quantized` (per token and head, symmetric)
    and read by the attention as scale * int8: 2 * H * (D + 4) bytes per
    token and layer instead of 2 * H * D * 4.

    With `kv-dtype=qjl` the keys are QJL sketches (techniques.md section
    3): per token and head the signs of k . P, P a fixed [D, m] Gaussian
    projection per layer (m = `qjl-sketch`; orthogonalized in blocks of D
    columns unless `qjl-orthogonal=false`), packed 8 to a byte, and one
    f32 scale sqrt(pi/2) / m * |k|; the last keys also stay whole in a
    ring (`<past>.recent`, tagged with their positions in
    `<past>.recent_positions`; `qjl-recent` + S - 1 rows for the longest
    entry's S), from which each query reads the `qjl-recent` keys before
    it instead of their sketches, in a prefill chunk as in a decode step.
    With `qjl-outliers=k` each group of 32 keys is re-sketched when it
    completes (kiln.kv_qjl_outliers): its k channels of largest norm over
    the group are split off and sketched with a second projection of
    `qjl-outlier-sketch` columns (seed 1042 + the key's index), states
    `<past>.outlier_bits`, `<past>.outlier_scales` and
    `<past>.outlier_channels` (i8 [B, H, ceil(max-seq-len / 32), k]).
    Values are int8 as above. Keys then cost H * (m / 8 + 4) bytes
    per token and layer, plus the fixed window.

    `value-bits=4` or `2` (int8, qjl and think layouts) stores the values as
    2- or 4-bit codes instead (kiln.kv_append_grouped: per token, head and
    group of `value-group` channels, asymmetric min-max, an f32 scale and
    min per group, states `<past>.scales` and `<past>.mins`).

    With `kv-dtype=think` the keys are pruned to their T = D -
    floor(`think-ratio` D) most useful channels per layer and head once
    they are more than `think-recent` tokens old (ThinK, techniques.md
    section 4). Every entry records its queries' q^2 in a ring
    (kiln.kv_think_observe; `<past>.think_queries`, `think-window` + S
    rows, tagged in `<past>.think_query_positions`); the first decode call
    with more than `think-recent` tokens scores each channel by the
    observed q^2 of the last `think-window` tokens times the keys' k^2 and
    keeps the T best (`<past>.think_channels`, per head the T channels and
    then the count of pruned keys); from then on every call compacts the
    keys that leave the recent window to T channels in place
    (kiln.kv_think_prune), and the
    attention scores them on those channels. Values stay f32 unless
    `value-bits` is given (8, 4 or 2 as under int8: ThinK with KIVI). The
    allocation stays [B, H, max-seq-len, D]: a pruned key is stored and
    read in 4 T bytes instead of 4 D.

    With `kv-dtype=auto` the pass picks the layout itself: the most
    faithful of f32, int8, QJL keys with int8 values, int8 keys with 4-bit
    values and QJL keys (4, 2 or 1 sign bits per coordinate) with 4-bit
    values whose cache (max-seq-len tokens plus the fixed windows) fits
    `kv-budget` bytes (costmodel/KVCacheCost.h; the candidates and the
    choice are recorded in the function's `kiln.kv_layout_choice`).

    f32 and int8 key caches whose max-seq-len and head size are multiples
    of 16 are laid out in tiles of 16 keys, each [D, 16] (`tile-keys`,
    on by default; kiln.attention's `key_tiled`): the attention then reads
    16 keys' coordinate d as one vector.

    With `kv-block=N` (f32 and int8 layouts, batch 1) the caches are
    paged: each is a pool of `kv-pool-blocks` blocks [P, H, N, D] (int8
    scales [P, H, N]), states marked `kiln.paged` that every sequence of
    one runtime pool shares, and the function gains one more state,
    `kv.block_table` (i32 [max-seq-len / N], marked `kiln.block_table`),
    the sequence's own map from its blocks to pool blocks, which the
    runtime fills before each call (vLLM's PagedAttention layout). The
    appends and the attention read the rows through the table
    (`block_table` operands); the function is marked
    `kiln.kv_block_tokens`.

    A function without the pattern is left unchanged. A cache that anything
    but its attention and the return reads, or attentions that disagree on
    S, are errors naming the input.
  }];
  let options = [
    Option<"maxSeqLen", "max-seq-len", "int64_t", /*default=*/"0",
           "Rows preallocated per cache (the longest context); required">,
    Option<"kvDtype", "kv-dtype", "std::string", /*default=*/"\"f32\"",
           "Layout of the cache: f32 (the model's), int8 (per-row scales) "
           "qjl (sign-bit key sketches, int8 values), think (pruned key "
           "channels) or auto (see kv-budget)">,
    Option<"qjlSketch", "qjl-sketch", "int64_t", /*default=*/"256",
           "QJL: projections (sign bits) per key, a multiple of 8">,
    Option<"qjlRecent", "qjl-recent", "int64_t", /*default=*/"32",
           "QJL: the most recent keys kept whole">,
    Option<"qjlOutliers", "qjl-outliers", "int64_t", /*default=*/"0",
           "QJL: outlier channels per group of 32 keys, sketched apart "
           "(0: none; needs qjl-recent >= 32)">,
    Option<"qjlOutlierSketch", "qjl-outlier-sketch", "int64_t",
           /*default=*/"0",
           "QJL: projections of the outlier part, a multiple of 8 (0: "
           "qjl-sketch)">,
    Option<"qjlOrthogonal", "qjl-orthogonal", "bool", /*default=*/"true",
           "QJL: orthogonalize the projection in blocks of head-dim columns">,
    Option<"thinkRatio", "think-ratio", "double", /*default=*/"0.4",
           "ThinK: the fraction of key channels pruned, in [0, 1)">,
    Option<"thinkRecent", "think-recent", "int64_t", /*default=*/"32",
           "ThinK: the most recent keys kept whole">,
    Option<"thinkWindow", "think-window", "int64_t", /*default=*/"32",
           "ThinK: the queries whose q^2 scores the channels">,
    Option<"valueBits", "value-bits", "int64_t", /*default=*/"0",
           "int8, qjl and think layouts: bits per value, 8 (per-row scale) "
           "or 4 / 2 (asymmetric, a scale and a min per group of 32 "
           "channels); 0, the default, is 8 for int8 and qjl, f32 for "
           "think">,
    Option<"valueGroup", "value-group", "int64_t", /*default=*/"32",
           "value-bits 4 / 2: channels per group (the whole row when it "
           "does not divide the head dim)">,
    Option<"tileKeys", "tile-keys", "bool", /*default=*/"true",
           "f32 and int8 key caches in tiles of 16 keys (kiln.attention's "
           "key_tiled) when max-seq-len and the head size are multiples of "
           "16">,
    Option<"kvBlock", "kv-block", "int64_t", /*default=*/"0",
           "Paged caches: tokens per block (a multiple of 16 dividing "
           "max-seq-len; f32 and int8 layouts); 0, the default, is one "
           "contiguous cache per sequence">,
    Option<"kvPoolBlocks", "kv-pool-blocks", "int64_t", /*default=*/"0",
           "Paged caches: blocks in the pool the sequences share; 0 is "
           "max-seq-len / kv-block (one sequence at full length)">,
    Option<"kvBudget", "kv-budget", "uint64_t", /*default=*/"0",
           "kv-dtype=auto: the bytes the whole cache may take">,
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"256",
           "kv-dtype=auto: the target's vector width (the cost estimate)">,
  ];
  let statistics = [
    Statistic<"numCaches", "num-caches", "Past/present pairs made state">,
  ];
}

#endif // KILN_PASSES_KVLAYOUT

//===- Passes.td - quantization graph passes ----------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZE
#define KILN_PASSES_QUANTIZE

include "mlir/Pass/PassBase.td"

def KilnWeightQuantizePass : Pass<"kiln-weight-quantize"> {
  let summary = "Quantizes constant matmul weights group-wise (w8, w4).";
  let description = [{
    Weight-only quantization: every float `kiln.matmul` whose right operand
    is a constant f32 [K, N] matrix with at least `min-weights` elements
    becomes a `kiln.quantized_matmul` with integer weights of `bits` bits,
    one scale per `group-size` consecutive weights along K of a column
    (round to nearest, ties to even; the arithmetic is f32):

    - symmetric: s = max|w| / (2^(b-1) - 1), q = clamp(rint(w / s),
      -2^(b-1), 2^(b-1) - 1), no zero points (signed i8 container);
    - asymmetric: lo = min(min w, 0), hi = max(max w, 0),
      s = (hi - lo) / (2^b - 1), z = clamp(rint(-lo / s), 0, 2^b - 1),
      q = clamp(rint(w / s) + z, 0, 2^b - 1) (unsigned ui8 container).

    Mixed 2/4-bit (`bits=2 wide-fraction=F`, techniques.md section 5): the
    matrix is cut into blocks of one group by `tile-columns` columns; the F
    of them with the largest range (max - min) are quantized at 4 bits, the
    rest at 2, all asymmetric with scales rounded to fp16 first, so a
    kernel reading tiles of those columns sees one width per block and
    stores scales in 16 bits. The op's `bits` is then 4.

    With `accuracy-budget=X` the pass chooses per matmul instead (the
    `--quantize=auto` of kiln compile): among w2w4 g64, w4 g32 and w8 g128
    (fewest stored bits first) the first whose relative weight error
    ||W - Wq||_F / ||W||_F is at most X (the expected relative output error
    for uncorrelated activations) and that the roofline of
    costmodel/QuantCost.h estimates faster than fp32 on the target core;
    none: the matmul stays float. The reasoning is recorded on the op as
    `kiln.quantization` (errors, estimated speedups, choice).

    A group of zeros gets s = 1. With `clipping=mse` (the default) each
    group's range (max|w|, or lo and hi) is first scaled by the factor in
    {1, 0.95, ..., 0.55} whose quantization has the least squared error
    (ties keep the wider range); `none` uses the full range. Activations
    stay float; the CPU kernel dequantizes inside the GEMM/GEMV inner loop.

    With `hessians=FILE` (written by `kiln compile --calibration`: one
    H = sum x x^T of the activation input per candidate matmul, in the walk
    order of kiln-calibration-instrument with the same `min-weights`) the
    codes are chosen by GPTQ (passes/Quantize/GPTQ.h) instead of rounding
    each weight to nearest: same layout, same per-group scale choice (made
    on the weights as GPTQ has updated them), errors spread over the rows
    not yet rounded so that the output error on the calibration inputs is
    smaller. `gptq-damp` is GPTQ's damping (a fraction of H's mean
    diagonal); `gptq-act-order` rounds rows by decreasing H[i][i], with
    every group's scale fitted on the float weights first. Under `accuracy-budget` the error compared with the budget
    is then the relative output error on the calibration inputs,
    sqrt(tr(dW^T H dW) / tr(W^T H W)), and every mode is tried with GPTQ.

    ```mlir
    // kiln-opt --kiln-weight-quantize="bits=4 group-size=32"
    %y = kiln.quantized_matmul %x, %q scales %s
           {quant = #kiln.weight_quant<bits = 4, group = 32>} : ...
    ```
  }];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"4",
           "Weight bits: 2 to 8">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "Weights per scale along the reduction dim">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Symmetric (no zero points) or asymmetric (zero points)">,
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"4096",
           "Matrices with fewer weights stay float">,
    Option<"clipping", "clipping", "std::string", /*default=*/"\"mse\"",
           "Range per group: mse (the least-error shrink) or none">,
    Option<"wideFraction", "wide-fraction", "double", /*default=*/"0.0",
           "With bits=2: the fraction of blocks (group x tile-columns) with "
           "the largest range kept at 4 bits (mixed 2/4-bit, asymmetric, "
           "fp16-rounded scales)">,
    Option<"tileColumns", "tile-columns", "int64_t", /*default=*/"32",
           "Columns per block of one width (mixed 2/4-bit)">,
    Option<"accuracyBudget", "accuracy-budget", "double", /*default=*/"0.0",
           "Choose per matmul (> 0): the fewest bits among w2w4 g64, w4 g32, "
           "w8 g128 whose relative weight error is within this budget and "
           "that the roofline estimates faster than fp32; else float">,
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"256",
           "Target vector register width, for the roofline">,
    Option<"l2Bytes", "l2-bytes", "uint64_t", /*default=*/"1048576",
           "Target L2 cache size, for the roofline">,
    Option<"hessians", "hessians", "std::string", /*default=*/"",
           "Calibration Hessians (kiln compile --calibration): GPTQ rounding "
           "instead of round to nearest">,
    Option<"gptqDamp", "gptq-damp", "double", /*default=*/"0.1",
           "GPTQ damping, a fraction of the Hessian's mean diagonal">,
    Option<"gptqActOrder", "gptq-act-order", "bool", /*default=*/"true",
           "GPTQ act order: rows by decreasing Hessian diagonal, groups "
           "fitted on the float weights first (static groups)">,
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Matmuls quantized">,
    Statistic<"numGPTQ", "num-gptq", "Matmuls rounded by GPTQ">,
  ];
}

def KilnChannelsLastConvPass : Pass<"kiln-channels-last-conv"> {
  let summary = "Runs chains of integer convolutions in NHWC.";
  let description = [{
    Each NCHW `kiln.integer_conv2d` becomes a `channels_last` one between
    two `kiln.transpose` ops; transposes then sink through elementwise ops
    (casts, unary math, add/sub/mul/div/max/min; a broadcast operand with
    one non-unit dim is reshaped to the untransposed layout) and a
    transpose followed by its inverse cancels. Between two convs of a QDQ
    model every op is elementwise, so the activations stay NHWC there; a
    transpose remains only before a non-elementwise reader (a pool, a
    reshape) and after the graph inputs.

    ```mlir
    // before
    %y = kiln.integer_conv2d %x, %w {...} : ... -> tensor<1x16x8x8xi32>
    // after
    %t = kiln.transpose %x {perm = array<i64: 0, 2, 3, 1>} : ...
    %c = kiln.integer_conv2d %t, %w {channels_last, ...} : ...
           -> tensor<1x8x8x16xi32>
    %y = kiln.transpose %c {perm = array<i64: 0, 3, 1, 2>} : ...
    ```
  }];
}

def KilnFoldQDQPass : Pass<"kiln-fold-qdq"> {
  let summary = "Computes a QDQ model's dequantized matmuls as integer matmuls.";
  let description = [{
    A float `kiln.matmul` whose lhs is a DequantizeLinear of 8-bit
    activations, (f32(x_q) - zp) * s with scalar constants zp and s, and
    whose rhs is constant int8 weights dequantized per tensor or per column
    (f32(W_q) * s_w, or that product already folded into an f32 constant
    that is exactly int8 times one f32 scale per column) becomes

      f32(kiln.integer_matmul(x_q, W_q, zp)) * (s * s_w)

    the integer product the QDQ group encodes (exact in i32; the float path
    rounded each product and their sum). Other matmuls are left alone.
    A one-group or depthwise `kiln.conv2d` reading the same dequantized
    activations, with constant weights that are exactly int8 times one
    scale per output channel, becomes
    f32(kiln.integer_conv2d(x_q, W_q, zp)) * (s * s_w[f]) plus its bias
    (weights as the [KH * KW * C / group, F] im2col matrix).
    A `kiln.gather` from a constant table dequantized by casts and
    scalar sub / mul (an 8-bit embedding) gathers the 8-bit rows first and
    dequantizes only them.

    ```mlir
    // before: %x = (f32(%q) - 128) * 0.02, %w a dequantized constant
    %y = kiln.matmul %x, %w : tensor<4x64xf32>, tensor<64x16xf32>
    // after
    %p = kiln.integer_matmul %q, %wq zero_point %zp
         : tensor<4x64xui8>, tensor<64x16xi8>, tensor<ui8>
    %f = kiln.cast %p : tensor<4x16xi32> -> tensor<4x16xf32>
    %y = kiln.mul %f, %scales : tensor<4x16xf32>, tensor<16xf32>
    ```
  }];
  let statistics = [
    Statistic<"numFolded", "num-folded",
              "Matmuls and convolutions computed in integers">,
    Statistic<"numGathers", "num-gathers",
              "Gathers moved before their table's dequantization">,
  ];
}

def KilnW8A8QuantizePass : Pass<"kiln-w8a8-quantize"> {
  let summary = "Int8 weights and int8 activations for constant matmuls (w8a8).";
  let description = [{
    Every f32 `kiln.matmul` whose right operand is a constant f32 [K, N]
    matrix with at least `min-weights` elements becomes a
    `kiln.dynamic_quantized_matmul`: the weights are quantized per output
    column, symmetric (f32 arithmetic, round half to even),

      s_w[n] = max_k |w[k, n]| / 127   (1 for an all-zero column)
      q[k, n] = clamp(rint(w[k, n] / s_w[n]), -127, 127)

    and the activations are quantized per row at run time (see the op).
    Matmuls with an L-Mul mode, batched weights or non-constant weights
    stay float.

    With `activation-ranges` (from calibration, `kiln compile --calibration`:
    one range per candidate matmul, in walk order, as
    kiln-calibration-instrument numbers them) each matmul gets a static
    per-tensor activation scale instead, symmetric int8:

      input_scale = f32(range) / 127   (1 for a range of 0)

    ```mlir
    // kiln-opt --kiln-w8a8-quantize
    %y = kiln.dynamic_quantized_matmul %x, %q scales %s
         : tensor<8x4096xf32>, tensor<4096x1024xi8>, tensor<1024xf32>
    // kiln-opt --kiln-w8a8-quantize="activation-ranges=2.54"
    %y = kiln.dynamic_quantized_matmul %x, %q scales %s
         {input_scale = 2.000000e-02 : f32} : ...
    ```
  }];
  let options = [
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"4096",
           "Matrices with fewer weights stay float">,
    ListOption<"activationRanges", "activation-ranges", "double",
               "Calibrated activation range per candidate matmul (walk "
               "order): static scales range / 127; empty: dynamic per-row "
               "scales">,
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Matmuls quantized">,
  ];
}

def KilnCalibrationInstrumentPass : Pass<"kiln-calibration-instrument"> {
  let summary = "Returns the activation input of every w8a8 matmul, for "
                "calibration.";
  let description = [{
    For calibrating static int8 activation scales: the activation input
    (left operand) of every matmul that kiln-w8a8-quantize with the same
    `min-weights` would quantize becomes an extra result of its function,
    appended in walk order and named `kiln_calibration_<i>` (`kiln.name`),
    so that a float build of the module, run on calibration samples, hands
    them to the statistics (passes/Quantize/Calibration.h). Nothing else
    changes.

    ```mlir
    // kiln-opt --kiln-calibration-instrument="min-weights=0"
    func.func @f(%x: tensor<2x4xf32>) -> (tensor<2x3xf32>
        {kiln.name = "y"}, tensor<2x4xf32> {kiln.name = "kiln_calibration_0"})
    ```
  }];
  let options = [
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"4096",
           "As kiln-w8a8-quantize's">,
  ];
}

def KilnSmoothQuantPass : Pass<"kiln-smooth-quant"> {
  let summary = "SmoothQuant: move activation outliers into the weights "
                "before w8a8.";
  let description = [{
    SmoothQuant (techniques.md 11.3) for the matmuls kiln-w8a8-quantize
    takes (same `min-weights`). `channel-maxima` holds, for each candidate
    in walk order, its activation's calibrated max |X_j| per input channel
    j (K values each, concatenated). Candidates that read the same
    activation are smoothed together; per channel

      s_j = max|X_j|^alpha / max(max|W_j|, 1e-5)^(1 - alpha), >= 1e-5

    with max|W_j| over row j of every weight matrix of the group (s_j = 1
    where either maximum is 0). Weight row j is multiplied by s_j and the
    activation channel j divided by it, so the float product is unchanged
    up to rounding and the activation's range flattens. The division folds
    into the producer when it is a kiln.layer_norm over the last dim with
    constant scale and bias whose only users are the group (gamma_j / s_j,
    beta_j / s_j); otherwise a `kiln.mul` by the constant 1 / s_j is
    inserted before the group (elementwise, fused by codegen).

    ```mlir
    // kiln-opt --kiln-smooth-quant="alpha=0.5 channel-maxima=4,1"
    %xs = kiln.mul %x, %inv : tensor<8x2xf32>, tensor<2xf32>
    %y = kiln.matmul %xs, %w_smoothed : tensor<8x2xf32>, tensor<2x16xf32>
    ```
  }];
  let options = [
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "Migration strength in [0, 1]">,
    ListOption<"channelMaxima", "channel-maxima", "double",
               "max |X_j| per input channel of every candidate matmul, "
               "concatenated in walk order">,
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"4096",
           "As kiln-w8a8-quantize's">,
  ];
  let statistics = [
    Statistic<"numSmoothed", "num-smoothed", "Matmuls smoothed">,
    Statistic<"numFolded", "num-folded", "Activations divided in a LayerNorm">,
  ];
}

#endif // KILN_PASSES_QUANTIZE

//===- KilnOps.td - kiln dialect operations -----------------*- tablegen -*-===//
//
// Part of kiln. Operations of the kiln dialect. All tensors have static
// shapes. Result types are inferred (InferTypeOpAdaptor) wherever the
// operands and attributes determine them, so the verifier checks them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_OPS
#define KILN_OPS

include "dialects/Kiln/KilnAttrs.td"
include "dialects/Kiln/KilnDialect.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

defvar Kiln_Tensor = AnyStaticShapeTensor;
def Kiln_FloatTensor : StaticShapeTensorOf<[AnyFloat]>;
def Kiln_BoolTensor : StaticShapeTensorOf<[I1]>;
def Kiln_IndexTensor : StaticShapeTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_Op<"constant",
    [ConstantLike, Pure, InferTypeOpAdaptor]> {
  let summary = "A constant tensor (weights, folded shapes).";
  let description = [{
    Produces a tensor from an elements attribute. Large weights use
    `dense_resource` blobs so that the IR text stays small.

    ```mlir
    %w = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
    %big = kiln.constant dense_resource<conv1_w> : tensor<64x3x7x7xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

class Kiln_UnaryOp<string mnemonic, string what, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType])> {
  let summary = "Elementwise " # what # ".";
  let description = [{
    Applies the function to every element; the result has the operand's type.

    ```mlir
    %y = kiln.}] # mnemonic # [{ %x : tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "negation">;
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "absolute value">;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "square root">;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "natural exponential">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "natural logarithm">;
def Kiln_ErfOp : Kiln_UnaryOp<"erf", "Gauss error function">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "hyperbolic tangent">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "logistic sigmoid 1/(1+exp(-x))">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "rectified linear unit max(x, 0)">;
def Kiln_ReciprocalOp : Kiln_UnaryOp<"reciprocal", "reciprocal 1/x">;
def Kiln_NotOp : Kiln_UnaryOp<"not", "logical not (i1)">;

def Kiln_LeakyReluOp : Kiln_Op<"leaky_relu", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise leaky ReLU: x >= 0 ? x : alpha * x.";
  let description = [{
    ```mlir
    %y = kiln.leaky_relu %x {alpha = 0.01 : f32} : tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, F32Attr:$alpha);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Kiln_ClipOp : Kiln_Op<"clip", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise clamp to [min, max].";
  let description = [{
    Bounds are explicit (ONNX's missing bounds become -inf/+inf, or the
    integer type's limits).

    ```mlir
    %y = kiln.clip %x {min = 0.0 : f64, max = 6.0 : f64} : tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, F64Attr:$min, F64Attr:$max);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_GeluOp : Kiln_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise GELU, exact (erf) or tanh approximation.";
  let description = [{
    ```mlir
    %y = kiln.gelu %x {approximate = "tanh"} : tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_CastOp : Kiln_Op<"cast", [Pure, SameOperandsAndResultShape]> {
  let summary = "Elementwise conversion to another element type.";
  let description = [{
    Float to int truncates toward zero; to i1 tests `!= 0`. Conversions to
    8-bit floats round to nearest even; out-of-range values (infinities
    included) become the largest finite value with `saturate` (the
    default), else infinity where the type has one and NaN otherwise.
    Conversions to f8E8M0FNU (a power of two) round the exponent as
    `round_mode` says: "up" (the default), "down" or "nearest".

    ```mlir
    %y = kiln.cast %x : tensor<4xi64> -> tensor<4xf32>
    %z = kiln.cast %x {saturate = false} : tensor<4xf32> -> tensor<4xf8E4M3FN>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$saturate,
                       DefaultValuedStrAttr<StrAttr, "up">:$round_mode);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
  let hasVerifier = 1;
}

class Kiln_BinaryOp<string mnemonic, string what, list<Trait> traits = [],
                    dag extraArgs = (ins)>
    : Kiln_Op<mnemonic, !listconcat(traits, [Pure, InferTypeOpAdaptor])> {
  let summary = "Elementwise " # what # " with numpy broadcasting.";
  let description = [{
    Both operands have the same element type; shapes broadcast by numpy
    rules and the result has the broadcast shape.

    ```mlir
    %z = kiln.}] # mnemonic # [{ %x, %y : tensor<2x3xf32>, tensor<3xf32>
    ```
  }];
  let arguments = !con((ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs), extraArgs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "addition", [Commutative]>;
def Kiln_SubOp : Kiln_BinaryOp<"sub", "subtraction">;
// An `lmul` attribute (float operands only) makes every product an L-Mul.
def Kiln_MulOp : Kiln_BinaryOp<"mul", "multiplication", [Commutative],
                               (ins OptionalAttr<Kiln_LMulAttr>:$lmul)> {
  // Builders without the optional `lmul` (plain multiplication).
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$lhs,
                   "::mlir::Value":$rhs), [{
      build($_builder, $_state, result, lhs, rhs, LMulAttr());
    }]>,
    OpBuilder<(ins "::mlir::Value":$lhs, "::mlir::Value":$rhs), [{
      build($_builder, $_state, lhs, rhs, LMulAttr());
    }]>
  ];
}
def Kiln_DivOp : Kiln_BinaryOp<"div", "division">;
def Kiln_PowOp : Kiln_BinaryOp<"pow", "power">;
def Kiln_MaxOp : Kiln_BinaryOp<"max", "maximum", [Commutative]>;
def Kiln_MinOp : Kiln_BinaryOp<"min", "minimum", [Commutative]>;
def Kiln_AndOp : Kiln_BinaryOp<"and", "and (bitwise; logical on i1)", [Commutative]>;
def Kiln_OrOp : Kiln_BinaryOp<"or", "or (bitwise; logical on i1)", [Commutative]>;
// Comparisons produce i1 tensors.
def Kiln_EqualOp : Kiln_BinaryOp<"equal", "equality test", [Commutative]>;
def Kiln_LessOp : Kiln_BinaryOp<"less", "less-than test">;
def Kiln_GreaterOp : Kiln_BinaryOp<"greater", "greater-than test">;

def Kiln_WhereOp : Kiln_Op<"where", [Pure, InferTypeOpAdaptor]> {
  let summary = "Elementwise select with numpy broadcasting of all three operands.";
  let description = [{
    ```mlir
    %z = kiln.where %c, %x, %y : tensor<4x4xi1>, tensor<4x4xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Kiln_BoolTensor:$condition, Kiln_Tensor:$lhs,
                       Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $condition `,` $lhs `,` $rhs attr-dict `:` type($condition) `,` type($lhs)
    `,` type($rhs)
  }];
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"matmul", [Pure, InferTypeOpAdaptor]> {
  let summary = "Batched matrix product with numpy batch broadcasting.";
  let description = [{
    Both operands have rank >= 2 (the importer reshapes ONNX's 1-D cases).
    The last two dims multiply as matrices ([.., M, K] x [.., K, N]); the
    leading dims broadcast. An optional `lmul` attribute (float operands)
    makes every scalar product an L-Mul (`#kiln.lmul`), accumulated in f32.

    ```mlir
    %c = kiln.matmul %a, %b : tensor<2x4x8xf32>, tensor<8x16xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs,
                       OptionalAttr<Kiln_LMulAttr>:$lmul);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)";
  // Builders without the optional `lmul` (plain products).
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$lhs,
                   "::mlir::Value":$rhs), [{
      build($_builder, $_state, result, lhs, rhs, LMulAttr());
    }]>,
    OpBuilder<(ins "::mlir::Value":$lhs, "::mlir::Value":$rhs), [{
      build($_builder, $_state, lhs, rhs, LMulAttr());
    }]>
  ];
}

def Kiln_QuantizedMatMulOp : Kiln_Op<"quantized_matmul",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "Matrix product with group-quantized integer weights.";
  let description = [{
    `lhs` [.., M, K] times the weight matrix [K, N] that `weights` (integer
    values, [K, N]), `scales` ([ceil(K / group), N]) and optional
    `zero_points` (same shape as `scales`, same type as `weights`) encode:

      W[k, n] = (weights[k, n] - zero_points[k / g, n]) * scales[k / g, n]

    with g = `quant`'s group size (no zero points: zero). The result is
    [.., M, N] in `lhs`'s float type. `weights` hold integers of `quant`'s
    bit width in an 8-bit container (signed or unsigned, see
    `#kiln.weight_quant`); how they are packed in memory is the target's
    choice (the CPU kernel packs two 4-bit values per byte).

    ```mlir
    %y = kiln.quantized_matmul %x, %w scales %s zero_points %z
           {quant = #kiln.weight_quant<bits = 4, group = 32>}
         : tensor<1x64xf32>, tensor<64x16xui8>, tensor<2x16xf32>,
           tensor<2x16xui8>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$lhs, Kiln_Tensor:$weights,
                       Kiln_FloatTensor:$scales,
                       Optional<Kiln_Tensor>:$zero_points,
                       Kiln_WeightQuantAttr:$quant);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $weights `scales` $scales (`zero_points` $zero_points^)?
    attr-dict `:` type($lhs) `,` type($weights) `,` type($scales)
    (`,` type($zero_points)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Int8 x int8 matmul (w8a8)
//===----------------------------------------------------------------------===//

def Kiln_DynamicQuantizedMatMulOp : Kiln_Op<"dynamic_quantized_matmul",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "Int8 x int8 matrix product, activations quantized per row "
                "or with a calibrated static scale.";
  let description = [{
    `input` (f32 [.., M, K]) times the weight matrix that `weights` (signed
    8-bit integers, [K, N]) and `scales` (f32 [N], one per output column)
    encode, with the activations quantized to int8 on the fly, one scale per
    row r of `input` (leading dims fold into M):

      s_x[r]    = max_k |x[r, k]| / 127       (1 when the row is all zeros)
      x_q[r, k] = clamp(rint(x[r, k] / s_x[r]), -127, 127)
                                              (round half to even, f32)
      y[r, n]   = s_x[r] * scales[n] * sum_k x_q[r, k] * weights[k, n]

    With `input_scale` (a positive finite f32, from calibration: the
    recorded activation range / 127) every row uses that static scale,
    s_x[r] = input_scale, and values outside the calibrated range saturate
    at -127 / 127; no per-row maximum is computed at run time.

    The sum is exact (int32); the rescale is f32 in the order written
    (f32(sum) * s_x, then * scales). The result is [.., M, N] f32. How the
    weights are packed in memory is the target's choice (the CPU kernel
    packs them for `vpdpbusd`).

    ```mlir
    %y = kiln.dynamic_quantized_matmul %x, %w scales %s
         : tensor<4x64xf32>, tensor<64x16xi8>, tensor<16xf32>
    %z = kiln.dynamic_quantized_matmul %x, %w scales %s
         {input_scale = 0.0125 : f32}
         : tensor<4x64xf32>, tensor<64x16xi8>, tensor<16xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_Tensor:$weights,
                       Kiln_FloatTensor:$scales,
                       OptionalAttr<F32Attr>:$input_scale);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weights `scales` $scales attr-dict `:` type($input) `,`
    type($weights) `,` type($scales)
  }];
  let hasVerifier = 1;
}

def Kiln_IntegerMatMulOp : Kiln_Op<"integer_matmul",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "8-bit integer matrix product with an activation zero point "
                "(ONNX MatMulInteger), exact in i32.";
  let description = [{
    `lhs` ([.., M, K], unsigned `ui8` or signed `i8`, already quantized)
    times `rhs` ([K, N], signed `i8`, zero point 0), with the optional
    `lhs_zero_point` (one value of `lhs`'s type, known only at run time, as
    DynamicQuantizeLinear computes it) subtracted first:

      y[.., m, n] = sum_k (lhs[.., m, k] - lhs_zero_point) * rhs[k, n]

    in i32 (wrapping, as ONNX's reference). The result is [.., M, N] i32.
    This is the form ONNX Runtime's quantize_dynamic and QOperator models
    use with int8 weights; the importer emits it when the weights are a
    signed 8-bit constant with zero points 0 (any other MatMulInteger is
    computed by casts and an i32 kiln.matmul). The CPU kernel packs `rhs`
    for `vpdpbusd` like kiln.dynamic_quantized_matmul's weights.

    ```mlir
    %y = kiln.integer_matmul %x, %w zero_point %zp
         : tensor<4x64xui8>, tensor<64x16xi8>, tensor<ui8>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs,
                       Optional<Kiln_Tensor>:$lhs_zero_point);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`zero_point` $lhs_zero_point^)? attr-dict `:` type($lhs)
    `,` type($rhs) (`,` type($lhs_zero_point)^)?
  }];
  let hasVerifier = 1;
}

def Kiln_IntegerConv2DOp : Kiln_Op<"integer_conv2d",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "2-D convolution of 8-bit integers with an input zero point "
                "(ONNX ConvInteger, QLinearConv, QDQ Conv), exact in i32.";
  let description = [{
    `input` ([N, C, H, W], unsigned `ui8` or signed `i8`, already quantized)
    convolved with signed 8-bit weights (zero point 0) that `weights` holds
    as the matrix the im2col form multiplies by: [KH * KW * C / group, F],
    row (kh * KW + kw) * (C / group) + c, column f. `group` is 1, or C = F
    (depthwise: one input channel per output channel). `kernel` is
    [KH, KW], `padding` [top, left, bottom, right]. The optional
    `input_zero_point` (a scalar of the input's type) is subtracted from
    every input value, and padded positions hold it, so they add nothing:

      y[n, f, oh, ow] = sum_{c, kh, kw}
          (x_pad[n, c, oh * sh + kh * dh, ow * sw + kw * dw] - zp)
          * weights[(kh * KW + kw) * C + c, f]          (group 1)
      y[n, f, oh, ow] = sum_{kh, kw}
          (x_pad[n, f, oh * sh + kh * dh, ow * sw + kw * dw] - zp)
          * weights[kh * KW + kw, f]                    (depthwise)

    in i32 (wrapping, as ONNX's reference). The result is [N, F, OH, OW]
    i32. With `channels_last` the input is [N, H, W, C] and the result
    [N, OH, OW, F] (kiln-channels-last-conv keeps chains of these convs in
    that layout). The CPU computes a group-1 conv as one int8 GEMM over the
    im2col rows (the kernel of kiln.integer_matmul), a depthwise one as an
    elementwise loop over the output, one term per tap.

    ```mlir
    %y = kiln.integer_conv2d %x, %w zero_point %zp {kernel = array<i64: 3, 3>,
           strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>,
           dilations = array<i64: 1, 1>}
         : tensor<1x8x16x16xui8>, tensor<72x16xi8>, tensor<ui8>
         -> tensor<1x16x16x16xi32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$weights,
                       Optional<Kiln_Tensor>:$input_zero_point,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilations, UnitAttr:$channels_last,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weights (`zero_point` $input_zero_point^)? attr-dict `:`
    type($input) `,` type($weights) (`,` type($input_zero_point)^)? `->`
    type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention and the KV cache
//===----------------------------------------------------------------------===//

def Kiln_AttentionOp : Kiln_Op<"attention",
    [Pure, InferTypeOpAdaptor, AttrSizedOperandSegments]> {
  let summary = "Scaled dot-product attention, optionally causal, over a "
                "key/value prefix of run-time length.";
  let description = [{
    `query` [B, Hq, S, D], `key` [B, Hkv, L, D], `value` [B, Hkv, L, Dv],
    Hq a multiple of Hkv (query head h reads key/value head h / (Hq / Hkv):
    grouped-query attention without repeating K/V). With n = `kv_length`
    (a 0-d i64 tensor, 1 <= n <= L, S <= n, known at run time) or n = L:

      score[b, h, i, j] = scale * sum_d query[b, h, i, d] * key[b, h', j, d]
      allowed(i, j)     = j < n  and  (not causal or j <= i + n - S)
      p[b, h, i, :]     = softmax over the allowed j
      result[b, h, i, e] = sum_j p[b, h, i, j] * value[b, h', j, e]

    The causal mask is aligned to the end of the keys (query i sits at
    position n - S + i), as a decoder with a cache needs. Keys at j >= n are
    never read, so `key`/`value` may be a preallocated cache of which only
    the first n rows hold data. Without `kv_length`, a causal op needs
    L >= S (no fully masked row).

    An int8 cache (kiln.kv_append_quantized) gives `key` and/or `value` as
    i8 with one f32 scale per row in `key_scales` / `value_scales`
    ([B, Hkv, L]): key[b, h, j, d] reads as key_scales[b, h, j] * key_i8.
    Int8 operands need `kv_length`.

    QJL keys (kiln.kv_append_qjl) come with `key_sketch` P [D, m]: `key` is
    i8 [B, Hkv, L, m / 8], the packed signs of k . P (bit c % 8 of byte
    c / 8 set when (k . P)[c] > 0), and `key_scales` holds sqrt(pi/2) / m *
    |k|. The query is projected, not quantized (the unbiased estimator):

      score[b, h, i, j] = scale * key_scales[b, h', j]
                          * sum_c (q . P)[c] * (bit c of key[b, h', j] ? 1 : -1)

    With `recent_keys(%r, %t)` ([B, Hkv, R, D] f32 and [R] i64), a key j
    among the `recent_window` (W <= R; R when absent) keys before query
    i's own position p_i (j > p_i - W) whose slot j % R is tagged j
    (`%t[j % R] == j`) is read whole from `%r[b, h', j % R]` instead: the
    most recent tokens stay exact, for each query as in a decode step
    (a prefill chunk of S tokens needs R >= W + S - 1).

    `key_tiled` (f32 or i8 keys, with kv_length; L and D multiples of
    16): the key cache is laid out in tiles of 16 keys, each tile [D, 16]
    (key j's coordinate d at flat offset 16 ((j / 16) D + d) + j % 16 of
    its head's [L, D] rows), so 16 keys' coordinate d is one vector: the
    scores of a block of keys are D vector FMAs, no horizontal sums.

    ThinK keys (kiln.kv_think_prune) come with `key_channels` [B, Hkv, T +
    1] (i64: per head the T kept channel indices, ascending, then the count
    P of pruned rows): key rows j < P hold only those T channels, stored at
    stride T (key j's t-th kept channel at flat offset j T + t of its
    head's [L, D] rows), and score on them alone:

      score[b, h, i, j] = scale * sum_t query[b, h, i, c_t] * keyflat[b, h', j T + t]

    (c_t = key_channels[b, h', t]); rows j >= P are whole.

    Low-bit values (kiln.kv_append_grouped) set `value_bits` (2 or 4):
    `value` is i8 [B, Hkv, L, Dv * bits / 8] of packed codes, with
    `value_scales` and `value_mins` f32 [B, Hkv, L, G] for G groups of Dv /
    G channels: value[.., e] reads as code * scale[g] + min[g], g the
    group of e.

    QJL keys with outlier channels (kiln.kv_qjl_outliers) add
    `outliers(%ob, %os, %ch, %Q)`: per key the packed signs of k_out . Q
    and sqrt(pi/2) / m_out |k_out|, per group of `outlier_group` (G) keys
    the outlier channels (i8 [B, Hkv, ceil(L / G), k], read unsigned); a
    key j of group g = j / G read from its sketches scores

      scale * (key_scales[j] * sum_c (q_in . P)[c] * sign_c(key[j])
               + outlier_scales[j] * sum_c (q_out . Q)[c] * sign_c(ob[j]))

    with q_out = q on the group's channels, q_in = q - q_out.

    A paged cache (kiln-kv-layout's `kv-block`) comes with `block_table`
    (i32 [L / N]): `key` and `value` (and their scales) are pools of
    blocks [P, Hkv, N, ...] shared by many sequences, and key j of this
    (batch-1) sequence is row j % N of pool block block_table[j / N]
    (L = N times the table's length). Paged keys are f32 or i8, values
    f32 or i8, N a multiple of 16, neither QJL nor ThinK.

    ```mlir
    %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
         {scale = 0.125 : f32, causal}
         : tensor<1x12x1x64xf32>, tensor<1x12x1024x64xf32>,
           tensor<1x12x1024x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$query, Kiln_Tensor:$key,
                       Kiln_Tensor:$value,
                       Optional<Kiln_IndexTensor>:$kv_length,
                       Optional<Kiln_FloatTensor>:$key_scales,
                       Optional<Kiln_FloatTensor>:$value_scales,
                       Optional<Kiln_FloatTensor>:$key_sketch,
                       Optional<Kiln_FloatTensor>:$recent_keys,
                       Optional<Kiln_IndexTensor>:$recent_positions,
                       Optional<Kiln_FloatTensor>:$value_mins,
                       Optional<Kiln_IndexTensor>:$key_channels,
                       Optional<Kiln_IndexTensor>:$block_table,
                       Optional<Kiln_Tensor>:$outlier_bits,
                       Optional<Kiln_FloatTensor>:$outlier_scales,
                       Optional<Kiln_Tensor>:$outlier_channels,
                       Optional<Kiln_FloatTensor>:$outlier_sketch,
                       F32Attr:$scale, UnitAttr:$causal,
                       OptionalAttr<I64Attr>:$value_bits,
                       OptionalAttr<I64Attr>:$recent_window,
                       UnitAttr:$key_tiled,
                       OptionalAttr<I64Attr>:$outlier_group);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`kv_length` `(` $kv_length^ `:` type($kv_length) `)`)?
    (`key_scales` `(` $key_scales^ `:` type($key_scales) `)`)?
    (`value_scales` `(` $value_scales^ `:` type($value_scales) `)`)?
    (`key_sketch` `(` $key_sketch^ `:` type($key_sketch) `)`)?
    (`recent_keys` `(` $recent_keys^ `,` $recent_positions `:`
       type($recent_keys) `,` type($recent_positions) `)`)?
    (`value_mins` `(` $value_mins^ `:` type($value_mins) `)`)?
    (`key_channels` `(` $key_channels^ `:` type($key_channels) `)`)?
    (`block_table` `(` $block_table^ `:` type($block_table) `)`)?
    (`outliers` `(` $outlier_bits^ `,` $outlier_scales `,` $outlier_channels
       `,` $outlier_sketch `:` type($outlier_bits) `,` type($outlier_scales)
       `,` type($outlier_channels) `,` type($outlier_sketch) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value)
  }];
  let hasVerifier = 1;
}

def Kiln_KVAppendOp : Kiln_Op<"kv_append",
    [Pure, AllTypesMatch<["cache", "result"]>]> {
  let summary = "Writes new key or value rows into a cache at a run-time "
                "position.";
  let description = [{
    `cache` [B, H, M, D] with `update` [B, H, S, D] written over rows
    [position, position + S) of dim 2; every other row is unchanged.
    `position` is a 0-d i64 tensor with 0 <= position <= M - S (the runtime
    checks it before an entry runs). With `tiled` the cache is in
    kiln.attention's `key_tiled` layout (M and D multiples of 16). With
    `block_table` (i32 [T]) the cache is a pool of blocks [P, H, N, D]
    (B = 1): row t = position + r goes to row t % N of block
    block_table[t / N] (see kiln.attention). When
    `cache` is an entry's state
    argument (kiln-kv-layout), the write happens in place: nothing is
    copied but the new rows.

    ```mlir
    %c2 = kiln.kv_append %c, %k_new, %pos
          : tensor<1x12x1024x64xf32>, tensor<1x12x1x64xf32>, tensor<i64>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$cache, Kiln_FloatTensor:$update,
                       Kiln_IndexTensor:$position, UnitAttr:$tiled,
                       Optional<Kiln_IndexTensor>:$block_table);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $cache `,` $update `,` $position
    (`block_table` `(` $block_table^ `:` type($block_table) `)`)?
    attr-dict `:` type($cache) `,` type($update) `,` type($position)
  }];
  let hasVerifier = 1;
}

def Kiln_KVAppendQuantizedOp : Kiln_Op<"kv_append_quantized",
    [Pure, AllTypesMatch<["cache", "cache_result"]>,
     AllTypesMatch<["scales", "scales_result"]>]> {
  let summary = "Quantizes new key or value rows to int8 and writes them "
                "into an int8 cache at a run-time position.";
  let description = [{
    Like `kiln.kv_append`, for an int8 cache `cache` [B, H, M, D] with one
    f32 scale per row in `scales` [B, H, M]. Each new row u = update[b, h,
    r, :] (f32 [B, H, S, D]) is quantized symmetrically, in f32:

      s = max_d |u[d]| / 127            (1 for a row of zeros)
      q[d] = clamp(rint(u[d] / s), -127, 127)   (round half to even)

    and q, s land in row position + r (with `tiled`, q in kiln.attention's
    `key_tiled` layout). Half the bytes of an fp16 cache plus 4 bytes per
    row for the scale. `block_table`: a paged pool, as for kiln.kv_append.

    ```mlir
    %c2, %s2 = kiln.kv_append_quantized %c, %s, %k_new, %pos
        : tensor<1x12x1024x64xi8>, tensor<1x12x1024xf32>,
          tensor<1x12x1x64xf32>, tensor<i64>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$cache, Kiln_FloatTensor:$scales,
                       Kiln_FloatTensor:$update, Kiln_IndexTensor:$position,
                       UnitAttr:$tiled,
                       Optional<Kiln_IndexTensor>:$block_table);
  let results = (outs Kiln_Tensor:$cache_result,
                      Kiln_FloatTensor:$scales_result);
  let assemblyFormat = [{
    $cache `,` $scales `,` $update `,` $position
    (`block_table` `(` $block_table^ `:` type($block_table) `)`)?
    attr-dict `:` type($cache) `,` type($scales) `,` type($update) `,`
    type($position)
  }];
  let hasVerifier = 1;
}

def Kiln_KVAppendQJLOp : Kiln_Op<"kv_append_qjl",
    [Pure, AllTypesMatch<["bits", "bits_result"]>,
     AllTypesMatch<["scales", "scales_result"]>,
     AllTypesMatch<["recent", "recent_result"]>,
     AllTypesMatch<["recent_positions", "recent_positions_result"]>]> {
  let summary = "Appends new keys to a QJL key cache: the sign bits of a "
                "Gaussian projection of each key, plus its norm; the most "
                "recent keys also kept whole.";
  let description = [{
    QJL (Zandieh et al., 1-bit quantized JL transform). Each new key
    u = update[b, h, r, :] (f32 [B, H, S, D]) at t = position + r, with the
    fixed projection `sketch` P [D, m]:

      p = u . P                                   (f32, [m])
      bits[b, h, t, c / 8] bit c % 8 = (p[c] > 0)
      scales[b, h, t] = sqrt(pi / 2) / m * |u|_2

    and, for the last min(S, W) rows, the whole key lands in the window
    `recent` [B, H, W, D] at slot t % W, with `recent_positions[t % W] = t`
    (the tag kiln.attention checks before it trusts a slot). Keys cost m / 8
    + 4 bytes per token and head instead of 4 D.

    ```mlir
    %b2, %s2, %r2, %t2 = kiln.kv_append_qjl %b, %s, %r, %t, %k_new, %pos,
        %sketch : tensor<1x12x1024x32xi8>, tensor<1x12x1024xf32>,
        tensor<1x12x32x64xf32>, tensor<32xi64>, tensor<1x12x1x64xf32>,
        tensor<i64>, tensor<64x256xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$bits, Kiln_FloatTensor:$scales,
                       Kiln_FloatTensor:$recent,
                       Kiln_IndexTensor:$recent_positions,
                       Kiln_FloatTensor:$update, Kiln_IndexTensor:$position,
                       Kiln_FloatTensor:$sketch);
  let results = (outs Kiln_Tensor:$bits_result,
                      Kiln_FloatTensor:$scales_result,
                      Kiln_FloatTensor:$recent_result,
                      Kiln_IndexTensor:$recent_positions_result);
  let assemblyFormat = [{
    $bits `,` $scales `,` $recent `,` $recent_positions `,` $update `,`
    $position `,` $sketch attr-dict `:` type($bits) `,` type($scales) `,`
    type($recent) `,` type($recent_positions) `,` type($update) `,`
    type($position) `,` type($sketch)
  }];
  let hasVerifier = 1;
}

def Kiln_KVAppendGroupedOp : Kiln_Op<"kv_append_grouped",
    [Pure, AllTypesMatch<["cache", "cache_result"]>,
     AllTypesMatch<["scales", "scales_result"]>,
     AllTypesMatch<["mins", "mins_result"]>]> {
  let summary = "Quantizes new value rows to 2- or 4-bit codes in groups of "
                "channels and writes them into a packed cache.";
  let description = [{
    KIVI-style values: each new row u = update[b, h, r, :] (f32 [B, H, S,
    D]) at t = position + r, per group g of D / G consecutive channels,
    asymmetric min-max in f32:

      lo = min u[g],  s = (max u[g] - lo) / (2^bits - 1)   (1 when 0)
      code[e] = clamp(rint((u[e] - lo) / s), 0, 2^bits - 1)

    Codes are packed little end first: channel e in bits
    [(e % k) * bits, (e % k + 1) * bits) of byte e / k, k = 8 / bits.
    `cache` i8 [B, H, M, D * bits / 8]; `scales` and `mins` f32 [B, H, M,
    G] get s and lo of row t.

    ```mlir
    %c2, %s2, %m2 = kiln.kv_append_grouped %c, %s, %m, %v_new, %pos
        {bits = 4 : i64} : tensor<1x12x1024x32xi8>, tensor<1x12x1024x2xf32>,
        tensor<1x12x1024x2xf32>, tensor<1x12x1x64xf32>, tensor<i64>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$cache, Kiln_FloatTensor:$scales,
                       Kiln_FloatTensor:$mins, Kiln_FloatTensor:$update,
                       Kiln_IndexTensor:$position, I64Attr:$bits);
  let results = (outs Kiln_Tensor:$cache_result,
                      Kiln_FloatTensor:$scales_result,
                      Kiln_FloatTensor:$mins_result);
  let assemblyFormat = [{
    $cache `,` $scales `,` $mins `,` $update `,` $position attr-dict `:`
    type($cache) `,` type($scales) `,` type($mins) `,` type($update) `,`
    type($position)
  }];
  let hasVerifier = 1;
}

def Kiln_KVQJLOutliersOp : Kiln_Op<"kv_qjl_outliers",
    [Pure, AllTypesMatch<["bits", "bits_result"]>,
     AllTypesMatch<["scales", "scales_result"]>,
     AllTypesMatch<["outlier_bits", "outlier_bits_result"]>,
     AllTypesMatch<["outlier_scales", "outlier_scales_result"]>,
     AllTypesMatch<["channels", "channels_result"]>]> {
  let summary = "QJL with outlier channels: re-sketches each group of keys "
                "that the call completes, its outlier channels apart.";
  let description = [{
    QJL's outlier split (techniques.md section 3). Keys come in groups of
    `group` tokens (g covers positions [g G, g G + G)). For every group
    that the call's `tokens` new keys complete (its last position in
    [position, position + tokens)), per batch and head, from the group's
    whole keys in the QJL ring `recent` (tagged in `recent_positions`,
    written by kiln.kv_append_qjl):

      channels[b, h, g, :] = the `outliers` channels of largest
                             sum over the group of k[c]^2 (ascending order
                             of rank; i8, read unsigned)
      k_out = k on those channels, 0 elsewhere;  k_in = k - k_out
      bits[b, h, t]         = packed signs of k_in . P       (P [D, m])
      scales[b, h, t]       = sqrt(pi/2) / m |k_in|
      outlier_bits[b, h, t] = packed signs of k_out . Q      (Q [D, m_out])
      outlier_scales[b, h, t] = sqrt(pi/2) / m_out |k_out|

    so that kiln.attention scores key t as the sum of the two QJL
    estimators of q_in . k_in and q_out . k_out. A group some of whose keys
    left the ring (only after kiln_state_truncate) keeps its channels and
    re-sketches only the keys still there. Keys of a group not yet complete
    keep kiln.kv_append_qjl's plain sketch; the attention reads them whole
    (the ring's window must cover a group).
  }];
  let arguments = (ins Kiln_Tensor:$bits, Kiln_FloatTensor:$scales,
                       Kiln_Tensor:$outlier_bits,
                       Kiln_FloatTensor:$outlier_scales,
                       Kiln_Tensor:$channels,
                       Kiln_FloatTensor:$recent,
                       Kiln_IndexTensor:$recent_positions,
                       Kiln_IndexTensor:$position,
                       Kiln_FloatTensor:$sketch,
                       Kiln_FloatTensor:$outlier_sketch,
                       I64Attr:$tokens, I64Attr:$group, I64Attr:$outliers);
  let results = (outs Kiln_Tensor:$bits_result,
                      Kiln_FloatTensor:$scales_result,
                      Kiln_Tensor:$outlier_bits_result,
                      Kiln_FloatTensor:$outlier_scales_result,
                      Kiln_Tensor:$channels_result);
  let assemblyFormat = [{
    $bits `,` $scales `,` $outlier_bits `,` $outlier_scales `,` $channels
    `,` $recent `,` $recent_positions `,` $position `,` $sketch `,`
    $outlier_sketch attr-dict `:` type($bits) `,` type($scales) `,`
    type($outlier_bits) `,` type($outlier_scales) `,` type($channels) `,`
    type($recent) `,` type($recent_positions) `,` type($position) `,`
    type($sketch) `,` type($outlier_sketch)
  }];
  let hasVerifier = 1;
}

def Kiln_KVThinkObserveOp : Kiln_Op<"kv_think_observe",
    [Pure, AllTypesMatch<["observed", "observed_result"]>,
     AllTypesMatch<["positions", "positions_result"]>]> {
  let summary = "Records the squared queries ThinK scores key channels "
                "with.";
  let description = [{
    ThinK's observation window (Xu et al., query-driven key channel
    pruning). For the last min(S, R) queries r of `query` [B, Hq, S, D]
    (t = position + r), per key/value head h (query heads h G .. h G + G -
    1, G = Hq / H):

      observed[b, h, t % R, :] = sum_g query[b, h G + g, r, :]^2
      positions[t % R] = t

    `observed` f32 [B, H, R, D], `positions` i64 [R]: a ring whose tags
    tell kiln.kv_think_prune which slots still hold one of the tokens
    before its position.

    ```mlir
    %o2, %t2 = kiln.kv_think_observe %o, %t, %q, %pos
        : tensor<1x12x33x64xf32>, tensor<33xi64>, tensor<1x12x1x64xf32>,
          tensor<i64>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$observed,
                       Kiln_IndexTensor:$positions,
                       Kiln_FloatTensor:$query, Kiln_IndexTensor:$position);
  let results = (outs Kiln_FloatTensor:$observed_result,
                      Kiln_IndexTensor:$positions_result);
  let assemblyFormat = [{
    $observed `,` $positions `,` $query `,` $position attr-dict `:`
    type($observed) `,` type($positions) `,` type($query) `,`
    type($position)
  }];
  let hasVerifier = 1;
}

def Kiln_KVThinkPruneOp : Kiln_Op<"kv_think_prune",
    [Pure, AllTypesMatch<["cache", "cache_result"]>,
     AllTypesMatch<["channels", "channels_result"]>]> {
  let summary = "ThinK: drops the lowest-scoring key channels of the keys "
                "older than the recent window, compacting them in place.";
  let description = [{
    `cache` f32 [B, H, M, D] of keys, of which the first P rows are pruned
    and the rest whole, in kiln.attention's `key_channels` layout:
    `channels` i64 [B, H, T + 1] holds per head the T kept channels and
    then the count, P = min(that count, `position`) (`position` (0-d i64)
    keys are in the cache; the clamp keeps the rows a reset or a truncate
    left pruned). The count lives beside the channels, not in a tensor of
    its own, so that the attention reads it with the channels.

    Choosing (only with `choose`, when P = 0, position > `recent` and some
    slot of the observation ring (kiln.kv_think_observe; `observed` [B, H,
    R, D], `observed_positions` [R]) holds a token t with position - W <=
    t < position, W = `window`): per head, score[i] = (sum over those
    slots of observed[.., i]) * (sum_{s < position} cache[.., s, i]^2),
    and the first T entries of `channels` become the T highest-scoring
    channels in ascending order (ties: the lower index).

    Pruning (once channels are chosen, P > 0 or just now): rows [P,
    position - recent) are compacted to stride T (row s's kept channels
    at flat offset s T of the head) and the result's count is
    max(P, position - recent) (P when no channels are chosen). Rows at or past the count stay whole, so
    an append at `position` and the last `recent` keys are untouched.

    ```mlir
    %k2, %c2 = kiln.kv_think_prune %k, %c, %o, %t, %pos
        {recent = 32 : i64, window = 32 : i64, choose}
        : tensor<1x12x1024x64xf32>, tensor<1x12x40xi64>,
          tensor<1x12x33x64xf32>, tensor<33xi64>, tensor<i64>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$cache, Kiln_IndexTensor:$channels,
                       Kiln_FloatTensor:$observed,
                       Kiln_IndexTensor:$observed_positions,
                       Kiln_IndexTensor:$position, I64Attr:$recent,
                       I64Attr:$window, UnitAttr:$choose);
  let results = (outs Kiln_FloatTensor:$cache_result,
                      Kiln_IndexTensor:$channels_result);
  let assemblyFormat = [{
    $cache `,` $channels `,` $observed `,` $observed_positions `,`
    $position attr-dict `:` type($cache) `,` type($channels) `,`
    type($observed) `,` type($observed_positions) `,` type($position)
  }];
  let hasVerifier = 1;
}

def Kiln_Conv2DOp : Kiln_Op<"conv2d", [Pure, InferTypeOpAdaptor]> {
  let summary = "2-D grouped convolution, NCHW input, FCHW weight, with bias.";
  let description = [{
    `padding` is [top, left, bottom, right]. The bias is always present (the
    importer materializes zeros). Weight shape is
    [F, C / group, KH, KW] and F must divide by `group`. An optional `lmul`
    attribute makes every scalar product an L-Mul (`#kiln.lmul`). The unit
    attribute `winograd = m` (3x3, stride 1, dilation 1, one group, f32, no
    `lmul`; m = 2 or 4) computes it as Winograd F(m x m, 3x3): (m + 2)^2
    products per m x m output tile and input channel instead of 9 m^2 (16
    instead of 36, 36 instead of 144), at a different rounding (set by
    `kiln compile --winograd`).

    ```mlir
    %y = kiln.conv2d %x, %w, %b {strides = array<i64: 2, 2>,
           padding = array<i64: 3, 3, 3, 3>, dilations = array<i64: 1, 1>,
           group = 1 : i64}
         : tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>
         -> tensor<1x64x112x112xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group,
                       OptionalAttr<Kiln_LMulAttr>:$lmul,
                       OptionalAttr<I64Attr>:$winograd);
  let results = (outs Kiln_FloatTensor:$result);
  let hasVerifier = 1;
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
    `,` type($bias) `->` type($result)
  }];
  // A builder without the optional `lmul` (plain products).
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$weight, "::mlir::Value":$bias,
                   "::mlir::DenseI64ArrayAttr":$strides,
                   "::mlir::DenseI64ArrayAttr":$padding,
                   "::mlir::DenseI64ArrayAttr":$dilations,
                   "::mlir::IntegerAttr":$group), [{
      build($_builder, $_state, result, input, weight, bias, strides, padding,
            dilations, group, LMulAttr(), /*winograd=*/::mlir::IntegerAttr());
    }]>
  ];
}

class Kiln_Pool2DOp<string mnemonic, string what, dag extraArgs>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "2-D " # what # " pooling over NCHW.";
  let description = [{
    `padding` is [top, left, bottom, right]; ONNX's ceil_mode is expressed
    as extra bottom/right padding by the importer. Padded positions never
    win a max and (unless `count_include_pad`) are not counted in an average.

    ```mlir
    %y = kiln.}] # mnemonic # [{ %x {kernel = array<i64: 3, 3>,
           strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>}
         : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = !con((ins Kiln_FloatTensor:$input,
                            DenseI64ArrayAttr:$kernel,
                            DenseI64ArrayAttr:$strides,
                            DenseI64ArrayAttr:$padding), extraArgs);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_MaxPool2DOp : Kiln_Pool2DOp<"max_pool2d", "max", (ins)>;
def Kiln_AvgPool2DOp : Kiln_Pool2DOp<"avg_pool2d", "average",
    (ins DefaultValuedAttr<BoolAttr, "false">:$count_include_pad)>;

def Kiln_BatchNormOp : Kiln_Op<"batch_norm",
    [Pure, AllTypesMatch<["input", "result"]>,
     AllTypesMatch<["scale", "bias", "mean", "variance"]>]> {
  let summary = "Inference-mode batch normalization over axis 1.";
  let description = [{
    y = (x - mean) / sqrt(var + epsilon) * scale + bias, per channel (axis 1).

    ```mlir
    %y = kiln.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32}
         : tensor<1x64x56x56xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Kiln_FloatTensor:$bias, Kiln_FloatTensor:$mean,
                       Kiln_FloatTensor:$variance, F32Attr:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:`
    type($input) `,` type($scale)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization and reductions
//===----------------------------------------------------------------------===//

def Kiln_SoftmaxOp : Kiln_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis.";
  let description = [{
    ```mlir
    %y = kiln.softmax %x {axis = 2 : i64} : tensor<1x16x16xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_LayerNormOp : Kiln_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>,
     AllTypesMatch<["scale", "bias"]>]> {
  let summary = "Layer normalization over the dims from `axis` to the last.";
  let description = [{
    y = (x - mean) / sqrt(var + epsilon) * scale + bias, statistics over dims
    [axis, rank). `scale` and `bias` have the normalized dims' shape.

    ```mlir
    %y = kiln.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-05 : f32}
         : tensor<1x16x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                       Kiln_FloatTensor:$bias, I64Attr:$axis, F32Attr:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias attr-dict `:` type($input) `,` type($scale)
  }];
  let hasVerifier = 1;
}

class Kiln_ReduceOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "Reduces the given axes by " # what # ".";
  let description = [{
    `axes` are sorted, unique and non-negative; an empty list is not allowed
    (the importer turns ONNX's noop_with_empty_axes into the identity).

    ```mlir
    %y = kiln.}] # mnemonic # [{ %x {axes = array<i64: 2>, keepdims = true}
         : tensor<1x16x64xf32> -> tensor<1x16x1xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$axes,
                       BoolAttr:$keepdims);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "sum">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "mean">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "maximum">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure]> {
  let summary = "Reinterprets a tensor with another static shape (row-major).";
  let description = [{
    Also expresses ONNX Flatten, Squeeze and Unsqueeze. Element counts match.

    ```mlir
    %y = kiln.reshape %x : tensor<1x16x64xf32> -> tensor<1x16x4x16xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure, InferTypeOpAdaptor]> {
  let summary = "Permutes dims: result dim i is input dim perm[i].";
  let description = [{
    ```mlir
    %y = kiln.transpose %x {perm = array<i64: 0, 2, 1, 3>}
         : tensor<1x16x4x16xf32> -> tensor<1x4x16x16xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure, InferTypeOpAdaptor]> {
  let summary = "Concatenates tensors along one axis.";
  let description = [{
    ```mlir
    %y = kiln.concat %a, %b {axis = 1 : i64}
         : tensor<2x3xf32>, tensor<2x5xf32> -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure, InferTypeOpAdaptor]> {
  let summary = "Strided slice with one static (start, size, step) per dim.";
  let description = [{
    Normalized from ONNX Slice: one entry per dim, `starts` in range,
    `sizes` >= 0 and `steps` non-zero (negative steps walk backwards).

    ```mlir
    %y = kiln.slice %x {starts = array<i64: 0, 2>, sizes = array<i64: 4, 3>,
                        steps = array<i64: 1, 1>} : tensor<4x8xf32> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_GatherOp : Kiln_Op<"gather", [Pure, InferTypeOpAdaptor]> {
  let summary = "Gathers slices of `data` along `axis` at `indices` (ONNX Gather).";
  let description = [{
    Result shape is data.shape[:axis] + indices.shape + data.shape[axis+1:].
    Negative indices count from the end; out-of-range indices are clamped.

    ```mlir
    %y = kiln.gather %emb, %ids {axis = 0 : i64}
         : tensor<1000x64xf32>, tensor<1x16xi64> -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $data `,` $indices attr-dict `:` type($data) `,` type($indices) `->`
    type($result)
  }];
}

def Kiln_ExpandOp : Kiln_Op<"expand", [Pure]> {
  let summary = "Broadcasts a tensor to a larger static shape (numpy rules).";
  let description = [{
    ```mlir
    %y = kiln.expand %x : tensor<1x4xf32> -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// ONNX coverage: math functions, integer arithmetic, reductions, arg/top-k
// (the importer decomposes the other activations and reductions into these
// and the ops above)
//===----------------------------------------------------------------------===//

class Kiln_FloatUnaryOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise " # what # " of a float tensor.";
  let description = [{
    Applies the function to every element; the result has the operand's type.

    ```mlir
    %y = kiln.}] # mnemonic # [{ %x : tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Kiln_SinOp : Kiln_FloatUnaryOp<"sin", "sine">;
def Kiln_CosOp : Kiln_FloatUnaryOp<"cos", "cosine">;
def Kiln_TanOp : Kiln_FloatUnaryOp<"tan", "tangent">;
def Kiln_AsinOp : Kiln_FloatUnaryOp<"asin", "arcsine">;
def Kiln_AcosOp : Kiln_FloatUnaryOp<"acos", "arccosine">;
def Kiln_AtanOp : Kiln_FloatUnaryOp<"atan", "arctangent">;
def Kiln_SinhOp : Kiln_FloatUnaryOp<"sinh", "hyperbolic sine">;
def Kiln_CoshOp : Kiln_FloatUnaryOp<"cosh", "hyperbolic cosine">;
def Kiln_AsinhOp : Kiln_FloatUnaryOp<"asinh", "inverse hyperbolic sine">;
def Kiln_AcoshOp : Kiln_FloatUnaryOp<"acosh", "inverse hyperbolic cosine">;
def Kiln_AtanhOp : Kiln_FloatUnaryOp<"atanh", "inverse hyperbolic tangent">;
def Kiln_FloorOp : Kiln_FloatUnaryOp<"floor", "rounding toward -inf">;
def Kiln_CeilOp : Kiln_FloatUnaryOp<"ceil", "rounding toward +inf">;
def Kiln_RoundOp : Kiln_FloatUnaryOp<"round",
    "rounding to the nearest integer, halves to even">;

def Kiln_SignOp : Kiln_UnaryOp<"sign", "sign: -1, 0 or 1 (NaN stays NaN)">;

def Kiln_ModOp : Kiln_BinaryOp<"mod", "remainder",
                               [], (ins BoolAttr:$fmod)> {
  let description = [{
    With `fmod = true` the result has the dividend's sign (C `fmod`, integer
    `%`); with `fmod = false` it has the divisor's sign (numpy's `mod`, a
    zero remainder of floats included). Shapes broadcast by numpy rules.

    ```mlir
    %z = kiln.mod %x, %y {fmod = false} : tensor<6xi32>, tensor<6xi32>
    ```
  }];
  let hasVerifier = 1;
}

def Kiln_BitShiftOp : Kiln_BinaryOp<"bit_shift", "bit shift",
                                    [], (ins StrAttr:$direction)> {
  let description = [{
    Shifts every element of `lhs` by the matching element of `rhs`
    (`direction` is "left" or "right"; right shifts of unsigned integers are
    logical, of signed ones arithmetic). Shifts by the bit width or more give
    0 (-1 for negative signed values shifted right). Integers only.

    ```mlir
    %z = kiln.bit_shift %x, %y {direction = "left"} : tensor<3xui8>, tensor<3xui8>
    ```
  }];
  let hasVerifier = 1;
}

def Kiln_XorOp : Kiln_BinaryOp<"xor", "exclusive or (bitwise; logical on i1)",
                               [Commutative]> {
  let hasVerifier = 1;
}

def Kiln_BitcastOp : Kiln_Op<"bitcast", [Pure, SameOperandsAndResultShape]> {
  let summary = "Reinterprets every element's bits as another type of that size.";
  let description = [{
    Element types have the same storage size (i1 is one byte: true is 1, and
    a non-zero byte reads as true).

    ```mlir
    %y = kiln.bitcast %x : tensor<3xf32> -> tensor<3xi32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_ReduceMinOp : Kiln_ReduceOp<"reduce_min", "minimum">;
def Kiln_ReduceProdOp : Kiln_ReduceOp<"reduce_prod", "product">;

class Kiln_ArgReduceOp<string mnemonic, string what>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "Index of the " # what # " along one axis (i64).";
  let description = [{
    Ties resolve to the first index, or the last with `select_last_index`.
    With `keepdims` the reduced axis stays as a unit dim.

    ```mlir
    %i = kiln.}] # mnemonic # [{ %x {axis = 1 : i64, keepdims = true,
           select_last_index = false} : tensor<2x5xf32> -> tensor<2x1xi64>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis, BoolAttr:$keepdims,
                       BoolAttr:$select_last_index);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_ArgMaxOp : Kiln_ArgReduceOp<"arg_max", "maximum">;
def Kiln_ArgMinOp : Kiln_ArgReduceOp<"arg_min", "minimum">;

def Kiln_TopKOp : Kiln_Op<"top_k", [Pure, InferTypeOpAdaptor]> {
  let summary = "The k largest (or smallest) elements along one axis.";
  let description = [{
    Returns the values and their i64 indices, both with dim `axis` of size
    `k`. Elements come in order (largest first, or smallest first when
    `largest` is false); equal values keep their index order. `sorted` is
    recorded for ONNX fidelity; the output is always sorted.

    ```mlir
    %v, %i = kiln.top_k %x {axis = 1 : i64, k = 3 : i64, largest = true,
               sorted = true} : tensor<3x4xf32> -> tensor<3x3xf32>, tensor<3x3xi64>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis, I64Attr:$k,
                       BoolAttr:$largest, BoolAttr:$sorted);
  let results = (outs Kiln_Tensor:$values, Kiln_Tensor:$indices);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($values) `,` type($indices)
  }];
}

//===----------------------------------------------------------------------===//
// ONNX coverage: N-D convolution and pooling, scatter, running sums, grid
// sampling (1-D and 3-D windows, dilated pools, ceil mode,
// ScatterND/ScatterElements, CumSum/CumProd, GridSample)
//===----------------------------------------------------------------------===//

def Kiln_ConvOp : Kiln_Op<"conv", [Pure, InferTypeOpAdaptor]> {
  let summary = "N-D grouped convolution over N x C x spatial..., with bias.";
  let description = [{
    The N-D form of `kiln.conv2d` (used for 1-D and 3-D convolutions and
    for the convolutions ConvTranspose becomes). With k spatial dims,
    `strides` and `dilations` have k entries and `padding` 2k: all begins,
    then all ends. The weight is [F, C / group, K1..Kk] and the bias [F].

    ```mlir
    %y = kiln.conv %x, %w, %b {strides = array<i64: 1, 1, 1>,
           padding = array<i64: 1, 1, 1, 1, 1, 1>,
           dilations = array<i64: 1, 1, 1>, group = 1 : i64}
         : tensor<1x2x4x4x4xf32>, tensor<3x2x3x3x3xf32>, tensor<3xf32>
         -> tensor<1x3x4x4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                       Kiln_FloatTensor:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$padding,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
    `,` type($bias) `->` type($result)
  }];
}

class Kiln_PoolNDOp<string mnemonic, string what, TypeConstraint elements,
                    dag extraArgs>
    : Kiln_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "N-D " # what # " pooling over N x C x spatial..., dilated.";
  let description = [{
    With k spatial dims, `kernel`, `strides` and `dilations` have k entries
    and `padding` 2k (all begins, then all ends). With `ceil_mode` the
    output length of each dim rounds up, as long as the last window starts
    inside the input or its begin padding (ONNX's rule); the positions that
    adds past the end padding are never counted. Padded positions never win
    a max; an average counts them only with `count_include_pad`.

    ```mlir
    %y = kiln.}] # mnemonic # [{ %x {kernel = array<i64: 2, 2, 2>,
           strides = array<i64: 2, 2, 2>, padding = array<i64: 0, 0, 0, 0, 0, 0>,
           dilations = array<i64: 1, 1, 1>, ceil_mode = false}
         : tensor<1x3x8x8x8xf32> -> tensor<1x3x4x4x4xf32>
    ```
  }];
  let arguments = !con((ins elements:$input,
                            DenseI64ArrayAttr:$kernel,
                            DenseI64ArrayAttr:$strides,
                            DenseI64ArrayAttr:$padding,
                            DenseI64ArrayAttr:$dilations,
                            DefaultValuedAttr<BoolAttr, "false">:$ceil_mode),
                       extraArgs);
  let results = (outs elements:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def Kiln_MaxPoolOp : Kiln_PoolNDOp<"max_pool", "max",
    StaticShapeTensorOf<[AnyFloat, AnyInteger]>, (ins)>;
def Kiln_AvgPoolOp : Kiln_PoolNDOp<"avg_pool", "average", Kiln_FloatTensor,
    (ins DefaultValuedAttr<BoolAttr, "false">:$count_include_pad)>;

def Kiln_ScatterNDOp : Kiln_Op<"scatter_nd",
    [Pure, AllTypesMatch<["data", "result"]>]> {
  let summary = "ONNX ScatterND: writes slices of `updates` into `data`.";
  let description = [{
    `indices` is [..., k] (k <= rank of data) and `updates` is
    indices.shape[:-1] + data.shape[k:]. Each index row selects a slice of
    the result, which receives the matching slice of `updates` (`reduction`
    "none"), or is combined with it ("add", "mul", "max", "min"). Rows are
    applied in order, so a repeated index with "none" keeps the last update.
    Negative indices count from the end; out-of-range ones are clamped.
    ScatterElements becomes this op with k = rank.

    ```mlir
    %y = kiln.scatter_nd %data, %idx, %upd {reduction = "add"}
         : tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                       Kiln_Tensor:$updates,
                       DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = [{
    $data `,` $indices `,` $updates attr-dict `:` type($data) `,`
    type($indices) `,` type($updates)
  }];
  let hasVerifier = 1;
}

def Kiln_CumulativeOp : Kiln_Op<"cumulative",
    [Pure, SameOperandsAndResultType]> {
  let summary = "Running sum or product along one axis (CumSum, CumProd).";
  let description = [{
    Element i of the result combines the input elements 0..i along `axis`
    (`kind` "sum" or "prod"), in order; `exclusive` leaves out element i
    itself (the first result is 0 or 1), `reverse` runs from the end.

    ```mlir
    %y = kiln.cumulative %x {axis = 1 : i64, kind = "prod", exclusive = false,
                             reverse = true} : tensor<2x5xi32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis, StrAttr:$kind,
                       BoolAttr:$exclusive, BoolAttr:$reverse);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_GridSampleOp : Kiln_Op<"grid_sample", [Pure, InferTypeOpAdaptor]> {
  let summary = "Samples N x C x spatial... input at grid coordinates (ONNX GridSample).";
  let description = [{
    `grid` is [N, O1..Ok, k] with normalized coordinates in [-1, 1], the
    first component for the last spatial dim. The result is [N, C, O1..Ok].
    `mode` is "nearest" (round half to even), "linear" or "cubic" (Keys,
    A = -0.75); `padding_mode` is "zeros", "border" or "reflection";
    `align_corners` maps -1 and 1 to the centers of the corner pixels
    instead of their outer edges.

    ```mlir
    %y = kiln.grid_sample %x, %g {mode = "linear", padding_mode = "zeros",
                                  align_corners = false}
         : tensor<1x3x8x8xf32>, tensor<1x4x4x2xf32> -> tensor<1x3x4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$grid,
                       StrAttr:$mode, StrAttr:$padding_mode,
                       BoolAttr:$align_corners);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $grid attr-dict `:` type($input) `,` type($grid) `->`
    type($result)
  }];
}

#endif // KILN_OPS

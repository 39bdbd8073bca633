// RUN: %kiln_opt %s -split-input-file -verify-diagnostics
// Verifier errors of kiln.dynamic_quantized_matmul.

func.func @k_mismatch(%x: tensor<2x48xf32>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{input reduction dim 48 differs from the weights' K 64}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<2x48xf32>, tensor<64x16xi8>, tensor<16xf32>
  return
}

// -----

func.func @per_group_scales(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<2x16xf32>) {
  // expected-error @+1 {{scales must be f32 [16] (one per output column)}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<2x64xf32>, tensor<64x16xi8>, tensor<2x16xf32>
  return
}

// -----

func.func @wrong_count(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<15xf32>) {
  // expected-error @+1 {{scales must be f32 [16]}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<2x64xf32>, tensor<64x16xi8>, tensor<15xf32>
  return
}

// -----

func.func @unsigned_weights(%x: tensor<2x64xf32>, %w: tensor<64x16xui8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{weights must be signless i8}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<2x64xf32>, tensor<64x16xui8>, tensor<16xf32>
  return
}

// -----

func.func @f16_input(%x: tensor<2x64xf16>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{input must be f32}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<2x64xf16>, tensor<64x16xi8>, tensor<16xf32>
  return
}

// -----

func.func @rank1_weights(%x: tensor<2x64xf32>, %w: tensor<64xi8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{needs an input of rank >= 2 and weights of rank 2}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<2x64xf32>, tensor<64xi8>, tensor<16xf32>
  return
}

// -----

func.func @zero_static_scale(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{input_scale must be a positive finite f32 (the calibrated activation range / 127), got 0}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s {input_scale = 0.0 : f32}
       : tensor<2x64xf32>, tensor<64x16xi8>, tensor<16xf32>
  return
}

// -----

func.func @negative_static_scale(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{input_scale must be a positive finite f32}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s {input_scale = -0.5 : f32}
       : tensor<2x64xf32>, tensor<64x16xi8>, tensor<16xf32>
  return
}

// -----

func.func @f64_static_scale(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) {
  // expected-error @+1 {{attribute 'input_scale' failed to satisfy constraint: 32-bit float attribute}}
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s {input_scale = 0.5 : f64}
       : tensor<2x64xf32>, tensor<64x16xi8>, tensor<16xf32>
  return
}

// -----

func.func @integer_f32_lhs(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>) {
  // expected-error @+1 {{lhs must be ui8 or i8, got 'f32'}}
  %0 = kiln.integer_matmul %x, %w : tensor<2x64xf32>, tensor<64x16xi8>
  return
}

// -----

func.func @integer_u8_rhs(%x: tensor<2x64xui8>, %w: tensor<64x16xui8>) {
  // expected-error @+1 {{rhs must be signless i8, got 'ui8'}}
  %0 = kiln.integer_matmul %x, %w : tensor<2x64xui8>, tensor<64x16xui8>
  return
}

// -----

func.func @integer_k_mismatch(%x: tensor<2x48xui8>, %w: tensor<64x16xi8>) {
  // expected-error @+1 {{lhs reduction dim 48 differs from the rhs's K 64}}
  %0 = kiln.integer_matmul %x, %w : tensor<2x48xui8>, tensor<64x16xi8>
  return
}

// -----

func.func @integer_zero_point_per_row(%x: tensor<2x64xui8>, %w: tensor<64x16xi8>, %zp: tensor<2xui8>) {
  // expected-error @+1 {{lhs_zero_point must be a scalar (rank 0) of the lhs's type 'ui8'}}
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<2x64xui8>, tensor<64x16xi8>, tensor<2xui8>
  return
}

// -----

func.func @integer_zero_point_type(%x: tensor<2x64xui8>, %w: tensor<64x16xi8>, %zp: tensor<i8>) {
  // expected-error @+1 {{lhs_zero_point must be a scalar (rank 0) of the lhs's type 'ui8'}}
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<2x64xui8>, tensor<64x16xi8>, tensor<i8>
  return
}

// -----

func.func @conv_rows(%x: tensor<1x8x16x16xui8>, %w: tensor<64x16xi8>) {
  // expected-error @+2 {{weights have 64 rows, expected KH * KW * C / group = 72}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>,
         strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>}
       : tensor<1x8x16x16xui8>, tensor<64x16xi8> -> tensor<1x16x14x14xi32>
  return
}

// -----

func.func @conv_float_input(%x: tensor<1x8x16x16xf32>, %w: tensor<72x16xi8>) {
  // expected-error @+1 {{input must be ui8 or i8, got 'f32'}}
  %0 = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>,
         strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>}
       : tensor<1x8x16x16xf32>, tensor<72x16xi8> -> tensor<1x16x14x14xi32>
  return
}

// -----

func.func @conv_zero_point_type(%x: tensor<1x8x16x16xui8>, %w: tensor<72x16xi8>, %zp: tensor<i8>) {
  // expected-error @+1 {{input_zero_point must be a scalar (rank 0) of the input's type 'ui8'}}
  %0 = kiln.integer_conv2d %x, %w zero_point %zp {kernel = array<i64: 3, 3>,
         strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>}
       : tensor<1x8x16x16xui8>, tensor<72x16xi8>, tensor<i8> -> tensor<1x16x14x14xi32>
  return
}

// -----

// Groups other than 1 and depthwise (C = F = group) have no kernel.
func.func @conv_group(%x: tensor<1x8x16x16xui8>, %w: tensor<36x16xi8>) {
  // expected-error @+2 {{integer_conv2d group must be 1 or C = F (depthwise), got group 2 with C = 8, F = 16}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>,
         strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, group = 2}
       : tensor<1x8x16x16xui8>, tensor<36x16xi8> -> tensor<1x16x14x14xi32>
  return
}

// -----

// A depthwise conv's weights have one row per tap.
func.func @depthwise_rows(%x: tensor<1x8x8x16xui8>, %w: tensor<144x16xi8>) {
  // expected-error @+2 {{weights have 144 rows, expected KH * KW * C / group = 9}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>, channels_last,
         strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>,
         dilations = array<i64: 1, 1>, group = 16}
       : tensor<1x8x8x16xui8>, tensor<144x16xi8> -> tensor<1x8x8x16xi32>
  return
}

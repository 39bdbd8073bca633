// RUN: %kiln_opt %s | %kiln_opt | FileCheck %s
// Round trip of kiln.dynamic_quantized_matmul; the result type is inferred
// ([.., M, N]).

// CHECK-LABEL: func.func @matrix
func.func @matrix(%x: tensor<4x64xf32>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) -> tensor<4x16xf32> {
  // CHECK: %[[Y:.*]] = kiln.dynamic_quantized_matmul %{{.*}}, %{{.*}} scales %{{.*}} : tensor<4x64xf32>, tensor<64x16xi8>, tensor<16xf32>
  // CHECK: return %[[Y]] : tensor<4x16xf32>
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<4x64xf32>, tensor<64x16xi8>, tensor<16xf32>
  return %0 : tensor<4x16xf32>
}

// Leading dims stay in the result.
// CHECK-LABEL: func.func @batched
func.func @batched(%x: tensor<2x3x10xf32>, %w: tensor<10x7xi8>, %s: tensor<7xf32>) -> tensor<2x3x7xf32> {
  // CHECK: kiln.dynamic_quantized_matmul %{{.*}} : tensor<2x3x10xf32>, tensor<10x7xi8>, tensor<7xf32>
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s
       : tensor<2x3x10xf32>, tensor<10x7xi8>, tensor<7xf32>
  return %0 : tensor<2x3x7xf32>
}

// A calibrated static activation scale.
// CHECK-LABEL: func.func @static_scale
func.func @static_scale(%x: tensor<4x64xf32>, %w: tensor<64x16xi8>, %s: tensor<16xf32>) -> tensor<4x16xf32> {
  // CHECK: kiln.dynamic_quantized_matmul %{{.*}}, %{{.*}} scales %{{.*}} {input_scale = 1.250000e-02 : f32} : tensor<4x64xf32>, tensor<64x16xi8>, tensor<16xf32>
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s {input_scale = 0.0125 : f32}
       : tensor<4x64xf32>, tensor<64x16xi8>, tensor<16xf32>
  return %0 : tensor<4x16xf32>
}

// kiln.integer_matmul (ONNX MatMulInteger): 8-bit activations with an
// optional 0-d zero point; the result is i32 [.., M, N].
// CHECK-LABEL: func.func @integer_u8
func.func @integer_u8(%x: tensor<2x4x64xui8>, %w: tensor<64x16xi8>, %zp: tensor<ui8>) -> tensor<2x4x16xi32> {
  // CHECK: kiln.integer_matmul %{{.*}}, %{{.*}} zero_point %{{.*}} : tensor<2x4x64xui8>, tensor<64x16xi8>, tensor<ui8>
  %0 = kiln.integer_matmul %x, %w zero_point %zp
       : tensor<2x4x64xui8>, tensor<64x16xi8>, tensor<ui8>
  return %0 : tensor<2x4x16xi32>
}

// CHECK-LABEL: func.func @integer_i8_no_zero_point
func.func @integer_i8_no_zero_point(%x: tensor<4x64xi8>, %w: tensor<64x16xi8>) -> tensor<4x16xi32> {
  // CHECK: kiln.integer_matmul %{{.*}}, %{{.*}} : tensor<4x64xi8>, tensor<64x16xi8>
  %0 = kiln.integer_matmul %x, %w : tensor<4x64xi8>, tensor<64x16xi8>
  return %0 : tensor<4x16xi32>
}

// kiln.integer_conv2d: [N, F, OH, OW] i32, inferred from the window.
// CHECK-LABEL: func.func @integer_conv
func.func @integer_conv(%x: tensor<1x8x16x16xui8>, %w: tensor<72x16xi8>, %zp: tensor<ui8>) -> tensor<1x16x8x8xi32> {
  // CHECK: kiln.integer_conv2d %{{.*}}, %{{.*}} zero_point %{{.*}} {dilations = array<i64: 1, 1>, kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 0, 0>, strides = array<i64: 2, 2>} : tensor<1x8x16x16xui8>, tensor<72x16xi8>, tensor<ui8> -> tensor<1x16x8x8xi32>
  %0 = kiln.integer_conv2d %x, %w zero_point %zp {kernel = array<i64: 3, 3>,
         strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 0, 0>,
         dilations = array<i64: 1, 1>}
       : tensor<1x8x16x16xui8>, tensor<72x16xi8>, tensor<ui8> -> tensor<1x16x8x8xi32>
  return %0 : tensor<1x16x8x8xi32>
}

// channels_last: [N, H, W, C] in, [N, OH, OW, F] out.
// CHECK-LABEL: func.func @integer_conv_channels_last
func.func @integer_conv_channels_last(%x: tensor<1x16x16x8xi8>, %w: tensor<72x16xi8>) -> tensor<1x14x14x16xi32> {
  // CHECK: kiln.integer_conv2d %{{.*}}, %{{.*}} {channels_last, {{.*}}} : tensor<1x16x16x8xi8>, tensor<72x16xi8> -> tensor<1x14x14x16xi32>
  %0 = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>, channels_last,
         strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>}
       : tensor<1x16x16x8xi8>, tensor<72x16xi8> -> tensor<1x14x14x16xi32>
  return %0 : tensor<1x14x14x16xi32>
}

// Depthwise (group = C = F): one weight row per tap.
// CHECK-LABEL: func.func @integer_conv_depthwise
func.func @integer_conv_depthwise(%x: tensor<1x8x8x16xui8>, %w: tensor<9x16xi8>) -> tensor<1x4x4x16xi32> {
  // CHECK: kiln.integer_conv2d %{{.*}}, %{{.*}} {channels_last, {{.*}}group = 16 : i64{{.*}}} : tensor<1x8x8x16xui8>, tensor<9x16xi8> -> tensor<1x4x4x16xi32>
  %0 = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>, channels_last,
         strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 0, 0>,
         dilations = array<i64: 1, 1>, group = 16}
       : tensor<1x8x8x16xui8>, tensor<9x16xi8> -> tensor<1x4x4x16xi32>
  return %0 : tensor<1x4x4x16xi32>
}

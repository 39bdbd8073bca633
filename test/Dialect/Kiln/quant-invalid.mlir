// RUN: %kiln_opt %s -split-input-file -verify-diagnostics
// Verifier errors of kiln.quantized_matmul and #kiln.weight_quant.

func.func @k_mismatch(%x: tensor<1x48xf32>, %w: tensor<64x16xi8>, %s: tensor<2x16xf32>) {
  // expected-error @+1 {{lhs reduction dim 48 differs from the weights' K 64}}
  %0 = kiln.quantized_matmul %x, %w scales %s {quant = #kiln.weight_quant<bits = 4, group = 32>}
       : tensor<1x48xf32>, tensor<64x16xi8>, tensor<2x16xf32>
  return
}

// -----

func.func @scale_shape(%x: tensor<1x64xf32>, %w: tensor<64x16xi8>, %s: tensor<4x16xf32>) {
  // expected-error @+1 {{scales must be 2x16 (ceil(K / group) x N)}}
  %0 = kiln.quantized_matmul %x, %w scales %s {quant = #kiln.weight_quant<bits = 4, group = 32>}
       : tensor<1x64xf32>, tensor<64x16xi8>, tensor<4x16xf32>
  return
}

// -----

func.func @wide_weights(%x: tensor<1x64xf32>, %w: tensor<64x16xi32>, %s: tensor<2x16xf32>) {
  // expected-error @+1 {{weights must be 8-bit integers}}
  %0 = kiln.quantized_matmul %x, %w scales %s {quant = #kiln.weight_quant<bits = 4, group = 32>}
       : tensor<1x64xf32>, tensor<64x16xi32>, tensor<2x16xf32>
  return
}

// -----

func.func @zero_type(%x: tensor<1x64xf32>, %w: tensor<64x16xui8>, %s: tensor<2x16xf32>, %z: tensor<2x16xi8>) {
  // expected-error @+1 {{zero points must match the scales' shape and the weights' type}}
  %0 = kiln.quantized_matmul %x, %w scales %s zero_points %z {quant = #kiln.weight_quant<bits = 4, group = 32>}
       : tensor<1x64xf32>, tensor<64x16xui8>, tensor<2x16xf32>, tensor<2x16xi8>
  return
}

// -----

func.func @scale_type(%x: tensor<1x64xf32>, %w: tensor<64x16xi8>, %s: tensor<2x16xf16>) {
  // expected-error @+1 {{scales must have lhs's element type 'f32'}}
  %0 = kiln.quantized_matmul %x, %w scales %s {quant = #kiln.weight_quant<bits = 4, group = 32>}
       : tensor<1x64xf32>, tensor<64x16xi8>, tensor<2x16xf16>
  return
}

// -----

func.func @bits(%x: tensor<1x64xf32>, %w: tensor<64x16xi8>, %s: tensor<2x16xf32>) {
  // expected-error @+1 {{weight bits 9 out of range 2..8}}
  %0 = kiln.quantized_matmul %x, %w scales %s {quant = #kiln.weight_quant<bits = 9, group = 32>}
       : tensor<1x64xf32>, tensor<64x16xi8>, tensor<2x16xf32>
  return
}

// -----

func.func @group(%x: tensor<1x64xf32>, %w: tensor<64x16xi8>, %s: tensor<2x16xf32>) {
  // expected-error @+1 {{group size 0 must be positive}}
  %0 = kiln.quantized_matmul %x, %w scales %s {quant = #kiln.weight_quant<bits = 4, group = 0>}
       : tensor<1x64xf32>, tensor<64x16xi8>, tensor<2x16xf32>
  return
}

// RUN: %kiln_opt %s -split-input-file -verify-diagnostics

func.func @bad_broadcast(%x: tensor<2x3xf32>, %y: tensor<4xf32>) {
  // expected-error @+1 {{not broadcast-compatible}}
  %0 = kiln.add %x, %y : tensor<2x3xf32>, tensor<4xf32>
  return
}

// -----

func.func @mixed_element_types(%x: tensor<2xf32>, %y: tensor<2xi64>) {
  // expected-error @+1 {{operand element types differ}}
  %0 = kiln.mul %x, %y : tensor<2xf32>, tensor<2xi64>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error @+1 {{contraction dims differ}}
  %0 = kiln.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32>
  return
}

// -----

func.func @conv_groups(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{group 2 must divide input channels 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, group = 2 : i64}
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_wrong_result(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x4x6x6xf32>' are incompatible with return type(s) of operation 'tensor<1x4x8x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>, group = 1 : i64}
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot reshape 2x3 (6 elements) to 7 (7 elements)}}
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{perm is not a permutation}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.transpose %x {perm = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @slice_bounds(%x: tensor<4xf32>) {
  // expected-error @+2 {{slice of dim 0 goes out of bounds}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.slice %x {starts = array<i64: 2>, sizes = array<i64: 3>, steps = array<i64: 1>} : tensor<4xf32> -> tensor<3xf32>
  return
}

// -----

func.func @reduce_axes(%x: tensor<4x5xf32>) {
  // expected-error @+2 {{axes must be sorted and unique}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.reduce_sum %x {axes = array<i64: 1, 0>, keepdims = false} : tensor<4x5xf32> -> tensor<f32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<4x5xf32>) {
  // expected-error @+1 {{axis 2 out of range for rank 2}}
  %0 = kiln.softmax %x {axis = 2 : i64} : tensor<4x5xf32>
  return
}

// -----

func.func @layer_norm_scale(%x: tensor<4x5xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{scale and bias must have type tensor<5xf32>}}
  %0 = kiln.layer_norm %x, %g, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : tensor<4x5xf32>, tensor<4xf32>
  return
}

// -----

func.func @batch_norm_channels(%x: tensor<1x3x4x4xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{parameters must be 1-D with 3 channels}}
  %0 = kiln.batch_norm %x, %s, %s, %s, %s {epsilon = 1.0e-5 : f32} : tensor<1x3x4x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @expand_shape(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{cannot broadcast 2x4 to 3x4}}
  %0 = kiln.expand %x : tensor<2x4xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @clip_bounds(%x: tensor<4xf32>) {
  // expected-error @+1 {{min 6.000000e+00 is greater than max 0.000000e+00}}
  %0 = kiln.clip %x {min = 6.0 : f64, max = 0.0 : f64} : tensor<4xf32>
  return
}

// -----

func.func @gelu_mode(%x: tensor<4xf32>) {
  // expected-error @+1 {{approximate must be "none" or "tanh"}}
  %0 = kiln.gelu %x {approximate = "fast"} : tensor<4xf32>
  return
}

// -----

func.func @pool_padding(%x: tensor<1x1x8x8xf32>) {
  // expected-error @+2 {{padding must be smaller than the kernel}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, padding = array<i64: 2, 0, 0, 0>}
       : tensor<1x1x8x8xf32> -> tensor<1x1x9x7xf32>
  return
}

// RUN: %kiln_opt %s -split-input-file -verify-diagnostics
// Verifier and type-inference errors of the N-D window and scatter ops.

func.func @conv_rank(%x: tensor<1x2x4x4x4xf32>, %w: tensor<3x2x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{a weight of the same rank}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 1, 1, 1>, padding = array<i64: 0, 0, 0, 0, 0, 0>,
                            dilations = array<i64: 1, 1, 1>, group = 1 : i64}
       : tensor<1x2x4x4x4xf32>, tensor<3x2x3x3xf32>, tensor<3xf32> -> tensor<1x3x2x2x2xf32>
  return
}

// -----

func.func @conv_attr_count(%x: tensor<1x2x8xf32>, %w: tensor<3x2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{expected 1 strides, 2 paddings and 1 dilations}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0>,
                            dilations = array<i64: 1>, group = 1 : i64}
       : tensor<1x2x8xf32>, tensor<3x2x3xf32>, tensor<3xf32> -> tensor<1x3x6xf32>
  return
}

// -----

func.func @conv_groups(%x: tensor<1x3x8xf32>, %w: tensor<4x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{group 2 must divide input channels 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 1>, padding = array<i64: 0, 0>,
                            dilations = array<i64: 1>, group = 2 : i64}
       : tensor<1x3x8xf32>, tensor<4x3x3xf32>, tensor<4xf32> -> tensor<1x4x6xf32>
  return
}

// -----

func.func @conv_result(%x: tensor<1x2x8xf32>, %w: tensor<3x2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<1x3x6xf32>' are incompatible with return type(s) of operation 'tensor<1x3x8xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 1>, padding = array<i64: 0, 0>,
                            dilations = array<i64: 1>, group = 1 : i64}
       : tensor<1x2x8xf32>, tensor<3x2x3xf32>, tensor<3xf32> -> tensor<1x3x8xf32>
  return
}

// -----

func.func @pool_kernel_count(%x: tensor<1x1x8x8x8xf32>) {
  // expected-error @+2 {{expected 3 positive kernel sizes}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.max_pool %x {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1, 1>,
                         padding = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>}
       : tensor<1x1x8x8x8xf32> -> tensor<1x1x7x7x7xf32>
  return
}

// -----

func.func @pool_padding(%x: tensor<1x1x8xf32>) {
  // expected-error @+2 {{padding must be smaller than the (dilated) kernel}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.avg_pool %x {kernel = array<i64: 2>, strides = array<i64: 1>,
                         padding = array<i64: 2, 0>, dilations = array<i64: 1>}
       : tensor<1x1x8xf32> -> tensor<1x1x9xf32>
  return
}

// -----

func.func @avg_pool_int(%x: tensor<1x1x8xi32>) {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of floating-point values}}
  %0 = kiln.avg_pool %x {kernel = array<i64: 2>, strides = array<i64: 1>,
                         padding = array<i64: 0, 0>, dilations = array<i64: 1>}
       : tensor<1x1x8xi32> -> tensor<1x1x7xi32>
  return
}

// -----

func.func @scatter_reduction(%d: tensor<4xf32>, %i: tensor<2x1xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{reduction must be none, add, mul, max or min, got "sum"}}
  %0 = kiln.scatter_nd %d, %i, %u {reduction = "sum"} : tensor<4xf32>, tensor<2x1xi64>, tensor<2xf32>
  return
}

// -----

func.func @scatter_updates_shape(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) {
  // expected-error @+1 {{updates must have shape 2x3, got 2x4}}
  %0 = kiln.scatter_nd %d, %i, %u : tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x4xf32>
  return
}

// -----

func.func @scatter_row_length(%d: tensor<4xf32>, %i: tensor<2x2xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{index rows of length 2 do not fit data of rank 1}}
  %0 = kiln.scatter_nd %d, %i, %u : tensor<4xf32>, tensor<2x2xi64>, tensor<2xf32>
  return
}

// -----

func.func @cumulative_axis(%x: tensor<2x5xf32>) {
  // expected-error @+1 {{axis 2 out of range for rank 2}}
  %0 = kiln.cumulative %x {axis = 2 : i64, kind = "sum", exclusive = false, reverse = false} : tensor<2x5xf32>
  return
}

// -----

func.func @cumulative_kind(%x: tensor<5xf32>) {
  // expected-error @+1 {{kind must be "sum" or "prod", got "max"}}
  %0 = kiln.cumulative %x {axis = 0 : i64, kind = "max", exclusive = false, reverse = false} : tensor<5xf32>
  return
}

// -----

func.func @cumulative_bool(%x: tensor<5xi1>) {
  // expected-error @+1 {{expects numeric elements, got i1}}
  %0 = kiln.cumulative %x {axis = 0 : i64, kind = "sum", exclusive = false, reverse = false} : tensor<5xi1>
  return
}

// -----

// Winograd F(m x m, 3x3) covers 3x3 stride-1 convolutions only.
func.func @winograd_strided(%x: tensor<1x2x5x5xf32>, %w: tensor<2x2x3x3xf32>, %b: tensor<2xf32>) -> tensor<1x2x3x3xf32> {
  // expected-error @+1 {{winograd needs a 3x3 f32 convolution with stride 1}}
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, winograd = 2 : i64} : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>, tensor<2xf32> -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// -----

// Winograd output tiles are 2x2 or 4x4.
func.func @winograd_tile(%x: tensor<1x2x5x5xf32>, %w: tensor<2x2x3x3xf32>, %b: tensor<2xf32>) -> tensor<1x2x5x5xf32> {
  // expected-error @+1 {{winograd output tile must be 2 or 4, not 3}}
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, winograd = 3 : i64} : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>, tensor<2xf32> -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

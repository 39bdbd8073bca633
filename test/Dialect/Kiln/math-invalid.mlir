// RUN: %kiln_opt %s -split-input-file -verify-diagnostics

func.func @sin_of_int(%x: tensor<4xi32>) {
  // expected-error @+1 {{must be statically shaped tensor of floating-point values}}
  %0 = kiln.sin %x : tensor<4xi32>
  return
}

// -----

func.func @mod_of_bool(%x: tensor<4xi1>) {
  // expected-error @+1 {{expects float or non-bool integer operands}}
  %0 = kiln.mod %x, %x {fmod = true} : tensor<4xi1>, tensor<4xi1>
  return
}

// -----

func.func @shift_of_float(%x: tensor<4xf32>) {
  // expected-error @+1 {{expects non-bool integer operands}}
  %0 = kiln.bit_shift %x, %x {direction = "left"} : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @shift_direction(%x: tensor<4xui8>) {
  // expected-error @+1 {{direction must be "left" or "right", got "up"}}
  %0 = kiln.bit_shift %x, %x {direction = "up"} : tensor<4xui8>, tensor<4xui8>
  return
}

// -----

func.func @xor_of_float(%x: tensor<4xf32>) {
  // expected-error @+1 {{expects integer or i1 operands}}
  %0 = kiln.xor %x, %x : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

func.func @xor_broadcast(%x: tensor<4xi32>, %y: tensor<3xi32>) {
  // expected-error @+1 {{not broadcast-compatible}}
  %0 = kiln.xor %x, %y : tensor<4xi32>, tensor<3xi32>
  return
}

// -----

func.func @reduce_min_axes(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{axes must be sorted and unique}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.reduce_min %x {axes = array<i64: 1, 0>, keepdims = true} : tensor<2x3xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @arg_max_axis(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{axis 2 out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.arg_max %x {axis = 2 : i64, keepdims = true, select_last_index = false} : tensor<2x3xf32> -> tensor<2x1xi64>
  return
}

// -----

func.func @arg_min_result(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{inferred type(s) 'tensor<2x1xi64>' are incompatible with return type(s) of operation 'tensor<2x1xi32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.arg_min %x {axis = 1 : i64, keepdims = true, select_last_index = false} : tensor<2x3xf32> -> tensor<2x1xi32>
  return
}

// -----

func.func @arg_max_empty(%x: tensor<2x0xf32>) {
  // expected-error @+2 {{the reduced dim is empty}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = kiln.arg_max %x {axis = 1 : i64, keepdims = false, select_last_index = false} : tensor<2x0xf32> -> tensor<2xi64>
  return
}

// -----

func.func @top_k_too_many(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{k = 4 is not in [0, 3]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0, %1 = kiln.top_k %x {axis = 1 : i64, k = 4 : i64, largest = true, sorted = true} : tensor<2x3xf32> -> tensor<2x4xf32>, tensor<2x4xi64>
  return
}

// -----

func.func @top_k_bool(%x: tensor<2x3xi1>) {
  // expected-error @+2 {{expected a float or non-bool integer tensor}}
  // expected-error @+1 {{failed to infer returned types}}
  %0, %1 = kiln.top_k %x {axis = 1 : i64, k = 1 : i64, largest = true, sorted = true} : tensor<2x3xi1> -> tensor<2x1xi1>, tensor<2x1xi64>
  return
}

// -----

func.func @bitcast_size(%x: tensor<4xf32>) {
  // expected-error @+1 {{element types 'f32' and 'i16' differ in size}}
  %0 = kiln.bitcast %x : tensor<4xf32> -> tensor<4xi16>
  return
}

// -----

func.func @bitcast_shape(%x: tensor<4xf32>) {
  // expected-error @+1 {{requires the same shape for all operands and results}}
  %0 = kiln.bitcast %x : tensor<4xf32> -> tensor<2xi32>
  return
}

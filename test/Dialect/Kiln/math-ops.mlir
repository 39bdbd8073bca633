// RUN: %kiln_opt %s | %kiln_opt | FileCheck %s
// Round trip of the math, integer, reduction and index ops.

// CHECK-LABEL: func.func @float_functions
func.func @float_functions(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: kiln.sin %{{.*}} : tensor<2x3xf32>
  %0 = kiln.sin %x : tensor<2x3xf32>
  // CHECK: kiln.cos
  %1 = kiln.cos %0 : tensor<2x3xf32>
  // CHECK: kiln.tan
  %2 = kiln.tan %1 : tensor<2x3xf32>
  // CHECK: kiln.asin
  %3 = kiln.asin %2 : tensor<2x3xf32>
  // CHECK: kiln.acos
  %4 = kiln.acos %3 : tensor<2x3xf32>
  // CHECK: kiln.atan
  %5 = kiln.atan %4 : tensor<2x3xf32>
  // CHECK: kiln.sinh
  %6 = kiln.sinh %5 : tensor<2x3xf32>
  // CHECK: kiln.cosh
  %7 = kiln.cosh %6 : tensor<2x3xf32>
  // CHECK: kiln.asinh
  %8 = kiln.asinh %7 : tensor<2x3xf32>
  // CHECK: kiln.acosh
  %9 = kiln.acosh %8 : tensor<2x3xf32>
  // CHECK: kiln.atanh
  %10 = kiln.atanh %9 : tensor<2x3xf32>
  // CHECK: kiln.floor
  %11 = kiln.floor %10 : tensor<2x3xf32>
  // CHECK: kiln.ceil
  %12 = kiln.ceil %11 : tensor<2x3xf32>
  // CHECK: kiln.round
  %13 = kiln.round %12 : tensor<2x3xf32>
  // CHECK: kiln.sign
  %14 = kiln.sign %13 : tensor<2x3xf32>
  return %14 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @integer_ops
func.func @integer_ops(%a: tensor<4xi32>, %b: tensor<i32>, %u: tensor<4xui8>, %p: tensor<4xi1>) -> (tensor<4xi32>, tensor<4xui8>, tensor<4xi1>, tensor<4xf32>) {
  // CHECK: kiln.mod %{{.*}}, %{{.*}} {fmod = false} : tensor<4xi32>, tensor<i32>
  %0 = kiln.mod %a, %b {fmod = false} : tensor<4xi32>, tensor<i32>
  // CHECK: kiln.xor %{{.*}}, %{{.*}} : tensor<4xi32>, tensor<4xi32>
  %1 = kiln.xor %0, %a : tensor<4xi32>, tensor<4xi32>
  // CHECK: kiln.bit_shift %{{.*}}, %{{.*}} {direction = "right"} : tensor<4xui8>, tensor<4xui8>
  %2 = kiln.bit_shift %u, %u {direction = "right"} : tensor<4xui8>, tensor<4xui8>
  // CHECK: kiln.xor %{{.*}}, %{{.*}} : tensor<4xi1>, tensor<4xi1>
  %3 = kiln.xor %p, %p : tensor<4xi1>, tensor<4xi1>
  %f = kiln.cast %a : tensor<4xi32> -> tensor<4xf32>
  // CHECK: kiln.mod %{{.*}}, %{{.*}} {fmod = true} : tensor<4xf32>, tensor<4xf32>
  %4 = kiln.mod %f, %f {fmod = true} : tensor<4xf32>, tensor<4xf32>
  return %1, %2, %3, %4 : tensor<4xi32>, tensor<4xui8>, tensor<4xi1>, tensor<4xf32>
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<2x5x3xf32>, %i: tensor<4x6xui8>) -> (tensor<2x3xf32>, tensor<1x5x1xf32>, tensor<2x1x3xi64>, tensor<4xi64>, tensor<2x2x3xf32>, tensor<2x2x3xi64>) {
  // CHECK: kiln.reduce_min %{{.*}} {axes = array<i64: 1>, keepdims = false} : tensor<2x5x3xf32> -> tensor<2x3xf32>
  %0 = kiln.reduce_min %x {axes = array<i64: 1>, keepdims = false} : tensor<2x5x3xf32> -> tensor<2x3xf32>
  // CHECK: kiln.reduce_prod %{{.*}} {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x5x3xf32> -> tensor<1x5x1xf32>
  %1 = kiln.reduce_prod %x {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x5x3xf32> -> tensor<1x5x1xf32>
  // CHECK: kiln.arg_max %{{.*}} {axis = 1 : i64, keepdims = true, select_last_index = false} : tensor<2x5x3xf32> -> tensor<2x1x3xi64>
  %2 = kiln.arg_max %x {axis = 1 : i64, keepdims = true, select_last_index = false} : tensor<2x5x3xf32> -> tensor<2x1x3xi64>
  // CHECK: kiln.arg_min %{{.*}} {axis = 1 : i64, keepdims = false, select_last_index = true} : tensor<4x6xui8> -> tensor<4xi64>
  %3 = kiln.arg_min %i {axis = 1 : i64, keepdims = false, select_last_index = true} : tensor<4x6xui8> -> tensor<4xi64>
  // CHECK: %{{.*}}, %{{.*}} = kiln.top_k %{{.*}} {axis = 1 : i64, k = 2 : i64, largest = false, sorted = true} : tensor<2x5x3xf32> -> tensor<2x2x3xf32>, tensor<2x2x3xi64>
  %v, %idx = kiln.top_k %x {axis = 1 : i64, k = 2 : i64, largest = false, sorted = true} : tensor<2x5x3xf32> -> tensor<2x2x3xf32>, tensor<2x2x3xi64>
  return %0, %1, %2, %3, %v, %idx : tensor<2x3xf32>, tensor<1x5x1xf32>, tensor<2x1x3xi64>, tensor<4xi64>, tensor<2x2x3xf32>, tensor<2x2x3xi64>
}

// CHECK-LABEL: func.func @casts
func.func @casts(%x: tensor<4xf32>, %b: tensor<4xi1>) -> (tensor<4xf8E4M3FN>, tensor<4xf8E5M2>, tensor<4xi4>, tensor<4xi32>, tensor<4xui8>) {
  // Saturating is the default and is not printed.
  // CHECK: kiln.cast %{{.*}} : tensor<4xf32> -> tensor<4xf8E4M3FN>
  %0 = kiln.cast %x {saturate = true} : tensor<4xf32> -> tensor<4xf8E4M3FN>
  // CHECK: kiln.cast %{{.*}} {saturate = false} : tensor<4xf32> -> tensor<4xf8E5M2>
  %1 = kiln.cast %x {saturate = false} : tensor<4xf32> -> tensor<4xf8E5M2>
  // CHECK: kiln.cast %{{.*}} : tensor<4xf32> -> tensor<4xi4>
  %2 = kiln.cast %x : tensor<4xf32> -> tensor<4xi4>
  // CHECK: kiln.bitcast %{{.*}} : tensor<4xf32> -> tensor<4xi32>
  %3 = kiln.bitcast %x : tensor<4xf32> -> tensor<4xi32>
  // CHECK: kiln.bitcast %{{.*}} : tensor<4xi1> -> tensor<4xui8>
  %4 = kiln.bitcast %b : tensor<4xi1> -> tensor<4xui8>
  return %0, %1, %2, %3, %4 : tensor<4xf8E4M3FN>, tensor<4xf8E5M2>, tensor<4xi4>, tensor<4xi32>, tensor<4xui8>
}

// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @reduce_min
// CHECK:       %[[INF:.+]] = arith.constant 0x7F800000 : f32
// CHECK:       linalg.fill ins(%[[INF]] : f32)
// CHECK:         arith.minimumf
func.func @reduce_min(%x: tensor<2x4xf32>) -> tensor<2xf32> {
  %0 = kiln.reduce_min %x {axes = array<i64: 1>, keepdims = false} : tensor<2x4xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Products of f16 accumulate in f32 from 1.
// CHECK-LABEL: func.func @reduce_prod
// CHECK:       %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK:       linalg.fill ins(%[[ONE]] : f32)
// CHECK:         arith.extf %{{.+}} : f16 to f32
// CHECK:         arith.mulf
// CHECK:         arith.truncf %{{.+}} : f32 to f16
// CHECK:       tensor.expand_shape
func.func @reduce_prod(%x: tensor<2x4xf16>) -> tensor<2x1xf16> {
  %0 = kiln.reduce_prod %x {axes = array<i64: 1>, keepdims = true} : tensor<2x4xf16> -> tensor<2x1xf16>
  return %0 : tensor<2x1xf16>
}

// -----

// min over i1 is and, starting at true.
// CHECK-LABEL: func.func @reduce_min_bool
// CHECK:       %[[T:.+]] = arith.constant true
// CHECK:       linalg.fill ins(%[[T]] : i1)
// CHECK:         arith.andi
func.func @reduce_min_bool(%x: tensor<2x4xi1>) -> tensor<2xi1> {
  %0 = kiln.reduce_min %x {axes = array<i64: 1>, keepdims = false} : tensor<2x4xi1> -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

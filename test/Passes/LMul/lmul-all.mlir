// RUN: %kiln_opt %s --kiln-lmul="scope=all mantissa=3 rounding=truncate" --split-input-file | FileCheck %s

// Also the float elementwise products (the mantissa option on the default
// fp32 format: 8 exponent bits, 3 mantissa bits); integer ones stay plain.
// CHECK-LABEL: func.func @all_scope
// CHECK:       kiln.matmul %arg0, %arg1 {lmul = #kiln.lmul<format = "fp32", mantissa = 3, rounding = "truncate">}
// CHECK:       kiln.mul %{{.*}}, %{{.*}} {lmul = #kiln.lmul<format = "fp32", mantissa = 3, rounding = "truncate">} : tensor<4x10xf32>, tensor<f32>
// CHECK:       kiln.mul %arg2, %arg2 : tensor<4xi64>, tensor<4xi64>
func.func @all_scope(%x: tensor<4x64xf32>, %w: tensor<64x10xf32>, %i: tensor<4xi64>)
    -> (tensor<4x10xf32>, tensor<4xi64>) {
  %h = kiln.matmul %x, %w : tensor<4x64xf32>, tensor<64x10xf32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %s = kiln.mul %h, %half : tensor<4x10xf32>, tensor<f32>
  %ii = kiln.mul %i, %i : tensor<4xi64>, tensor<4xi64>
  return %s, %ii : tensor<4x10xf32>, tensor<4xi64>
}

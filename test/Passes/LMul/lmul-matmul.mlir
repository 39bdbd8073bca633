// RUN: %kiln_opt %s --kiln-lmul="scope=matmul format=e4m3" --split-input-file | FileCheck %s

// Every float matmul and conv2d; elementwise products and integer matmuls
// stay plain.
// CHECK-LABEL: func.func @matmul_scope
// CHECK:       kiln.matmul %arg0, %arg1 {lmul = #kiln.lmul<format = "e4m3", mantissa = 3, rounding = "nearest">} : tensor<4x64xf32>, tensor<64x10xf32>
// CHECK:       kiln.conv2d %arg2, %arg3, %arg4 {dilations = array<i64: 1, 1>, group = 1 : i64, lmul = #kiln.lmul<format = "e4m3", mantissa = 3, rounding = "nearest">, padding
// CHECK:       kiln.mul %{{.*}}, %{{.*}} : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>
// CHECK:       kiln.matmul %arg5, %arg6 : tensor<2x3xi64>, tensor<3x2xi64>
func.func @matmul_scope(%x: tensor<4x64xf32>, %w: tensor<64x10xf32>,
                        %img: tensor<1x3x8x8xf32>, %k: tensor<4x3x3x3xf32>,
                        %b: tensor<4xf32>, %i: tensor<2x3xi64>, %j: tensor<3x2xi64>)
    -> (tensor<4x10xf32>, tensor<1x4x6x6xf32>, tensor<2x2xi64>) {
  %h = kiln.matmul %x, %w : tensor<4x64xf32>, tensor<64x10xf32>
  %c = kiln.conv2d %img, %k, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x6x6xf32>
  %sq = kiln.mul %c, %c : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>
  %ij = kiln.matmul %i, %j : tensor<2x3xi64>, tensor<3x2xi64>
  return %h, %sq, %ij : tensor<4x10xf32>, tensor<1x4x6x6xf32>, tensor<2x2xi64>
}

// RUN: %kiln_opt %s | %kiln_opt | FileCheck %s

// The #kiln.lmul attribute round-trips on matmul, conv2d and mul.
// CHECK-LABEL: func.func @lmul_attr
// CHECK: kiln.matmul %arg0, %arg1 {lmul = #kiln.lmul<format = "e4m3", mantissa = 3, rounding = "nearest">} : tensor<4x8xf32>, tensor<8x3xf32>
// CHECK: kiln.mul %{{.*}}, %{{.*}} {lmul = #kiln.lmul<format = "bf16", mantissa = 5, rounding = "truncate">} : tensor<4x3xf32>, tensor<4x3xf32>
// CHECK: kiln.conv2d {{.*}}lmul = #kiln.lmul<format = "fp16", mantissa = 10, rounding = "nearest">
func.func @lmul_attr(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>,
                     %img: tensor<1x3x8x8xf32>, %k: tensor<4x3x3x3xf32>,
                     %bias: tensor<4xf32>) -> (tensor<4x3xf32>, tensor<1x4x6x6xf32>) {
  %0 = kiln.matmul %a, %b {lmul = #kiln.lmul<format = "e4m3", mantissa = 3, rounding = "nearest">} : tensor<4x8xf32>, tensor<8x3xf32>
  %1 = kiln.mul %0, %0 {lmul = #kiln.lmul<format = "bf16", mantissa = 5, rounding = "truncate">} : tensor<4x3xf32>, tensor<4x3xf32>
  %2 = kiln.conv2d %img, %k, %bias {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, lmul = #kiln.lmul<format = "fp16", mantissa = 10, rounding = "nearest">}
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x6x6xf32>
  return %1, %2 : tensor<4x3xf32>, tensor<1x4x6x6xf32>
}

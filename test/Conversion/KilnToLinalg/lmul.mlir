// RUN: %kiln_opt %s --convert-kiln-to-linalg --canonicalize --cse --split-input-file | FileCheck %s

// Elementwise L-Mul, fp32 operands: integer ops only (no arith.mulf); one
// add of the magnitudes and the offset C = 0x3F780000 (1064828928)
// subtracted, range checks against C + min normal (0x3FF80000) and
// C + max finite (0xBEF7FFFF), sign by xor.
// CHECK-LABEL: func.func @mul_fp32
// CHECK-DAG:   %[[C:.+]] = arith.constant 1064828928 : i32
// CHECK-DAG:   %[[UNDER:.+]] = arith.constant 1073217536 : i32
// CHECK-DAG:   %[[OVER:.+]] = arith.constant -1091043329 : i32
// CHECK:       linalg.generic
// CHECK-NOT:   arith.mulf
// CHECK:         %[[X:.+]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK:         %[[Y:.+]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK:         arith.xori %[[X]], %[[Y]] : i32
// CHECK:         %[[T:.+]] = arith.addi %{{.*}}, %{{.*}} : i32
// CHECK:         arith.subi %[[T]], %[[C]] : i32
// CHECK:         arith.cmpi ult, %[[T]], %[[UNDER]] : i32
// CHECK:         arith.cmpi ugt, %[[T]], %[[OVER]] : i32
// CHECK-NOT:   arith.mulf
// CHECK:         arith.bitcast %{{.*}} : i32 to f32
// CHECK-NOT:   arith.mulf
// CHECK:       return
func.func @mul_fp32(%x: tensor<8xf32>, %y: tensor<8xf32>) -> tensor<8xf32> {
  %0 = kiln.mul %x, %y {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "nearest">} : tensor<8xf32>, tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// e4m3 matmul: each operand element is prepared once (rounded to 3 bits
// to nearest even: + 0x7FFFF + lsb, masked with 0xFFF00000; saturated to
// 448 = 0x43E00000; flushed below 2^-6 = 0x3C800000), then one generic with
// the L-Mul body (offset C = 0x3F700000, l = 3) and an f32 addf; no
// linalg.matmul, no arith.mulf.
// CHECK-LABEL: func.func @matmul_e4m3
// CHECK-DAG:   %[[C:.+]] = arith.constant 1064304640 : i32
// CHECK-DAG:   %[[HALF:.+]] = arith.constant 524287 : i32
// CHECK-DAG:   %[[MASK:.+]] = arith.constant -1048576 : i32
// CHECK-DAG:   %[[MAX:.+]] = arith.constant 1138753536 : i32
// CHECK-DAG:   %[[MIN:.+]] = arith.constant 1015021568 : i32
// CHECK-NOT:   linalg.matmul
// CHECK:       %[[A:.+]] = linalg.generic {{.*}} ins(%arg0 : tensor<4x8xf32>)
// CHECK:         arith.addi %{{.*}}, %[[HALF]] : i32
// CHECK:         arith.andi %{{.*}}, %[[MASK]] : i32
// CHECK:         arith.minui %{{.*}}, %[[MAX]] : i32
// CHECK:         arith.cmpi ult, %{{.*}}, %[[MIN]] : i32
// CHECK:       %[[B:.+]] = linalg.generic {{.*}} ins(%arg1 : tensor<8x3xf32>)
// CHECK:       linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<8x3xf32>)
// CHECK-NOT:     arith.mulf
// CHECK:         arith.subi %{{.*}}, %[[C]] : i32
// CHECK-NOT:     arith.mulf
// CHECK:         %[[P:.+]] = arith.bitcast %{{.*}} : i32 to f32
// CHECK:         arith.addf %{{.*}}, %[[P]] : f32
func.func @matmul_e4m3(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.matmul %a, %b {lmul = #kiln.lmul<format = "e4m3", mantissa = 3, rounding = "nearest">} : tensor<4x8xf32>, tensor<8x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Truncation only masks (no rounding add); bf16 range (max 0x7F7F0000).
// CHECK-LABEL: func.func @conv_bf16_truncate
// CHECK-DAG:   %[[MASK:.+]] = arith.constant -65536 : i32
// CHECK-DAG:   %[[MAX:.+]] = arith.constant 2139029504 : i32
// CHECK:       tensor.pad
// CHECK:       linalg.generic
// CHECK-NOT:     arith.shrui
// CHECK:         arith.andi %{{.*}}, %[[MASK]] : i32
// CHECK:         arith.minui %{{.*}}, %[[MAX]] : i32
// CHECK:       linalg.generic
// CHECK:       linalg.generic {{.*}}"reduction", "reduction", "reduction"
// CHECK-NOT:     arith.mulf
// CHECK:         arith.addf
func.func @conv_bf16_truncate(%img: tensor<1x3x8x8xf32>, %k: tensor<4x3x3x3xf32>, %bias: tensor<4xf32>) -> tensor<1x4x8x8xf32> {
  %0 = kiln.conv2d %img, %k, %bias {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, lmul = #kiln.lmul<format = "bf16", mantissa = 7, rounding = "truncate">}
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

// Narrow element types are read as f32; the product is truncated back for
// an f16 mul and accumulated in f32 for an f16 matmul.
// CHECK-LABEL: func.func @f16_operands
// CHECK:       arith.extf %{{.*}} : f16 to f32
// CHECK:       arith.truncf %{{.*}} : f32 to f16
func.func @f16_operands(%x: tensor<8xf16>) -> tensor<8xf16> {
  %0 = kiln.mul %x, %x {lmul = #kiln.lmul<format = "fp16", mantissa = 10, rounding = "nearest">} : tensor<8xf16>, tensor<8xf16>
  return %0 : tensor<8xf16>
}

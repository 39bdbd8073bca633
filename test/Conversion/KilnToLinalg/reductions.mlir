// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[KEEP0:.+]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-LABEL: func.func @reduce_max_keepdims
// CHECK:       %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:       %[[INIT:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<2xf32>)
// CHECK:       %[[R:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[KEEP0]]], iterator_types = ["parallel", "reduction", "reduction"]}
// CHECK-SAME:    outs(%[[INIT]] : tensor<2xf32>)
// CHECK:         arith.maximumf
// CHECK:       tensor.expand_shape %[[R]] {{\[}}[0, 1, 2]] output_shape [2, 1, 1] : tensor<2xf32> into tensor<2x1x1xf32>
func.func @reduce_max_keepdims(%x: tensor<2x3x4xf32>) -> tensor<2x1x1xf32> {
  %0 = kiln.reduce_max %x {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x3x4xf32> -> tensor<2x1x1xf32>
  return %0 : tensor<2x1x1xf32>
}

// -----

// CHECK-DAG: #[[KEEP1:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @reduce_mean
// CHECK:       %[[S:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[KEEP1]]], iterator_types = ["reduction", "parallel", "reduction"]}
// CHECK:         arith.addf
// CHECK:       linalg.generic {{.+}} ins(%[[S]] : tensor<3xf32>)
// CHECK:         %[[N:.+]] = arith.constant 8.0
// CHECK:         arith.divf %{{.+}}, %[[N]]
// CHECK-NOT:   tensor.expand_shape
func.func @reduce_mean(%x: tensor<2x3x4xf32>) -> tensor<3xf32> {
  %0 = kiln.reduce_mean %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// Reducing every dim gives a rank-0 tensor; keepdims expands it to 1x1.
// CHECK-DAG: #[[ALL:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @reduce_sum_all
// CHECK:       %[[S:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[ALL]]], iterator_types = ["reduction", "reduction"]}
// CHECK-SAME:    outs(%{{.+}} : tensor<f32>)
// CHECK:       tensor.expand_shape %[[S]] [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
func.func @reduce_sum_all(%x: tensor<2x3xf32>) -> tensor<1x1xf32> {
  %0 = kiln.reduce_sum %x {axes = array<i64: 0, 1>, keepdims = true} : tensor<2x3xf32> -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}

// -----

// Integers: max starts at the type's minimum, mean divides with divsi.
// CHECK-LABEL: func.func @reduce_int
// CHECK:       arith.constant -9223372036854775808 : i64
// CHECK:         arith.maxsi
// CHECK:         arith.addi
// CHECK:         arith.divsi
func.func @reduce_int(%x: tensor<2x3xi64>) -> (tensor<2xi64>, tensor<2xi64>) {
  %0 = kiln.reduce_max %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xi64> -> tensor<2xi64>
  %1 = kiln.reduce_mean %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xi64> -> tensor<2xi64>
  return %0, %1 : tensor<2xi64>, tensor<2xi64>
}

// -----

// f16 sums accumulate in f32.
// CHECK-LABEL: func.func @reduce_sum_f16
// CHECK:       linalg.generic {{.+}} outs(%{{.+}} : tensor<2xf32>)
// CHECK:         arith.extf %{{.+}} : f16 to f32
// CHECK:       linalg.generic
// CHECK:         arith.truncf %{{.+}} : f32 to f16
func.func @reduce_sum_f16(%x: tensor<2x3xf16>) -> tensor<2xf16> {
  %0 = kiln.reduce_sum %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3xf16> -> tensor<2xf16>
  return %0 : tensor<2xf16>
}

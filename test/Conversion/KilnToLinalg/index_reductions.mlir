// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// arg_max: one generic with a value and an index accumulator. A candidate
// wins when strictly greater (NaN counts as the largest), or equal with a
// larger index for select_last_index, so the result does not depend on the
// iteration order.
// CHECK-DAG:   #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @arg_max_last
// CHECK-DAG:     %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG:     %[[NONE:.+]] = arith.constant -1 : i64
// CHECK:         %[[V0:.+]] = linalg.fill ins(%[[NEGINF]] : f32)
// CHECK:         %[[I0:.+]] = linalg.fill ins(%[[NONE]] : i64)
// CHECK:         %[[R:.+]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME:      outs(%[[V0]], %[[I0]] : tensor<2xf32>, tensor<2xi64>)
// CHECK:         ^bb0(%[[X:[^:]+]]: f32, %[[BEST:[^:]+]]: f32, %[[BESTI:[^:]+]]: i64):
// CHECK:           %[[IDX:.+]] = arith.index_cast
// CHECK:           arith.cmpf ogt, %[[X]], %[[BEST]]
// CHECK:           arith.cmpi sgt, %[[IDX]], %[[BESTI]] : i64
// CHECK:           arith.select %[[TAKE:[^,]+]], %[[X]], %[[BEST]] : f32
// CHECK:           arith.select %[[TAKE]], %[[IDX]], %[[BESTI]] : i64
// CHECK:         tensor.expand_shape %[[R]]#1 {{\[}}[0, 1]] output_shape [2, 1] : tensor<2xi64> into tensor<2x1xi64>
func.func @arg_max_last(%x: tensor<2x5xf32>) -> tensor<2x1xi64> {
  %0 = kiln.arg_max %x {axis = 1 : i64, keepdims = true, select_last_index = true} : tensor<2x5xf32> -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

// arg_min over unsigned integers starts at the maximum and compares
// unsigned; first index wins ties.
// CHECK-LABEL: func.func @arg_min_unsigned
// CHECK-DAG:     %[[TOP:.+]] = arith.constant -1 : i8
// CHECK-DAG:     %[[NONE:.+]] = arith.constant 9223372036854775807 : i64
// CHECK:         arith.cmpi ult
// CHECK:         arith.cmpi slt, %{{.+}}, %{{.+}} : i64
func.func @arg_min_unsigned(%x: tensor<3x4xui8>) -> tensor<4xi64> {
  %0 = kiln.arg_min %x {axis = 0 : i64, keepdims = false, select_last_index = false} : tensor<3x4xui8> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// top_k: rank every element among its row (ties by index), then pick, for
// each output slot, the element of that rank.
// CHECK-DAG:   #[[SELF:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG:   #[[OTHER:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @top_k
// CHECK:         %[[RANK:.+]] = linalg.generic {indexing_maps = [#[[SELF]], #[[OTHER]], #[[SELF]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:      ins(%{{.+}}, %{{.+}} : tensor<3x4xi32>, tensor<3x4xi32>) outs(%{{.+}} : tensor<3x4xi64>)
// CHECK:           arith.cmpi sgt
// CHECK:           arith.extui %{{.+}} : i1 to i64
// CHECK:           arith.addi
// CHECK:         %[[OUT:.+]]:2 = linalg.generic {indexing_maps = [#[[OTHER]], #[[OTHER]], #[[SELF]], #[[SELF]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:      ins(%{{.+}}, %[[RANK]] : tensor<3x4xi32>, tensor<3x4xi64>)
// CHECK:           %[[MATCH:.+]] = arith.cmpi eq
// CHECK:           arith.select %[[MATCH]]
// CHECK:         return %[[OUT]]#0, %[[OUT]]#1 : tensor<3x2xi32>, tensor<3x2xi64>
func.func @top_k(%x: tensor<3x4xi32>) -> (tensor<3x2xi32>, tensor<3x2xi64>) {
  %0, %1 = kiln.top_k %x {axis = 1 : i64, k = 2 : i64, largest = true, sorted = true} : tensor<3x4xi32> -> tensor<3x2xi32>, tensor<3x2xi64>
  return %0, %1 : tensor<3x2xi32>, tensor<3x2xi64>
}

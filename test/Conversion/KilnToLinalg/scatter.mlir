// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// scatter_nd: one scf.for over the index rows, the result as iteration
// argument; each row's index is wrapped (negative += dim) and clamped, the
// slice there is combined with the update row and inserted back.
// CHECK-LABEL: func.func @scatter_add
// CHECK:       scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %arg0) -> (tensor<4x4xf32>)
// CHECK:         %[[RAW:.+]] = tensor.extract %arg1[%[[I]], %{{.+}}] : tensor<2x1xi64>
// CHECK:         %[[IDX:.+]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK:         arith.cmpi slt, %[[IDX]]
// CHECK:         arith.select
// CHECK:         arith.maxsi
// CHECK:         %[[ROW:.+]] = arith.minsi
// CHECK:         %[[UPD:.+]] = tensor.extract_slice %arg2[%[[I]], 0] [1, 4] [1, 1] : tensor<2x4xf32> to tensor<4xf32>
// CHECK:         %[[OLD:.+]] = tensor.extract_slice %[[ACC]][%[[ROW]], 0] [1, 4] [1, 1] : tensor<4x4xf32> to tensor<4xf32>
// CHECK:         %[[NEW:.+]] = linalg.generic
// CHECK-SAME:      ins(%[[OLD]], %[[UPD]] : tensor<4xf32>, tensor<4xf32>)
// CHECK:           arith.addf
// CHECK:         %[[INS:.+]] = tensor.insert_slice %[[NEW]] into %[[ACC]][%[[ROW]], 0] [1, 4] [1, 1]
// CHECK:         scf.yield %[[INS]] : tensor<4x4xf32>
func.func @scatter_add(%d: tensor<4x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) -> tensor<4x4xf32> {
  %0 = kiln.scatter_nd %d, %i, %u {reduction = "add"} : tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// Rows naming single elements use tensor.extract / tensor.insert; without
// a reduction the update simply overwrites (the last row wins).
// CHECK-LABEL: func.func @scatter_elements
// CHECK:       scf.for %[[I:.+]] = {{.+}} iter_args(%[[ACC:.+]] = %arg0) -> (tensor<4xi32>)
// CHECK:         %[[U:.+]] = tensor.extract %arg2[%[[I]]] : tensor<3xi32>
// CHECK-NOT:     arith.addi
// CHECK:         %[[INS:.+]] = tensor.insert %[[U]] into %[[ACC]][%{{.+}}] : tensor<4xi32>
// CHECK:         scf.yield %[[INS]]
func.func @scatter_elements(%d: tensor<4xi32>, %i: tensor<3x1xi64>, %u: tensor<3xi32>) -> tensor<4xi32> {
  %0 = kiln.scatter_nd %d, %i, %u : tensor<4xi32>, tensor<3x1xi64>, tensor<3xi32>
  return %0 : tensor<4xi32>
}

// -----

// Unsigned max reductions use maxui on the signless bits.
// CHECK-LABEL: func.func @scatter_max_unsigned
// CHECK:       scf.for
// CHECK:         tensor.extract %{{.+}}[%{{.+}}, %{{.+}}] : tensor<3x3xui8>
// CHECK:         arith.maxui
// CHECK:         tensor.insert
func.func @scatter_max_unsigned(%d: tensor<3x3xui8>, %i: tensor<2x2xi32>, %u: tensor<2xui8>) -> tensor<3x3xui8> {
  %0 = kiln.scatter_nd %d, %i, %u {reduction = "max"} : tensor<3x3xui8>, tensor<2x2xi32>, tensor<2xui8>
  return %0 : tensor<3x3xui8>
}

// -----

// kiln.cumulative: one scf.for along the axis (backwards with reverse)
// carrying the running sum; exclusive writes the carry before adding the
// current slice, which updates the carry in place (outs).
// CHECK-LABEL: func.func @cumsum_exclusive_reverse
// CHECK:       %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK:       %[[CARRY0:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<3x1xf32>)
// CHECK:       scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[RES:.+]] = %{{.+}}, %[[CARRY:.+]] = %[[CARRY0]]) -> (tensor<3x4xf32>, tensor<3x1xf32>)
// CHECK:         %[[POS:.+]] = arith.subi %{{.+}}, %[[I]] : index
// CHECK:         %[[X:.+]] = tensor.extract_slice %arg0[0, %[[POS]]] [3, 1] [1, 1]
// CHECK:         %[[INS:.+]] = tensor.insert_slice %[[CARRY]] into %[[RES]][0, %[[POS]]] [3, 1] [1, 1]
// CHECK:         %[[NEXT:.+]] = linalg.generic {{.+}} ins(%[[X]] : tensor<3x1xf32>) outs(%[[CARRY]] : tensor<3x1xf32>)
// CHECK:           arith.addf
// CHECK:         scf.yield %[[INS]], %[[NEXT]]
func.func @cumsum_exclusive_reverse(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = kiln.cumulative %x {axis = 1 : i64, kind = "sum", exclusive = true, reverse = true} : tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Inclusive products of integers: the carry starts at 1 and the updated
// carry is written.
// CHECK-LABEL: func.func @cumprod_int
// CHECK:       arith.constant 1 : i32
// CHECK:       scf.for
// CHECK:         %[[NEXT:.+]] = linalg.generic
// CHECK:           arith.muli
// CHECK:         %[[INS:.+]] = tensor.insert_slice %[[NEXT]] into
// CHECK:         scf.yield %[[INS]], %[[NEXT]]
func.func @cumprod_int(%x: tensor<5xi32>) -> tensor<5xi32> {
  %0 = kiln.cumulative %x {axis = 0 : i64, kind = "prod", exclusive = false, reverse = false} : tensor<5xi32>
  return %0 : tensor<5xi32>
}

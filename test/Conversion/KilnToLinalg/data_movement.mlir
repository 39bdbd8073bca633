// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @reshape
// One reassociation when the dims group:
// CHECK:       tensor.expand_shape %arg0 {{\[}}[0], [1], [2, 3]] output_shape [1, 16, 4, 16] : tensor<1x16x64xf32> into tensor<1x16x4x16xf32>
// CHECK:       tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<1x16x64xf32> into tensor<16x64xf32>
// Otherwise through 1-D:
// CHECK:       %[[FLAT:.+]] = tensor.collapse_shape %arg1 {{\[}}[0, 1, 2]] : tensor<2x3x4xf32> into tensor<24xf32>
// CHECK:       tensor.expand_shape %[[FLAT]] {{\[}}[0, 1]] output_shape [4, 6] : tensor<24xf32> into tensor<4x6xf32>
// Rank 0:
// CHECK:       tensor.collapse_shape %arg2 [] : tensor<1x1xf32> into tensor<f32>
// CHECK:       tensor.expand_shape %arg3 [] output_shape [1] : tensor<f32> into tensor<1xf32>
func.func @reshape(%x: tensor<1x16x64xf32>, %y: tensor<2x3x4xf32>, %z: tensor<1x1xf32>, %s: tensor<f32>)
    -> (tensor<1x16x4x16xf32>, tensor<16x64xf32>, tensor<4x6xf32>, tensor<f32>, tensor<1xf32>) {
  %0 = kiln.reshape %x : tensor<1x16x64xf32> -> tensor<1x16x4x16xf32>
  %1 = kiln.reshape %x : tensor<1x16x64xf32> -> tensor<16x64xf32>
  %2 = kiln.reshape %y : tensor<2x3x4xf32> -> tensor<4x6xf32>
  %3 = kiln.reshape %z : tensor<1x1xf32> -> tensor<f32>
  %4 = kiln.reshape %s : tensor<f32> -> tensor<1xf32>
  return %0, %1, %2, %3, %4 : tensor<1x16x4x16xf32>, tensor<16x64xf32>, tensor<4x6xf32>, tensor<f32>, tensor<1xf32>
}

// -----

// CHECK-LABEL: func.func @transpose
// CHECK:       %[[E:.+]] = tensor.empty() : tensor<1x4x16x8xf32>
// CHECK:       linalg.transpose ins(%arg0 : tensor<1x16x4x8xf32>) outs(%[[E]] : tensor<1x4x16x8xf32>) permutation = [0, 2, 1, 3]
func.func @transpose(%x: tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32> {
  %0 = kiln.transpose %x {perm = array<i64: 0, 2, 1, 3>} : tensor<1x16x4x8xf32> -> tensor<1x4x16x8xf32>
  return %0 : tensor<1x4x16x8xf32>
}

// -----

// CHECK-LABEL: func.func @concat
// CHECK:       %[[C:.+]] = tensor.extract_slice %arg0[0, 0] [2, 2] [1, 1]
// CHECK:       %[[E:.+]] = tensor.empty() : tensor<2x10xf32>
// CHECK:       %[[A:.+]] = tensor.insert_slice %arg0 into %[[E]][0, 0] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<2x10xf32>
// CHECK:       %[[B:.+]] = tensor.insert_slice %arg1 into %[[A]][0, 3] [2, 5] [1, 1] : tensor<2x5xf32> into tensor<2x10xf32>
// CHECK:       tensor.insert_slice %[[C]] into %[[B]][0, 8] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<2x10xf32>
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x10xf32> {
  %c = kiln.slice %a {starts = array<i64: 0, 0>, sizes = array<i64: 2, 2>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x2xf32>
  %0 = kiln.concat %a, %b, %c {axis = 1 : i64} : tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x2xf32> -> tensor<2x10xf32>
  return %0 : tensor<2x10xf32>
}

// -----

// Positive steps: one strided extract_slice.
// CHECK-LABEL: func.func @slice_positive
// CHECK:       tensor.extract_slice %arg0[1, 2] [2, 3] [2, 2] : tensor<4x8xf32> to tensor<2x3xf32>
func.func @slice_positive(%x: tensor<4x8xf32>) -> tensor<2x3xf32> {
  %0 = kiln.slice %x {starts = array<i64: 1, 2>, sizes = array<i64: 2, 3>, steps = array<i64: 2, 2>} : tensor<4x8xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Negative steps: a generic reading input[start + step * i].
// CHECK-DAG: #[[REV:.+]] = affine_map<(d0, d1) -> (d0 + 1, d1 * -2 + 7)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @slice_negative
// CHECK:       linalg.generic {indexing_maps = [#[[REV]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:    ins(%arg0 : tensor<4x8xf32>) outs(%{{.+}} : tensor<3x4xf32>)
// CHECK:       ^bb0(%[[IN:[^:]+]]: f32, %{{[^:]+}}: f32):
// CHECK-NEXT:    linalg.yield %[[IN]] : f32
func.func @slice_negative(%x: tensor<4x8xf32>) -> tensor<3x4xf32> {
  %0 = kiln.slice %x {starts = array<i64: 1, 7>, sizes = array<i64: 3, 4>, steps = array<i64: 1, -2>} : tensor<4x8xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Gather along axis 1: loops over the result (d0, i0, i1, d2); the index is
// wrapped (negative += 5) and clamped to [0, 4] before tensor.extract.
// CHECK-DAG: #[[IDX:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @gather
// CHECK:       linalg.generic {indexing_maps = [#[[IDX]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%arg1 : tensor<2x3xi64>) outs(%{{.+}} : tensor<3x2x3x4xf32>)
// CHECK:       ^bb0(%[[I:[^:]+]]: i64, %{{[^:]+}}: f32):
// CHECK:         %[[IDX0:.+]] = arith.index_cast %[[I]] : i64 to index
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[DIM:.+]] = arith.constant 5 : index
// CHECK-DAG:     %[[LAST:.+]] = arith.constant 4 : index
// CHECK:         %[[NEG:.+]] = arith.cmpi slt, %[[IDX0]], %[[ZERO]] : index
// CHECK:         %[[ADD:.+]] = arith.addi %[[IDX0]], %[[DIM]] : index
// CHECK:         %[[WRAP:.+]] = arith.select %[[NEG]], %[[ADD]], %[[IDX0]] : index
// CHECK:         %[[LO:.+]] = arith.maxsi %[[WRAP]], %[[ZERO]] : index
// CHECK:         %[[CL:.+]] = arith.minsi %[[LO]], %[[LAST]] : index
// CHECK:         %[[D0:.+]] = linalg.index 0 : index
// CHECK:         %[[D3:.+]] = linalg.index 3 : index
// CHECK:         %[[V:.+]] = tensor.extract %arg0[%[[D0]], %[[CL]], %[[D3]]] : tensor<3x5x4xf32>
// CHECK:         linalg.yield %[[V]] : f32
func.func @gather(%d: tensor<3x5x4xf32>, %i: tensor<2x3xi64>) -> tensor<3x2x3x4xf32> {
  %0 = kiln.gather %d, %i {axis = 1 : i64} : tensor<3x5x4xf32>, tensor<2x3xi64> -> tensor<3x2x3x4xf32>
  return %0 : tensor<3x2x3x4xf32>
}

// -----

// A scalar index drops the axis.
// CHECK-DAG: #[[IDX:.+]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @gather_scalar_index
// CHECK:       linalg.generic {indexing_maps = [#[[IDX]], #{{.+}}], iterator_types = ["parallel"]}
// CHECK-SAME:    ins(%arg1 : tensor<i32>) outs(%{{.+}} : tensor<64xf32>)
// CHECK:         arith.index_cast %{{.+}} : i32 to index
// CHECK:         %[[D0:.+]] = linalg.index 0 : index
// CHECK:         tensor.extract %arg0[%{{.+}}, %[[D0]]] : tensor<1000x64xf32>
func.func @gather_scalar_index(%d: tensor<1000x64xf32>, %i: tensor<i32>) -> tensor<64xf32> {
  %0 = kiln.gather %d, %i {axis = 0 : i64} : tensor<1000x64xf32>, tensor<i32> -> tensor<64xf32>
  return %0 : tensor<64xf32>
}

// -----

// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2) -> (0, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @expand
// CHECK:       linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%arg0 : tensor<1x4xf32>) outs(%{{.+}} : tensor<2x3x4xf32>)
func.func @expand(%x: tensor<1x4xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.expand %x : tensor<1x4xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Constants keep their elements attribute; blobs stay blobs.
// CHECK-LABEL: func.func @constants
// CHECK:       arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK:       arith.constant dense_resource<weights> : tensor<2x2xf32>
// CHECK:       arith.constant dense<7> : tensor<3xi64>
func.func @constants() -> (tensor<2xf32>, tensor<2x2xf32>, tensor<3xi64>) {
  %0 = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = kiln.constant dense_resource<weights> : tensor<2x2xf32>
  %2 = kiln.constant dense<7> : tensor<3xi64>
  return %0, %1, %2 : tensor<2xf32>, tensor<2x2xf32>, tensor<3xi64>
}

{-#
  dialect_resources: {
    builtin: {
      weights: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

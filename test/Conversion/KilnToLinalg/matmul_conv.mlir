// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @matmul_2d
// CHECK:       %[[ZERO:.+]] = arith.constant 0.0
// CHECK:       %[[E:.+]] = tensor.empty() : tensor<4x3xf32>
// CHECK:       %[[INIT:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E]] : tensor<4x3xf32>)
// CHECK:       linalg.matmul ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<8x3xf32>) outs(%[[INIT]] : tensor<4x3xf32>)
func.func @matmul_2d(%a: tensor<4x8xf32>, %b: tensor<8x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.matmul %a, %b : tensor<4x8xf32>, tensor<8x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// A 2-D right operand: the batch dims fold into M.
// CHECK-LABEL: func.func @matmul_fold_batch
// CHECK:       %[[FLAT:.+]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x4x8xf32> into tensor<8x8xf32>
// CHECK:       %[[MM:.+]] = linalg.matmul ins(%[[FLAT]], %arg1 : tensor<8x8xf32>, tensor<8x16xf32>)
// CHECK:       tensor.expand_shape %[[MM]] {{\[}}[0, 1], [2]] output_shape [2, 4, 16] : tensor<8x16xf32> into tensor<2x4x16xf32>
func.func @matmul_fold_batch(%a: tensor<2x4x8xf32>, %b: tensor<8x16xf32>) -> tensor<2x4x16xf32> {
  %0 = kiln.matmul %a, %b : tensor<2x4x8xf32>, tensor<8x16xf32>
  return %0 : tensor<2x4x16xf32>
}

// -----

// CHECK-LABEL: func.func @batch_matmul
// CHECK:       linalg.batch_matmul ins(%arg0, %arg1 : tensor<2x4x8xf32>, tensor<2x8x5xf32>)
func.func @batch_matmul(%a: tensor<2x4x8xf32>, %b: tensor<2x8x5xf32>) -> tensor<2x4x5xf32> {
  %0 = kiln.matmul %a, %b : tensor<2x4x8xf32>, tensor<2x8x5xf32>
  return %0 : tensor<2x4x5xf32>
}

// -----

// Batch broadcasting: loops (b0, b1, m, n, k); size-1 batch dims read 0.
// CHECK-DAG: #[[LHS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d2, d4)>
// CHECK-DAG: #[[RHS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4, d3)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @matmul_broadcast
// CHECK:       %[[INIT:.+]] = linalg.fill
// CHECK:       linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]],
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:    outs(%[[INIT]] : tensor<3x2x4x5xf32>)
// CHECK:         %[[P:.+]] = arith.mulf
// CHECK:         arith.addf %{{.+}}, %[[P]]
func.func @matmul_broadcast(%a: tensor<3x1x4x8xf32>, %b: tensor<2x8x5xf32>) -> tensor<3x2x4x5xf32> {
  %0 = kiln.matmul %a, %b : tensor<3x1x4x8xf32>, tensor<2x8x5xf32>
  return %0 : tensor<3x2x4x5xf32>
}

// -----

// f16 operands accumulate in f32, then truncate.
// CHECK-LABEL: func.func @matmul_f16
// CHECK:       linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME:    outs(%{{.+}} : tensor<2x3xf32>)
// CHECK:         arith.extf %{{.+}} : f16 to f32
// CHECK:         arith.extf %{{.+}} : f16 to f32
// CHECK:       linalg.generic
// CHECK:         arith.truncf %{{.+}} : f32 to f16
func.func @matmul_f16(%a: tensor<2x4xf16>, %b: tensor<4x3xf16>) -> tensor<2x3xf16> {
  %0 = kiln.matmul %a, %b : tensor<2x4xf16>, tensor<4x3xf16>
  return %0 : tensor<2x3xf16>
}

// -----

// Ungrouped conv: loops (n, f, oh, ow, c, kh, kw), init = broadcast bias.
// Column stride 2: the padded input is split into 2 column phases first
// (column w -> phase w % 2, position w / 2), so input column
// ow * 2 + kw * 3 is phase (kw * 3) % 2 at position ow + (kw * 3) / 2.
// CHECK-DAG: #[[SPLIT:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4 * 2 + d3)>
// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 2 + d5, (d6 * 3) mod 2, d3 + (d6 * 3) floordiv 2)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @conv
// CHECK:       %[[PAD:.+]] = tensor.pad %arg0 low[0, 0, 1, 2] high[0, 0, 1, 2]
// CHECK:         tensor.yield %{{.+}} : f32
// CHECK:       } : tensor<1x3x8x8xf32> to tensor<1x3x10x12xf32>
// CHECK:       %[[PHASES:.+]] = linalg.generic {indexing_maps = [#[[SPLIT]], #{{.+}}], {{.*}} ins(%[[PAD]] : tensor<1x3x10x12xf32>) outs(%{{.+}} : tensor<1x3x10x2x6xf32>)
// CHECK:       %[[INIT:.+]] = linalg.generic {indexing_maps = [#[[BIAS]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg2 : tensor<4xf32>)
// CHECK:       linalg.generic {indexing_maps = [#[[IN]], #[[W]], #[[OUT]]],
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME:    ins(%[[PHASES]], %arg1 : tensor<1x3x10x2x6xf32>, tensor<4x3x3x3xf32>) outs(%[[INIT]] : tensor<1x4x4x3xf32>)
func.func @conv(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x3xf32> {
  %0 = kiln.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 2, 1, 2>,
                               dilations = array<i64: 1, 3>, group = 1 : i64}
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x4x3xf32>
  return %0 : tensor<1x4x4x3xf32>
}

// -----

// Grouped conv: weight [G, F/G, C/G, KH, KW], output [N, G, F/G, OH, OW],
// input channel g * C/G + c.
// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1 * 2 + d5, d3 + d6, d4 + d7)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @conv_grouped
// CHECK-NOT:   tensor.pad
// CHECK:       %[[W5:.+]] = tensor.expand_shape %arg1 {{\[}}[0, 1], [2], [3], [4]] output_shape [3, 2, 2, 3, 3] : tensor<6x2x3x3xf32> into tensor<3x2x2x3x3xf32>
// CHECK:       %[[B2:.+]] = tensor.expand_shape %arg2 {{\[}}[0, 1]] output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
// CHECK:       %[[INIT:.+]] = linalg.generic {indexing_maps = [#[[BIAS]], #{{.+}}], {{.+}} ins(%[[B2]] : tensor<3x2xf32>)
// CHECK:       %[[C:.+]] = linalg.generic {indexing_maps = [#[[IN]], #[[W]], #[[OUT]]],
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME:    ins(%arg0, %[[W5]] : tensor<1x6x5x5xf32>, tensor<3x2x2x3x3xf32>) outs(%[[INIT]] : tensor<1x3x2x3x3xf32>)
// CHECK:       tensor.collapse_shape %[[C]] {{\[}}[0], [1, 2], [3], [4]] : tensor<1x3x2x3x3xf32> into tensor<1x6x3x3xf32>
func.func @conv_grouped(%x: tensor<1x6x5x5xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>) -> tensor<1x6x3x3xf32> {
  %0 = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
                               dilations = array<i64: 1, 1>, group = 3 : i64}
       : tensor<1x6x5x5xf32>, tensor<6x2x3x3xf32>, tensor<6xf32> -> tensor<1x6x3x3xf32>
  return %0 : tensor<1x6x3x3xf32>
}

// -----

// A strided 1x1 conv first gathers the pixels it reads into a dense tensor,
// then runs as a stride-1 1x1 conv over it (a matmul over contiguous pixels).
// CHECK-DAG: #[[SUB:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2, d3 * 3)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>
// CHECK-LABEL: func.func @conv_1x1_strided
// CHECK:       %[[X:.+]] = linalg.generic {indexing_maps = [#[[SUB]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%arg0 : tensor<1x3x8x9xf32>) outs(%{{.+}} : tensor<1x3x4x3xf32>)
// CHECK:       linalg.generic {indexing_maps = [#[[IN]],
// CHECK-SAME:    ins(%[[X]], %arg1 : tensor<1x3x4x3xf32>, tensor<5x3x1x1xf32>)
func.func @conv_1x1_strided(%x: tensor<1x3x8x9xf32>, %w: tensor<5x3x1x1xf32>, %b: tensor<5xf32>) -> tensor<1x5x4x3xf32> {
  %0 = kiln.conv2d %x, %w, %b {strides = array<i64: 2, 3>, padding = array<i64: 0, 0, 0, 0>,
                               dilations = array<i64: 1, 1>, group = 1 : i64}
       : tensor<1x3x8x9xf32>, tensor<5x3x1x1xf32>, tensor<5xf32> -> tensor<1x5x4x3xf32>
  return %0 : tensor<1x5x4x3xf32>
}

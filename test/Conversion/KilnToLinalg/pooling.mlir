// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// Max pooling: pad with -inf, reduce (kh, kw) windows; a tensor.empty of
// the kernel shape gives the window loops their extent.
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
// CHECK-DAG: #[[WIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @max_pool
// CHECK:       %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:       %[[PAD:.+]] = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 2, 1]
// CHECK:         tensor.yield %[[NEGINF]] : f32
// CHECK:       %[[INIT:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<1x2x4x4xf32>)
// CHECK:       %[[WINDOW:.+]] = tensor.empty() : tensor<3x3xf32>
// CHECK:       linalg.generic {indexing_maps = [#[[IN]], #[[WIN]], #[[OUT]]],
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME:    ins(%[[PAD]], %[[WINDOW]] : tensor<1x2x10x9xf32>, tensor<3x3xf32>) outs(%[[INIT]] : tensor<1x2x4x4xf32>)
// CHECK:         arith.maximumf
func.func @max_pool(%x: tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32> {
  %0 = kiln.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>,
                           padding = array<i64: 1, 1, 2, 1>}
       : tensor<1x2x7x7xf32> -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

// Average pooling without count_include_pad divides each output by the
// number of real positions in its window: rows [2, 3, 3, 2] x cols [2, 3, 3, 2].
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1, d2, d3) -> (d2)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1, d2, d3) -> (d3)>
// CHECK-LABEL: func.func @avg_pool_exclude_pad
// CHECK:       %[[ZERO:.+]] = arith.constant 0.0
// CHECK:       tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:         tensor.yield %[[ZERO]] : f32
// CHECK:       %[[SUM:.+]] = linalg.generic
// CHECK:         arith.addf
// CHECK:       %[[ROWS:.+]] = arith.constant dense<[2.000000e+00, 3.000000e+00, 3.000000e+00, 2.000000e+00]> : tensor<4xf32>
// CHECK:       %[[COLS:.+]] = arith.constant dense<[2.000000e+00, 3.000000e+00, 3.000000e+00, 2.000000e+00]> : tensor<4xf32>
// CHECK:       linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[COL]], #[[ID]]]
// CHECK-SAME:    ins(%[[SUM]], %[[ROWS]], %[[COLS]] :
// CHECK:         %[[N:.+]] = arith.mulf
// CHECK:         arith.divf %{{.+}}, %[[N]]
func.func @avg_pool_exclude_pad(%x: tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32> {
  %0 = kiln.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>,
                           padding = array<i64: 1, 1, 1, 1>}
       : tensor<1x2x7x7xf32> -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

// count_include_pad: every window counts the whole kernel.
// CHECK-LABEL: func.func @avg_pool_include_pad
// CHECK:       linalg.generic
// CHECK:         arith.addf
// CHECK:       linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK:         %[[AREA:.+]] = arith.constant 9.0
// CHECK:         arith.divf %{{.+}}, %[[AREA]]
func.func @avg_pool_include_pad(%x: tensor<1x2x7x7xf32>) -> tensor<1x2x4x4xf32> {
  %0 = kiln.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>,
                           padding = array<i64: 1, 1, 1, 1>, count_include_pad = true}
       : tensor<1x2x7x7xf32> -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

// No padding: no tensor.pad, a constant divisor.
// CHECK-LABEL: func.func @avg_pool_global
// CHECK-NOT:   tensor.pad
// CHECK:       linalg.generic {{.+}} ins(%arg0, %{{.+}} : tensor<1x3x4x5xf32>, tensor<4x5xf32>)
// CHECK:       arith.constant 2.000000e+01
func.func @avg_pool_global(%x: tensor<1x3x4x5xf32>) -> tensor<1x3x1x1xf32> {
  %0 = kiln.avg_pool2d %x {kernel = array<i64: 4, 5>, strides = array<i64: 1, 1>,
                           padding = array<i64: 0, 0, 0, 0>}
       : tensor<1x3x4x5xf32> -> tensor<1x3x1x1xf32>
  return %0 : tensor<1x3x1x1xf32>
}

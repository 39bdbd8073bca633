// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// softmax over axis 1: max, exp(x - max), sum, divide.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[RED:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @softmax
// CHECK:       %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:       %[[MAXINIT:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<2x4xf32>)
// CHECK:       %[[MAX:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME:    ins(%arg0 : tensor<2x3x4xf32>) outs(%[[MAXINIT]] : tensor<2x4xf32>)
// CHECK:         arith.maximumf
// CHECK:       %[[EXP:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%arg0, %[[MAX]] : tensor<2x3x4xf32>, tensor<2x4xf32>)
// CHECK:         arith.subf
// CHECK:         math.exp
// CHECK:       %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME:    ins(%[[EXP]] : tensor<2x3x4xf32>)
// CHECK:         arith.addf
// CHECK:       linalg.generic {indexing_maps = [#[[ID]], #[[RED]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%[[EXP]], %[[SUM]] : tensor<2x3x4xf32>, tensor<2x4xf32>)
// CHECK:         arith.divf
func.func @softmax(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.softmax %x {axis = 1 : i64} : tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// layer_norm over dims [1, 3): mean, mean of squared deviations, normalize.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-DAG: #[[INNER:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @layer_norm
// CHECK:       %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction", "reduction"]}
// CHECK:         arith.addf
// CHECK:       %[[MEAN:.+]] = linalg.generic {{.+}} ins(%[[SUM]] : tensor<2xf32>)
// CHECK:         arith.constant 1.200000e+01
// CHECK:         arith.divf
// CHECK:       %[[SQ:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction", "reduction"]}
// CHECK-SAME:    ins(%arg0, %[[MEAN]] : tensor<2x3x4xf32>, tensor<2xf32>)
// CHECK:         %[[D:.+]] = arith.subf
// CHECK:         %[[D2:.+]] = arith.mulf %[[D]], %[[D]]
// CHECK:         arith.addf %{{.+}}, %[[D2]]
// CHECK:       %[[VAR:.+]] = linalg.generic {{.+}} ins(%[[SQ]] : tensor<2xf32>)
// CHECK:       linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[INNER]], #[[INNER]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%arg0, %[[MEAN]], %[[VAR]], %arg1, %arg2 :
// CHECK:         arith.subf
// CHECK:         arith.constant 9.99999974E-6
// CHECK:         arith.addf
// CHECK:         math.sqrt
// CHECK:         arith.divf
// CHECK:         arith.mulf
// CHECK:         arith.addf
func.func @layer_norm(%x: tensor<2x3x4xf32>, %g: tensor<3x4xf32>, %b: tensor<3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<2x3x4xf32>, tensor<3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[CH:.+]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func @batch_norm
// CHECK:       linalg.generic {indexing_maps = [#[[ID]], #[[CH]], #[[CH]], #[[CH]], #[[CH]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME:    ins(%arg0, %arg1, %arg2, %arg3, %arg4 :
// CHECK:       ^bb0(%[[X:[^:]+]]: f32, %[[S:[^:]+]]: f32, %[[B:[^:]+]]: f32, %[[M:[^:]+]]: f32, %[[V:[^:]+]]: f32, %{{[^:]+}}: f32):
// CHECK:         %[[D:.+]] = arith.subf %[[X]], %[[M]]
// CHECK:         %[[VE:.+]] = arith.addf %[[V]], %{{.+}}
// CHECK:         %[[SD:.+]] = math.sqrt %[[VE]]
// CHECK:         %[[N:.+]] = arith.divf %[[D]], %[[SD]]
// CHECK:         %[[SC:.+]] = arith.mulf %[[N]], %[[S]]
// CHECK:         arith.addf %[[SC]], %[[B]]
func.func @batch_norm(%x: tensor<1x3x4x4xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>,
                      %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %0 = kiln.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32} : tensor<1x3x4x4xf32>, tensor<3xf32>
  return %0 : tensor<1x3x4x4xf32>
}

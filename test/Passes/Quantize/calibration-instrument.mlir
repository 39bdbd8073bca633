// kiln-calibration-instrument: the activation input of every matmul that
// kiln-w8a8-quantize (same min-weights) would take becomes an extra
// result, named kiln_calibration_<i> in walk order.
// RUN: %kiln_opt %s --kiln-calibration-instrument="min-weights=0" | FileCheck %s
// RUN: %kiln_opt %s --kiln-calibration-instrument | FileCheck %s --check-prefix=SMALL

// Two candidates (the function argument and the relu output) and a
// matmul with non-constant weights, which is not one.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME:  -> (tensor<2x3xf32> {kiln.name = "y"}, tensor<2x4xf32> {kiln.name = "kiln_calibration_0"}, tensor<2x4xf32> {kiln.name = "kiln_calibration_1"})
// CHECK:       %[[H:.*]] = kiln.relu
// CHECK:       return %{{.*}}, %arg0, %[[H]] : tensor<2x3xf32>, tensor<2x4xf32>, tensor<2x4xf32>

// Below min-weights (default 4096) nothing is returned.
// SMALL-LABEL: func.func @mlp
// SMALL-SAME:  -> (tensor<2x3xf32> {kiln.name = "y"})
func.func @mlp(%x: tensor<2x4xf32>, %v: tensor<3x3xf32>) -> (tensor<2x3xf32> {kiln.name = "y"}) {
  %w1 = kiln.constant dense<1.0> : tensor<4x4xf32>
  %w2 = kiln.constant dense<0.5> : tensor<4x3xf32>
  %a = kiln.matmul %x, %w1 : tensor<2x4xf32>, tensor<4x4xf32>
  %h = kiln.relu %a : tensor<2x4xf32>
  %b = kiln.matmul %h, %w2 : tensor<2x4xf32>, tensor<4x3xf32>
  %c = kiln.matmul %b, %v : tensor<2x3xf32>, tensor<3x3xf32>
  return %c : tensor<2x3xf32>
}

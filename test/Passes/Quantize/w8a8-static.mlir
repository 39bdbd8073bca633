// kiln-w8a8-quantize with calibrated activation ranges: one static scale
// per matmul, input_scale = f32(range) / 127, in walk order.
// RUN: %kiln_opt %s --kiln-w8a8-quantize="min-weights=0 activation-ranges=2.54,127,0" | FileCheck %s
// RUN: not %kiln_opt %s --kiln-w8a8-quantize="min-weights=0 activation-ranges=1" 2>&1 | FileCheck %s --check-prefix=COUNT

// Ranges 2.54 -> 0.02, 127 -> 1; a range of 0 (an activation that was
// always zero) gets scale 1. The weights are quantized as without ranges.
// CHECK-LABEL: func.func @three
// CHECK:       kiln.dynamic_quantized_matmul %arg0, %{{.*}} scales %{{.*}} {input_scale = 2.000000e-02 : f32} : tensor<2x4xf32>
// CHECK:       kiln.dynamic_quantized_matmul %{{.*}}, %{{.*}} scales %{{.*}} {input_scale = 1.000000e+00 : f32} : tensor<2x3xf32>
// CHECK:       kiln.dynamic_quantized_matmul %{{.*}}, %{{.*}} scales %{{.*}} {input_scale = 1.000000e+00 : f32} : tensor<2x2xf32>
// CHECK-NOT:   kiln.matmul
// A count that does not match the candidates is an error.
// COUNT: error: kiln-w8a8-quantize: activation-ranges has 1 ranges but the module has 3 matmuls to quantize; calibrate the same module with the same min-weights
func.func @three(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w1 = kiln.constant dense<1.0> : tensor<4x3xf32>
  %w2 = kiln.constant dense<0.5> : tensor<3x2xf32>
  %w3 = kiln.constant dense<0.25> : tensor<2x2xf32>
  %a = kiln.matmul %x, %w1 : tensor<2x4xf32>, tensor<4x3xf32>
  %b = kiln.matmul %a, %w2 : tensor<2x3xf32>, tensor<3x2xf32>
  %c = kiln.matmul %b, %w3 : tensor<2x2xf32>, tensor<2x2xf32>
  return %c : tensor<2x2xf32>
}

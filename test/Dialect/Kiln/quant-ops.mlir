// RUN: %kiln_opt %s | %kiln_opt | FileCheck %s
// Round trip of kiln.quantized_matmul and #kiln.weight_quant.

// CHECK-LABEL: func.func @symmetric
func.func @symmetric(%x: tensor<2x3x64xf32>, %w: tensor<64x16xi8>, %s: tensor<2x16xf32>) -> tensor<2x3x16xf32> {
  // CHECK: kiln.quantized_matmul %{{.*}}, %{{.*}} scales %{{.*}} {quant = #kiln.weight_quant<bits = 4, group = 32>} : tensor<2x3x64xf32>, tensor<64x16xi8>, tensor<2x16xf32>
  %0 = kiln.quantized_matmul %x, %w scales %s {quant = #kiln.weight_quant<bits = 4, group = 32>}
       : tensor<2x3x64xf32>, tensor<64x16xi8>, tensor<2x16xf32>
  return %0 : tensor<2x3x16xf32>
}

// A partial last group: ceil(40 / 32) = 2 scale rows.
// CHECK-LABEL: func.func @asymmetric
func.func @asymmetric(%x: tensor<1x40xf32>, %w: tensor<40x8xui8>, %s: tensor<2x8xf32>, %z: tensor<2x8xui8>) -> tensor<1x8xf32> {
  // CHECK: kiln.quantized_matmul %{{.*}}, %{{.*}} scales %{{.*}} zero_points %{{.*}} {quant = #kiln.weight_quant<bits = 8, group = 32>} : tensor<1x40xf32>, tensor<40x8xui8>, tensor<2x8xf32>, tensor<2x8xui8>
  %0 = kiln.quantized_matmul %x, %w scales %s zero_points %z {quant = #kiln.weight_quant<bits = 8, group = 32>}
       : tensor<1x40xf32>, tensor<40x8xui8>, tensor<2x8xf32>, tensor<2x8xui8>
  return %0 : tensor<1x8xf32>
}

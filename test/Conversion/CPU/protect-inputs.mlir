// RUN: %kiln_opt %s --kiln-protect-inputs | FileCheck %s

// CHECK-LABEL: func.func @entry
// CHECK-SAME: %{{.*}}: tensor<4xf32> {bufferization.writable = false, kiln.name = "x"}
// CHECK-SAME: %{{.*}}: tensor<4xf32> {bufferization.writable = false}
func.func @entry(%x: tensor<4xf32> {kiln.name = "x"}, %y: tensor<4xf32>) -> tensor<4xf32> attributes {kiln.entry} {
  return %x : tensor<4xf32>
}

// CHECK-LABEL: func.func @not_entry
// CHECK-NOT: bufferization.writable
func.func @not_entry(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// Outputs get buffers of their own: an input returned as is, a constant and
// a value returned twice are copied (the first use of a value keeps it).
// CHECK-LABEL: func.func @shared_outputs
// CHECK: %[[M:.*]] = kiln.mul
// CHECK: %[[E0:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[C0:.*]] = linalg.copy ins(%arg0 : tensor<4xf32>) outs(%[[E0]]
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[C1:.*]] = linalg.copy ins(%[[M]] : tensor<4xf32>) outs(%[[E1]]
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[C2:.*]] = linalg.copy ins(%{{.*}} : tensor<4xf32>) outs(%[[E2]]
// CHECK: return %[[C0]], %[[M]], %[[C1]], %[[C2]]
func.func @shared_outputs(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) attributes {kiln.entry} {
  %m = kiln.mul %x, %x : tensor<4xf32>, tensor<4xf32>
  %c = kiln.constant dense<1.0> : tensor<4xf32>
  return %x, %m, %m, %c : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

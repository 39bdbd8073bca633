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

// RUN: %kiln_opt %s --kiln-empty-tensor-boundary -allow-unregistered-dialect | FileCheck %s

// A zero-element input of rank != 1 becomes tensor<0xT>; its uses see an
// empty tensor of the original shape. A zero-element output returns an
// empty tensor<0xT>. Names stay.
// CHECK-LABEL: func.func @empty_set
// CHECK-SAME:    (%{{.+}}: tensor<0xf32> {kiln.name = "data"}, %[[Y:.+]]: tensor<3xf32>)
// CHECK-SAME:    -> (tensor<2x1x4xf32>, tensor<0xf32> {kiln.name = "nothing"})
// CHECK:         %[[E:.+]] = tensor.empty() : tensor<2x0x4xf32>
// CHECK:         %[[R:.+]] = "test.use"(%[[E]], %[[Y]])
// CHECK:         %[[Z:.+]] = tensor.empty() : tensor<0xf32>
// CHECK:         return %[[R]], %[[Z]] : tensor<2x1x4xf32>, tensor<0xf32>
func.func @empty_set(%x: tensor<2x0x4xf32> {kiln.name = "data"}, %y: tensor<3xf32>) -> (tensor<2x1x4xf32>, tensor<1x0xf32> {kiln.name = "nothing"}) attributes {kiln.entry} {
  %0 = "test.use"(%x, %y) : (tensor<2x0x4xf32>, tensor<3xf32>) -> tensor<2x1x4xf32>
  %1 = tensor.empty() : tensor<1x0xf32>
  return %0, %1 : tensor<2x1x4xf32>, tensor<1x0xf32>
}

// Functions that are not entries keep their types.
// CHECK-LABEL: func.func @helper
// CHECK-SAME:    (%{{.+}}: tensor<2x0xf32>)
func.func @helper(%x: tensor<2x0xf32>) {
  return
}

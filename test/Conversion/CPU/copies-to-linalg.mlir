// RUN: %kiln_opt %s --kiln-copies-to-linalg | FileCheck %s

// CHECK-LABEL: func.func @copies
func.func @copies(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %c: memref<2x3xf32>) {
  // Contiguous: stays a memcpy-able memref.copy.
  // CHECK: memref.copy %{{.*}}, %{{.*}} : memref<4x8xf32> to memref<4x8xf32>
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  // Strided: becomes loops via linalg.copy.
  // CHECK: linalg.copy ins(%{{.*}} : memref<2x3xf32, strided<[8, 1], offset: 9>>) outs(%{{.*}} : memref<2x3xf32>)
  // CHECK-NOT: memref.copy
  %s = memref.subview %a[1, 1] [2, 3] [1, 1] : memref<4x8xf32> to memref<2x3xf32, strided<[8, 1], offset: 9>>
  memref.copy %s, %c : memref<2x3xf32, strided<[8, 1], offset: 9>> to memref<2x3xf32>
  return
}

// RUN: %kiln_opt %s --kiln-flatten-globals | FileCheck %s

// CHECK: memref.global "private" constant @w : memref<6xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00]>
memref.global "private" constant @w : memref<2x3xf32> = dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]>
// 1-D and mutable globals stay as they are.
// CHECK: memref.global "private" constant @v : memref<3xf32>
memref.global "private" constant @v : memref<3xf32> = dense<[1.0, 2.0, 3.0]>
// CHECK: memref.global "private" @m : memref<2x2xf32>
memref.global "private" @m : memref<2x2xf32> = dense<0.0>

// CHECK-LABEL: func.func @use
// CHECK: %[[G:.*]] = memref.get_global @w : memref<6xf32>
// CHECK: %[[E:.*]] = memref.expand_shape %[[G]] {{\[\[}}0, 1]] output_shape [2, 3] : memref<6xf32> into memref<2x3xf32>
// CHECK: memref.copy %[[E]]
func.func @use(%out: memref<2x3xf32>) {
  %g = memref.get_global @w : memref<2x3xf32>
  memref.copy %g, %out : memref<2x3xf32> to memref<2x3xf32>
  return
}

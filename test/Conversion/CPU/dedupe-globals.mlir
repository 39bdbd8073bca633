// kiln-dedupe-globals: constant globals with equal type, alignment and
// bytes become one; every get_global reads the kept one.
// RUN: %kiln_opt %s --kiln-dedupe-globals | FileCheck %s

// CHECK-LABEL: module
// CHECK:     memref.global "private" constant @a : memref<4xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> {alignment = 64 : i64}
// CHECK-NOT: memref.global "private" constant @b
// CHECK:     memref.global "private" constant @c : memref<4xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 5.000000e+00]>
// CHECK:     memref.global "private" constant @d : memref<2x2xf32>
// CHECK:     memref.global "private" constant @e : memref<4xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> {alignment = 16 : i64}
// CHECK:     memref.global "private" constant @s1 : memref<4xf32> = dense<1.000000e+00>
// CHECK-NOT: memref.global "private" constant @s2
// CHECK:     memref.global "private" @w : memref<4xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]>
// CHECK-LABEL: func.func @reads
// CHECK: memref.get_global @a
// CHECK: memref.get_global @a
// CHECK: memref.get_global @c
// CHECK: memref.get_global @d
// CHECK: memref.get_global @e
// CHECK: memref.get_global @s1
// CHECK: memref.get_global @s1
// CHECK: memref.get_global @w
module {
  memref.global "private" constant @a : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]> {alignment = 64 : i64}
  memref.global "private" constant @b : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]> {alignment = 64 : i64}
  // Other bytes, another shape, another alignment: kept.
  memref.global "private" constant @c : memref<4xf32> = dense<[1.0, 2.0, 3.0, 5.0]>
  memref.global "private" constant @d : memref<2x2xf32> = dense<[[1.0, 2.0], [3.0, 4.0]]> {alignment = 64 : i64}
  memref.global "private" constant @e : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]> {alignment = 16 : i64}
  memref.global "private" constant @s1 : memref<4xf32> = dense<1.0>
  memref.global "private" constant @s2 : memref<4xf32> = dense<1.0>
  // Mutable: never merged.
  memref.global "private" @w : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
  func.func @reads() {
    %a = memref.get_global @a : memref<4xf32>
    %b = memref.get_global @b : memref<4xf32>
    %c = memref.get_global @c : memref<4xf32>
    %d = memref.get_global @d : memref<2x2xf32>
    %e = memref.get_global @e : memref<4xf32>
    %s1 = memref.get_global @s1 : memref<4xf32>
    %s2 = memref.get_global @s2 : memref<4xf32>
    %w = memref.get_global @w : memref<4xf32>
    return
  }
}

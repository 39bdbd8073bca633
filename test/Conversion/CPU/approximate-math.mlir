// RUN: %kiln_opt %s --kiln-approximate-math | FileCheck %s

// No libm calls remain for the functions models use.
// CHECK-LABEL: func.func @math
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: return
func.func @math(%x: f32) -> f32 {
  %0 = math.tanh %x : f32
  %1 = math.erf %0 : f32
  %2 = math.exp %1 : f32
  %3 = math.log %2 : f32
  return %3 : f32
}

// RUN: %kiln_opt %s --kiln-simplify-requantize | FileCheck %s
// RUN: %kiln_opt %s --kiln-simplify-requantize=x86-avx512=1 | FileCheck %s --check-prefix=X86

// A fused QuantizeLinear tail (u8, zero point 126): the clamp moves before
// the rounding, by the bounds minus the zero point, as compare-and-select;
// the zero point is added to the integer.
// CHECK-LABEL: func.func @u8_tail
// CHECK-DAG: %[[LO:.*]] = arith.constant dense<-1.260000e+02> : vector<16xf32>
// CHECK-DAG: %[[HI:.*]] = arith.constant dense<1.290000e+02> : vector<16xf32>
// CHECK-DAG: %[[ZP:.*]] = arith.constant dense<126> : vector<16xi32>
// CHECK: %[[Q:.*]] = arith.divf %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[Q]], %[[LO]]
// CHECK: %[[A:.*]] = arith.select %[[GT]], %[[Q]], %[[LO]]
// CHECK: %[[LT:.*]] = arith.cmpf olt, %[[A]], %[[HI]]
// CHECK: %[[C:.*]] = arith.select %[[LT]], %[[A]], %[[HI]]
// CHECK: %[[R:.*]] = math.roundeven %[[C]]
// CHECK: %[[I:.*]] = arith.fptosi %[[R]] : vector<16xf32> to vector<16xi32>
// CHECK: %[[S:.*]] = arith.addi %[[I]], %[[ZP]]
// CHECK: arith.trunci %[[S]] : vector<16xi32> to vector<16xi8>
// CHECK-NOT: arith.maximumf
// CHECK-NOT: arith.minimumf
// On AVX-512 the rounding and the conversion are one vcvtps2dq {rn-sae}:
// X86-LABEL: func.func @u8_tail
// X86: arith.select
// X86: %[[C:.*]] = arith.select
// X86-NOT: math.roundeven
// X86: %[[I:.*]] = llvm.call_intrinsic "llvm.x86.avx512.mask.cvtps2dq.512"(%[[C]], %{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xf32>, vector<16xi32>, i16, i32) -> vector<16xi32>
// X86: arith.addi %[[I]]
func.func @u8_tail(%y: vector<16xf32>) -> vector<16xi8> {
  %s = arith.constant dense<0.05> : vector<16xf32>
  %zp = arith.constant dense<126.0> : vector<16xf32>
  %lo = arith.constant dense<0.0> : vector<16xf32>
  %hi = arith.constant dense<255.0> : vector<16xf32>
  %0 = arith.divf %y, %s : vector<16xf32>
  %1 = math.roundeven %0 : vector<16xf32>
  %2 = arith.addf %1, %zp : vector<16xf32>
  %3 = arith.maximumf %2, %lo : vector<16xf32>
  %4 = arith.minimumf %3, %hi : vector<16xf32>
  %5 = arith.fptosi %4 : vector<16xf32> to vector<16xi32>
  %6 = arith.trunci %5 : vector<16xi32> to vector<16xi8>
  return %6 : vector<16xi8>
}

// Scalars, the clamp in the other order (min first), signed range.
// CHECK-LABEL: func.func @i8_scalar_min_first
// CHECK-DAG: arith.constant -1.310000e+02 : f32
// CHECK-DAG: arith.constant 1.240000e+02 : f32
// CHECK-DAG: arith.constant 3 : i32
// CHECK: arith.select
// CHECK: arith.select
// CHECK: math.roundeven
// CHECK: arith.fptosi
// CHECK: arith.addi
// CHECK-NOT: arith.maximumf
// Scalars keep roundeven + fptosi:
// X86-LABEL: func.func @i8_scalar_min_first
// X86: math.roundeven
// X86: arith.fptosi
func.func @i8_scalar_min_first(%t: f32) -> i32 {
  %zp = arith.constant 3.0 : f32
  %lo = arith.constant -128.0 : f32
  %hi = arith.constant 127.0 : f32
  %1 = math.roundeven %t : f32
  %2 = arith.addf %1, %zp : f32
  %3 = arith.minimumf %2, %hi : f32
  %4 = arith.maximumf %3, %lo : f32
  %5 = arith.fptosi %4 : f32 to i32
  return %5 : i32
}

// Left alone: a zero point that is not an integer, a narrow fptosi (the
// shifted bounds may not fit it), and a rounded value used twice.
// CHECK-LABEL: func.func @not_integer_zero_point
// CHECK: arith.maximumf
// CHECK: arith.minimumf
func.func @not_integer_zero_point(%t: f32) -> i32 {
  %zp = arith.constant 0.5 : f32
  %lo = arith.constant 0.0 : f32
  %hi = arith.constant 255.0 : f32
  %1 = math.roundeven %t : f32
  %2 = arith.addf %1, %zp : f32
  %3 = arith.maximumf %2, %lo : f32
  %4 = arith.minimumf %3, %hi : f32
  %5 = arith.fptosi %4 : f32 to i32
  return %5 : i32
}

// CHECK-LABEL: func.func @narrow_convert
// CHECK: arith.maximumf
func.func @narrow_convert(%t: f32) -> i8 {
  %zp = arith.constant 100.0 : f32
  %lo = arith.constant -128.0 : f32
  %hi = arith.constant 127.0 : f32
  %1 = math.roundeven %t : f32
  %2 = arith.addf %1, %zp : f32
  %3 = arith.maximumf %2, %lo : f32
  %4 = arith.minimumf %3, %hi : f32
  %5 = arith.fptosi %4 : f32 to i8
  return %5 : i8
}

// CHECK-LABEL: func.func @rounded_twice
// CHECK: arith.maximumf
func.func @rounded_twice(%t: f32) -> (i32, f32) {
  %zp = arith.constant 1.0 : f32
  %lo = arith.constant 0.0 : f32
  %hi = arith.constant 255.0 : f32
  %1 = math.roundeven %t : f32
  %2 = arith.addf %1, %zp : f32
  %3 = arith.maximumf %2, %lo : f32
  %4 = arith.minimumf %3, %hi : f32
  %5 = arith.fptosi %4 : f32 to i32
  return %5, %1 : i32, f32
}

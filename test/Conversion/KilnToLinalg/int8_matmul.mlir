// RUN: %kiln_opt %s --convert-kiln-to-linalg | FileCheck %s

// kiln.dynamic_quantized_matmul's reference form: leading dims fold into M
// (6 rows); the row max |x| (a max reduction from 0), the row scale
// (1 for an all-zero row, else max / 127), the i32 contraction that
// quantizes inline (divide, round half to even, clamp to +-127) and is
// marked for the CPU kernel, then the f32 rescale f32(acc) * s_x * w_s.
// CHECK-LABEL: func.func @int8
// CHECK:       %[[X:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x3x5xf32> into tensor<6x5xf32>
// CHECK:       %[[AMAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<6x5xf32>)
// CHECK:         math.absf
// CHECK:         arith.maximumf
// CHECK:       %[[SX:.*]] = linalg.generic {{.*}} ins(%[[AMAX]] : tensor<6xf32>)
// CHECK:         %[[ZERO:.*]] = arith.cmpf oeq
// CHECK:         %[[DIV:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK:         arith.select %[[ZERO]], %{{.*}}, %[[DIV]]
// CHECK:       %[[ACC0:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<6x7xi32>)
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[SX]], %arg1 : tensor<6x5xf32>, tensor<6xf32>, tensor<5x7xi8>) outs(%[[ACC0]] : tensor<6x7xi32>) attrs = {kiln.int8_matmul}
// CHECK:         arith.divf
// CHECK:         math.roundeven
// CHECK-NEXT:    arith.constant -1.270000e+02 : f32
// CHECK-NEXT:    arith.maximumf
// CHECK-NEXT:    arith.constant 1.270000e+02 : f32
// CHECK-NEXT:    arith.minimumf
// CHECK:         arith.fptosi %{{.*}} : f32 to i32
// CHECK:         arith.extsi %{{.*}} : i8 to i32
// CHECK:         arith.muli
// CHECK:         arith.addi
// CHECK:       %[[Y:.*]] = linalg.generic {{.*}} ins(%[[ACC]], %[[SX]], %arg2 : tensor<6x7xi32>, tensor<6xf32>, tensor<7xf32>)
// CHECK:         %[[F:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK:         %[[FS:.*]] = arith.mulf %[[F]], %{{.*}} : f32
// CHECK:         arith.mulf %[[FS]], %{{.*}} : f32
// CHECK:       tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [2, 3, 7]
func.func @int8(%x: tensor<2x3x5xf32>, %w: tensor<5x7xi8>, %s: tensor<7xf32>) -> tensor<2x3x7xf32> {
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s : tensor<2x3x5xf32>, tensor<5x7xi8>, tensor<7xf32>
  return %0 : tensor<2x3x7xf32>
}

// A static input_scale: s_x is a fill of the constant (no reduction, no
// per-row scale), then the same contraction (clamping to +-127: values past
// the calibrated range saturate) and rescale.
// CHECK-LABEL: func.func @int8_static
// CHECK-NOT:   iterator_types = ["parallel", "reduction"]
// CHECK:       %[[S:.*]] = arith.constant 1.250000e-01 : f32
// CHECK:       %[[SX:.*]] = linalg.fill ins(%[[S]] : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} ins(%arg0, %[[SX]], %arg1 : tensor<4x5xf32>, tensor<4xf32>, tensor<5x7xi8>) {{.*}} attrs = {kiln.int8_matmul}
// CHECK:         arith.divf
// CHECK:         math.roundeven
// CHECK:         arith.maximumf
// CHECK:         arith.minimumf
// CHECK:       linalg.generic {{.*}} ins(%[[ACC]], %[[SX]], %arg2 : tensor<4x7xi32>, tensor<4xf32>, tensor<7xf32>)
func.func @int8_static(%x: tensor<4x5xf32>, %w: tensor<5x7xi8>, %s: tensor<7xf32>) -> tensor<4x7xf32> {
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s {input_scale = 0.125 : f32} : tensor<4x5xf32>, tensor<5x7xi8>, tensor<7xf32>
  return %0 : tensor<4x7xf32>
}

// kiln.integer_matmul's reference form: rows fold into M, then one i32
// contraction of (a - zp) * w, marked for the CPU kernel with the
// activations' signedness. A run-time zero point is a 0-d operand
// (unsigned values widened with extui)...
// CHECK-LABEL: func.func @integer_runtime_zp
// CHECK:       %[[X:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x3x5xui8> into tensor<6x5xui8>
// CHECK:       %[[ACC0:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<6x7xi32>)
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %arg2, %arg1 : tensor<6x5xui8>, tensor<ui8>, tensor<5x7xi8>) outs(%[[ACC0]] : tensor<6x7xi32>) attrs = {kiln.integer_matmul = "unsigned"}
// CHECK:         arith.extui %{{.*}} : i8 to i32
// CHECK:         arith.extui %{{.*}} : i8 to i32
// CHECK:         arith.subi
// CHECK:         arith.extsi %{{.*}} : i8 to i32
// CHECK:         arith.muli
// CHECK:         arith.addi
// CHECK:       tensor.expand_shape %[[ACC]] {{\[}}[0, 1], [2]] output_shape [2, 3, 7]
func.func @integer_runtime_zp(%x: tensor<2x3x5xui8>, %w: tensor<5x7xi8>, %zp: tensor<ui8>) -> tensor<2x3x7xi32> {
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<2x3x5xui8>, tensor<5x7xi8>, tensor<ui8>
  return %0 : tensor<2x3x7xi32>
}

// ... a constant one is subtracted as a constant and recorded beside the
// marker (sign-extended for signed activations), so that no constant
// operand is left to fold.
// CHECK-LABEL: func.func @integer_constant_zp
// CHECK:       linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<4x5xi8>, tensor<5x7xi8>) {{.*}} attrs = {kiln.integer_matmul = "signed", kiln.integer_matmul_zero_point = -3 : i32}
// CHECK:         %[[A:.*]] = arith.extsi %{{.*}} : i8 to i32
// CHECK:         %[[Z:.*]] = arith.constant -3 : i32
// CHECK:         arith.subi %[[A]], %[[Z]] : i32
func.func @integer_constant_zp(%x: tensor<4x5xi8>, %w: tensor<5x7xi8>) -> tensor<4x7xi32> {
  %zp = kiln.constant dense<-3> : tensor<i8>
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<4x5xi8>, tensor<5x7xi8>, tensor<i8>
  return %0 : tensor<4x7xi32>
}

// No zero point: zero, no subtraction.
// CHECK-LABEL: func.func @integer_no_zp
// CHECK:       linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<4x5xui8>, tensor<5x7xi8>) {{.*}} attrs = {kiln.integer_matmul = "unsigned", kiln.integer_matmul_zero_point = 0 : i32}
// CHECK-NOT:     arith.subi
// CHECK:         arith.muli
func.func @integer_no_zp(%x: tensor<4x5xui8>, %w: tensor<5x7xi8>) -> tensor<4x7xi32> {
  %0 = kiln.integer_matmul %x, %w : tensor<4x5xui8>, tensor<5x7xi8>
  return %0 : tensor<4x7xi32>
}

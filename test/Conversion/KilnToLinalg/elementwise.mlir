// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// Binary ops broadcast with numpy rules: right-aligned dims, a size-1 dim
// that broadcasts reads index 0.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[SCALAR:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @broadcast
// CHECK:       %[[E0:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK:       linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:    ins(%arg0, %arg1 : tensor<2x3xf32>, tensor<3xf32>) outs(%[[E0]] : tensor<2x3xf32>)
// CHECK:         arith.addf
// CHECK:       linalg.generic {indexing_maps = [#[[ID]], #[[COL]], #[[ID]]]
// CHECK:         arith.mulf
// CHECK:       linalg.generic {indexing_maps = [#[[SCALAR]], #[[ID]], #[[ID]]]
// CHECK:         arith.subf
func.func @broadcast(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x1xf32>,
                     %s: tensor<f32>) -> tensor<2x3xf32> {
  %0 = kiln.add %a, %b : tensor<2x3xf32>, tensor<3xf32>
  %1 = kiln.mul %0, %c : tensor<2x3xf32>, tensor<2x1xf32>
  %2 = kiln.sub %s, %1 : tensor<f32>, tensor<2x3xf32>
  return %2 : tensor<2x3xf32>
}

// -----

// Both operands broadcast against each other.
// CHECK-DAG: #[[A:.+]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @both_broadcast
// CHECK:       linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[OUT]]]
// CHECK-SAME:    outs(%{{.+}} : tensor<2x3x4xf32>)
// CHECK:         arith.maximumf
func.func @both_broadcast(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %0 = kiln.max %a, %b : tensor<2x1x4xf32>, tensor<3x1xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @rank0
// CHECK:       linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #{{.+}}], iterator_types = []}
// CHECK:         arith.divf
func.func @rank0(%a: tensor<f32>, %b: tensor<f32>) -> tensor<f32> {
  %0 = kiln.div %a, %b : tensor<f32>, tensor<f32>
  return %0 : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @unary_float
// CHECK:       arith.negf
// CHECK:       math.absf
// CHECK:       math.sqrt
// CHECK:       math.exp
// CHECK:       math.log
// CHECK:       math.erf
// CHECK:       math.tanh
// CHECK:       arith.constant 1.0
// CHECK:       arith.negf
// CHECK:       math.exp
// CHECK:       arith.addf
// CHECK:       arith.divf
// CHECK:       arith.maximumf
// CHECK:       arith.divf
func.func @unary_float(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.neg %x : tensor<4xf32>
  %1 = kiln.abs %0 : tensor<4xf32>
  %2 = kiln.sqrt %1 : tensor<4xf32>
  %3 = kiln.exp %2 : tensor<4xf32>
  %4 = kiln.log %3 : tensor<4xf32>
  %5 = kiln.erf %4 : tensor<4xf32>
  %6 = kiln.tanh %5 : tensor<4xf32>
  %7 = kiln.sigmoid %6 : tensor<4xf32>
  %8 = kiln.relu %7 : tensor<4xf32>
  %9 = kiln.reciprocal %8 : tensor<4xf32>
  return %9 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @integer_ops
// CHECK:       arith.addi
// CHECK:       arith.divsi
// CHECK:       math.ipowi
// CHECK:       arith.maxsi
// CHECK:       arith.minsi
// CHECK:       arith.subi
// CHECK:       math.absi
// CHECK:       arith.cmpi slt
// CHECK:       arith.cmpi sgt
// CHECK:       arith.cmpi eq
func.func @integer_ops(%a: tensor<4xi64>, %b: tensor<4xi64>) -> (tensor<4xi64>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) {
  %0 = kiln.add %a, %b : tensor<4xi64>, tensor<4xi64>
  %1 = kiln.div %0, %b : tensor<4xi64>, tensor<4xi64>
  %2 = kiln.pow %1, %b : tensor<4xi64>, tensor<4xi64>
  %3 = kiln.max %2, %a : tensor<4xi64>, tensor<4xi64>
  %4 = kiln.min %3, %a : tensor<4xi64>, tensor<4xi64>
  %5 = kiln.neg %4 : tensor<4xi64>
  %6 = kiln.abs %5 : tensor<4xi64>
  %7 = kiln.less %6, %a : tensor<4xi64>, tensor<4xi64>
  %8 = kiln.greater %6, %a : tensor<4xi64>, tensor<4xi64>
  %9 = kiln.equal %6, %a : tensor<4xi64>, tensor<4xi64>
  return %6, %7, %8, %9 : tensor<4xi64>, tensor<4xi1>, tensor<4xi1>, tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @logical
// CHECK:       arith.andi
// CHECK:       arith.ori
// CHECK:       %[[TRUE:.+]] = arith.constant true
// CHECK:       arith.xori %{{.+}}, %[[TRUE]] : i1
func.func @logical(%a: tensor<4xi1>, %b: tensor<4xi1>) -> tensor<4xi1> {
  %0 = kiln.and %a, %b : tensor<4xi1>, tensor<4xi1>
  %1 = kiln.or %0, %b : tensor<4xi1>, tensor<4xi1>
  %2 = kiln.not %1 : tensor<4xi1>
  return %2 : tensor<4xi1>
}

// -----

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[C:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[Y:.+]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @compare_and_select
// CHECK:       linalg.generic {{.+}} outs(%{{.+}} : tensor<2x3xi1>)
// CHECK:         arith.cmpf olt
// CHECK:       linalg.generic {{.+}} outs(%{{.+}} : tensor<2x3xi1>)
// CHECK:         arith.cmpf ogt
// CHECK:       linalg.generic {{.+}} outs(%{{.+}} : tensor<2x3xi1>)
// CHECK:         arith.cmpf oeq
// CHECK:       linalg.generic {indexing_maps = [#[[C]], #[[ID]], #[[Y]], #[[ID]]]
// CHECK:         arith.select
func.func @compare_and_select(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %c: tensor<2x1xi1>,
                              %y: tensor<f32>) -> (tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xf32>) {
  %0 = kiln.less %a, %b : tensor<2x3xf32>, tensor<2x3xf32>
  %1 = kiln.greater %a, %b : tensor<2x3xf32>, tensor<2x3xf32>
  %2 = kiln.equal %a, %b : tensor<2x3xf32>, tensor<2x3xf32>
  %3 = kiln.where %c, %a, %y : tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32>
  return %0, %1, %2, %3 : tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @casts
// CHECK:       arith.fptosi %{{.+}} : f32 to i64
// CHECK:       arith.sitofp %{{.+}} : i64 to f16
// CHECK:       arith.extf %{{.+}} : f16 to f32
// CHECK:       arith.truncf %{{.+}} : f32 to f16
// CHECK:       arith.trunci %{{.+}} : i64 to i32
// CHECK:       arith.extsi %{{.+}} : i32 to i64
// CHECK:       %[[Z:.+]] = arith.constant 0.0
// CHECK:       arith.cmpf une, %{{.+}}, %[[Z]] : f32
// CHECK:       arith.uitofp %{{.+}} : i1 to f32
// CHECK:       arith.extui %{{.+}} : i1 to i64
// CHECK:       arith.cmpi ne
func.func @casts(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf16>, tensor<4xi64>, tensor<4xf32>, tensor<4xi64>, tensor<4xi1>) {
  %0 = kiln.cast %x : tensor<4xf32> -> tensor<4xi64>
  %1 = kiln.cast %0 : tensor<4xi64> -> tensor<4xf16>
  %2 = kiln.cast %1 : tensor<4xf16> -> tensor<4xf32>
  %3 = kiln.cast %2 : tensor<4xf32> -> tensor<4xf16>
  %4 = kiln.cast %0 : tensor<4xi64> -> tensor<4xi32>
  %5 = kiln.cast %4 : tensor<4xi32> -> tensor<4xi64>
  %6 = kiln.cast %x : tensor<4xf32> -> tensor<4xi1>
  %7 = kiln.cast %6 : tensor<4xi1> -> tensor<4xf32>
  %8 = kiln.cast %6 : tensor<4xi1> -> tensor<4xi64>
  %9 = kiln.cast %5 : tensor<4xi64> -> tensor<4xi1>
  return %2, %3, %5, %7, %8, %9 : tensor<4xf32>, tensor<4xf16>, tensor<4xi64>, tensor<4xf32>, tensor<4xi64>, tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @clip
// CHECK:       %[[LO:.+]] = arith.constant 0.0
// CHECK:       arith.maximumf %{{.+}}, %[[LO]]
// CHECK:       %[[HI:.+]] = arith.constant 6.0
// CHECK:       arith.minimumf %{{.+}}, %[[HI]]
// CHECK:       linalg.generic
// CHECK-NOT:     arith.maximumf
// CHECK:         arith.minimumf
// CHECK:       linalg.generic
// CHECK:         %[[ILO:.+]] = arith.constant -2 : i32
// CHECK:         arith.maxsi %{{.+}}, %[[ILO]]
// CHECK:         %[[IHI:.+]] = arith.constant 2147483647 : i32
// CHECK:         arith.minsi %{{.+}}, %[[IHI]]
func.func @clip(%x: tensor<4xf32>, %i: tensor<4xi32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xi32>) {
  %0 = kiln.clip %x {min = 0.0 : f64, max = 6.0 : f64} : tensor<4xf32>
  %1 = kiln.clip %x {min = 0xFFF0000000000000 : f64, max = 1.0 : f64} : tensor<4xf32>
  %2 = kiln.clip %i {min = -2.5 : f64, max = 1.0e+20 : f64} : tensor<4xi32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xi32>
}

// -----

// CHECK-LABEL: func.func @leaky_relu
// CHECK:       %[[Z:.+]] = arith.constant 0.0
// CHECK:       %[[POS:.+]] = arith.cmpf oge, %[[X:.+]], %[[Z]]
// CHECK:       %[[A:.+]] = arith.constant 1.000000e-01
// CHECK:       %[[S:.+]] = arith.mulf %[[X]], %[[A]]
// CHECK:       arith.select %[[POS]], %[[X]], %[[S]]
func.func @leaky_relu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.leaky_relu %x {alpha = 0.1 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// gelu(x) = 0.5 x (1 + erf(x / sqrt 2)); tanh form:
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// CHECK-LABEL: func.func @gelu
// CHECK:       linalg.generic
// CHECK:         arith.constant 0.707106769
// CHECK:         math.erf
// CHECK:         arith.constant 5.000000e-01
// CHECK:       linalg.generic
// CHECK:         arith.constant 4.471500e-02
// CHECK:         arith.constant 0.797884583
// CHECK:         math.tanh
func.func @gelu(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = kiln.gelu %x : tensor<4xf32>
  %1 = kiln.gelu %x {approximate = "tanh"} : tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// Constant exponents that are small nonzero integers (repeated
// squaring) and 0.5 need no powf; 0 and 5 keep it.
// CHECK-LABEL: func.func @pow
// CHECK:       linalg.generic
// CHECK:         math.powf
// CHECK:       linalg.generic
// CHECK:         %[[SQ:.+]] = arith.mulf %[[IN:.+]], %[[IN]] : f32
// CHECK:         linalg.yield %[[SQ]]
// CHECK:       linalg.generic
// CHECK:         math.sqrt
// CHECK:       linalg.generic
// CHECK:       ^bb0(%[[X:[a-z0-9_]+]]: f32,
// CHECK:         %[[X2:.+]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK:         %[[X3:.+]] = arith.mulf %[[X]], %[[X2]] : f32
// CHECK:         linalg.yield %[[X3]]
// CHECK:       linalg.generic
// CHECK:       ^bb0(%[[Y:[a-z0-9_]+]]: f32,
// CHECK:         %[[Y2:.+]] = arith.mulf %[[Y]], %[[Y]] : f32
// CHECK:         %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK:         %[[INV:.+]] = arith.divf %[[ONE]], %[[Y2]] : f32
// CHECK:         linalg.yield %[[INV]]
// CHECK:       linalg.generic
// CHECK:         math.powf
// CHECK:       linalg.generic
// CHECK:         math.powf
func.func @pow(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = kiln.pow %x, %y : tensor<4xf32>, tensor<4xf32>
  %two = kiln.constant dense<2.0> : tensor<f32>
  %1 = kiln.pow %x, %two : tensor<4xf32>, tensor<f32>
  %half = kiln.constant dense<0.5> : tensor<1xf32>
  %2 = kiln.pow %x, %half : tensor<4xf32>, tensor<1xf32>
  %three = kiln.constant dense<3.0> : tensor<f32>
  %3 = kiln.pow %x, %three : tensor<4xf32>, tensor<f32>
  %mtwo = kiln.constant dense<-2.0> : tensor<f32>
  %4 = kiln.pow %x, %mtwo : tensor<4xf32>, tensor<f32>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %5 = kiln.pow %x, %zero : tensor<4xf32>, tensor<f32>
  %five = kiln.constant dense<5.0> : tensor<f32>
  %6 = kiln.pow %x, %five : tensor<4xf32>, tensor<f32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

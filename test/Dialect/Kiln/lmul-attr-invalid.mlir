// RUN: %kiln_opt %s -split-input-file -verify-diagnostics

func.func @unknown_format(%a: tensor<2x2xf32>) {
  // expected-error @+1 {{unknown L-Mul format "fp8" (expected one of fp32, bf16, fp16, e4m3, e5m2)}}
  %0 = kiln.mul %a, %a {lmul = #kiln.lmul<format = "fp8", mantissa = 3, rounding = "nearest">} : tensor<2x2xf32>, tensor<2x2xf32>
  return
}

// -----

func.func @mantissa_too_wide(%a: tensor<2x2xf32>) {
  // expected-error @+1 {{L-Mul mantissa 4 out of range 1..3 for format "e4m3"}}
  %0 = kiln.matmul %a, %a {lmul = #kiln.lmul<format = "e4m3", mantissa = 4, rounding = "nearest">} : tensor<2x2xf32>, tensor<2x2xf32>
  return
}

// -----

func.func @mantissa_zero(%a: tensor<2x2xf32>) {
  // expected-error @+1 {{L-Mul mantissa 0 out of range 1..23 for format "fp32"}}
  %0 = kiln.matmul %a, %a {lmul = #kiln.lmul<format = "fp32", mantissa = 0, rounding = "nearest">} : tensor<2x2xf32>, tensor<2x2xf32>
  return
}

// -----

func.func @unknown_rounding(%a: tensor<2x2xf32>) {
  // expected-error @+1 {{unknown L-Mul rounding "up" (expected "nearest" or "truncate")}}
  %0 = kiln.mul %a, %a {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "up">} : tensor<2x2xf32>, tensor<2x2xf32>
  return
}

// -----

func.func @not_lmul_attr(%a: tensor<2x2xf32>) {
  // expected-error @+1 {{attribute 'lmul' failed to satisfy constraint}}
  %0 = kiln.mul %a, %a {lmul = 3 : i32} : tensor<2x2xf32>, tensor<2x2xf32>
  return
}

// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file --verify-diagnostics

// An op whose element type has no lowering is reported, not dropped.
func.func @sqrt_of_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{failed to legalize operation 'kiln.sqrt'}}
  %0 = kiln.sqrt %x : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @and_of_float(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{failed to legalize operation 'kiln.and'}}
  %0 = kiln.and %x, %x : tensor<4xf32>, tensor<4xf32>
  return %0 : tensor<4xf32>
}

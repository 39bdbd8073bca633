// kiln-weight-quantize with calibration Hessians (hessians=FILE): GPTQ
// rounding, one Hessian per candidate matmul in walk order.
// RUN: %python %S/write_hessians.py %t.bin 3:1,0.9,1,0,0,1 3:1,0,1,0,0,1
// RUN: %kiln_opt %s --kiln-weight-quantize="bits=4 group-size=3 min-weights=0 clipping=none hessians=%t.bin" | FileCheck %s --check-prefix=GPTQ
// RUN: %kiln_opt %s --kiln-weight-quantize="bits=4 group-size=3 min-weights=0 clipping=none" | FileCheck %s --check-prefix=RTN
//
// Errors: a missing or foreign file, a count or K that does not match.
// RUN: not %kiln_opt %s --kiln-weight-quantize="min-weights=0 hessians=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: %python %S/write_hessians.py %t.garbage --garbage
// RUN: not %kiln_opt %s --kiln-weight-quantize="min-weights=0 hessians=%t.garbage" 2>&1 | FileCheck %s --check-prefix=GARBAGE
// RUN: %python %S/write_hessians.py %t.one 3:1,0,1,0,0,1
// RUN: not %kiln_opt %s --kiln-weight-quantize="min-weights=0 hessians=%t.one" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: %python %S/write_hessians.py %t.k 3:1,0,1,0,0,1 2:1,0,1
// RUN: not %kiln_opt %s --kiln-weight-quantize="min-weights=0 hessians=%t.k" 2>&1 | FileCheck %s --check-prefix=KDIM
// RUN: not %kiln_opt %s --kiln-weight-quantize="min-weights=0 hessians=%t.bin gptq-damp=0" 2>&1 | FileCheck %s --check-prefix=DAMP

// One group of 3, symmetric 4-bit: s = 0.7 / 7 = 0.1. Row 0: 0.34 -> 3,
// error 0.04. Rounded to nearest, row 1 is rint(4.3) = 4. Under GPTQ the
// first Hessian correlates inputs 0 and 1 (H01 = 0.9, H + 0.1 I after
// the default damping), so row 0's error moves to row 1 as
// 0.04 * 0.9 / 1.1: 0.43 + 0.0327 = 0.4627 -> 5. Input 2 is uncorrelated: row 2 stays 7.
// The second matmul's Hessian is diagonal: GPTQ is round to nearest there.
// GPTQ-LABEL: func.func @two
// GPTQ-DAG:   kiln.constant dense<{{\[}}[3], [5], [7]]> : tensor<3x1xi8>
// GPTQ-DAG:   kiln.constant dense<{{\[}}[3], [4], [7]]> : tensor<3x1xi8>
// GPTQ-NOT:  kiln.matmul
// RTN-LABEL: func.func @two
// RTN-COUNT-2: kiln.constant dense<{{\[}}[3], [4], [7]]> : tensor<3x1xi8>
func.func @two(%x: tensor<2x3xf32>) -> (tensor<2x1xf32>, tensor<2x1xf32>) {
  %w = kiln.constant dense<[[0.34], [0.43], [0.7]]> : tensor<3x1xf32>
  %y = kiln.matmul %x, %w : tensor<2x3xf32>, tensor<3x1xf32>
  %w2 = kiln.constant dense<[[0.34], [0.43], [0.71]]> : tensor<3x1xf32>
  %z = kiln.matmul %x, %w2 : tensor<2x3xf32>, tensor<3x1xf32>
  return %y, %z : tensor<2x1xf32>, tensor<2x1xf32>
}

// MISSING: kiln-weight-quantize: cannot read '{{.*}}.missing': No such file or directory
// GARBAGE: kiln-weight-quantize: '{{.*}}.garbage' is not a kiln Hessian file
// COUNT: kiln-weight-quantize: '{{.*}}.one' holds 1 Hessian but the module has 2 matmuls to quantize (min-weights 0): the calibration was of another model or options
// KDIM: kiln-weight-quantize: the calibration Hessian is 2x2 but the weights have K = 3: the calibration was of another model or options
// DAMP: kiln-weight-quantize: gptq-damp must be positive

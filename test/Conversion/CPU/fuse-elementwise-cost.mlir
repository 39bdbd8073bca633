// RUN: %kiln_opt %s --kiln-fuse-elementwise="cost-model=analytic vector-bits=256" | FileCheck %s
// RUN: %kiln_opt %s --kiln-fuse-elementwise | FileCheck %s --check-prefix=RULE

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// x - m has two elementwise users: with a cost model it is recomputed in
// each (one subtraction per point instead of writing 1 MiB and reading it
// twice), and the module records the decision. Without one it stays a
// loop of its own.
// CHECK: kiln.fusion = ["arith.subf [512x512]: fused: {{[0-9.]+}} us recomputed in its 2 users vs {{[0-9.]+}} us written once and read back"
// CHECK-SAME: "math.sqrt [128]: kept: {{[0-9.]+}} us written once and read back vs {{[0-9.]+}} us recomputed in its user (broadcast to 512x its points)"
// CHECK-LABEL: func.func @two_users
// CHECK: linalg.generic
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: linalg.generic
// CHECK: arith.subf
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
// CHECK-NOT: kiln.fusion_
// RULE-NOT: kiln.fusion
// RULE-LABEL: func.func @two_users
// RULE: linalg.generic
// RULE: arith.subf
// RULE: linalg.generic
// RULE: linalg.generic
func.func @two_users(%x: tensor<512x512xf32>, %m: tensor<512x512xf32>) -> (tensor<512x512xf32>, tensor<512x512xf32>) {
  %e = tensor.empty() : tensor<512x512xf32>
  %d = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : tensor<512x512xf32>, tensor<512x512xf32>) outs(%e : tensor<512x512xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<512x512xf32>
  %sq = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<512x512xf32>) outs(%e : tensor<512x512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<512x512xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d, %x : tensor<512x512xf32>, tensor<512x512xf32>) outs(%e : tensor<512x512xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<512x512xf32>
  return %sq, %sum : tensor<512x512xf32>, tensor<512x512xf32>
}

// A square root per row, divided into every element of the row (256 KiB,
// in cache: compute-bound): fusing would run the root 512 times per row.
// With a cost model it stays a loop over the rows; without one it is
// fused.
// CHECK-LABEL: func.func @broadcast_root
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel"]
// CHECK: math.sqrt
// CHECK: linalg.generic
// CHECK-NOT: math.sqrt
// CHECK: arith.divf
// RULE-LABEL: func.func @broadcast_root
// RULE: linalg.generic
// RULE-NOT: linalg.generic
// RULE: math.sqrt
// RULE: arith.divf
func.func @broadcast_root(%x: tensor<128x512xf32>, %v: tensor<128xf32>) -> tensor<128x512xf32> {
  %er = tensor.empty() : tensor<128xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%v : tensor<128xf32>) outs(%er : tensor<128xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.sqrt %a : f32
    linalg.yield %r : f32
  } -> tensor<128xf32>
  %e = tensor.empty() : tensor<128x512xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %s : tensor<128x512xf32>, tensor<128xf32>) outs(%e : tensor<128x512xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.divf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<128x512xf32>
  return %y : tensor<128x512xf32>
}

// RUN: %kiln_opt %s | %kiln_opt | FileCheck %s
// Round trip of kiln.attention and kiln.kv_append.

// CHECK-LABEL: func.func @grouped_causal
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 2.500000e-01 : f32} : tensor<1x4x3x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x8xf32>
func.func @grouped_causal(%q: tensor<1x4x3x16xf32>, %k: tensor<1x2x5x16xf32>,
                          %v: tensor<1x2x5x8xf32>) -> tensor<1x4x3x8xf32> {
  %y = kiln.attention %q, %k, %v {scale = 0.25 : f32, causal}
       : tensor<1x4x3x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x8xf32>
  return %y : tensor<1x4x3x8xf32>
}

// CHECK-LABEL: func.func @cache
// CHECK: %[[K:.*]] = kiln.kv_append %{{.*}}, %{{.*}}, %[[P:.*]] : tensor<1x2x64x16xf32>, tensor<1x2x1x16xf32>, tensor<i64>
// CHECK: kiln.attention %{{.*}}, %[[K]], %{{.*}} kv_length %{{.*}} {causal, scale = 2.500000e-01 : f32} : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<i64>
func.func @cache(%q: tensor<1x2x1x16xf32>, %kn: tensor<1x2x1x16xf32>,
                 %kc: tensor<1x2x64x16xf32>, %vc: tensor<1x2x64x16xf32>,
                 %pos: tensor<i64>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %k = kiln.kv_append %kc, %kn, %pos
       : tensor<1x2x64x16xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  %y = kiln.attention %q, %k, %vc kv_length %n {scale = 0.25 : f32, causal}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>,
         tensor<i64>
  return %y : tensor<1x2x1x16xf32>
}

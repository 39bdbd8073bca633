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
// CHECK: kiln.attention %{{.*}}, %[[K]], %{{.*}} kv_length(%{{.*}} : tensor<i64>) {causal, scale = 2.500000e-01 : f32} : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
func.func @cache(%q: tensor<1x2x1x16xf32>, %kn: tensor<1x2x1x16xf32>,
                 %kc: tensor<1x2x64x16xf32>, %vc: tensor<1x2x64x16xf32>,
                 %pos: tensor<i64>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %k = kiln.kv_append %kc, %kn, %pos
       : tensor<1x2x64x16xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  %y = kiln.attention %q, %k, %vc kv_length(%n : tensor<i64>)
       {scale = 0.25 : f32, causal}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return %y : tensor<1x2x1x16xf32>
}

// CHECK-LABEL: func.func @int8_cache
// CHECK: %[[K:.*]], %[[KS:.*]] = kiln.kv_append_quantized %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x2x64x16xi8>, tensor<1x2x64xf32>, tensor<1x2x1x16xf32>, tensor<i64>
// CHECK: kiln.attention %{{.*}}, %[[K]], %{{.*}} kv_length(%{{.*}} : tensor<i64>) key_scales(%[[KS]] : tensor<1x2x64xf32>) value_scales(%{{.*}} : tensor<1x2x64xf32>) {scale = 2.500000e-01 : f32} : tensor<1x2x1x16xf32>, tensor<1x2x64x16xi8>, tensor<1x2x64x16xi8>
func.func @int8_cache(%q: tensor<1x2x1x16xf32>, %kn: tensor<1x2x1x16xf32>,
                      %kc: tensor<1x2x64x16xi8>, %ks: tensor<1x2x64xf32>,
                      %vc: tensor<1x2x64x16xi8>, %vs: tensor<1x2x64xf32>,
                      %pos: tensor<i64>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %k, %s = kiln.kv_append_quantized %kc, %ks, %kn, %pos
       : tensor<1x2x64x16xi8>, tensor<1x2x64xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  %y = kiln.attention %q, %k, %vc kv_length(%n : tensor<i64>)
       key_scales(%s : tensor<1x2x64xf32>) value_scales(%vs : tensor<1x2x64xf32>)
       {scale = 0.25 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xi8>, tensor<1x2x64x16xi8>
  return %y : tensor<1x2x1x16xf32>
}

// CHECK-LABEL: func.func @qjl_cache
// CHECK: %[[B:.*]], %[[S:.*]], %[[R:.*]], %[[T:.*]] = kiln.kv_append_qjl %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[P:.*]] : tensor<1x2x64x4xi8>, tensor<1x2x64xf32>, tensor<1x2x8x16xf32>, tensor<8xi64>, tensor<1x2x1x16xf32>, tensor<i64>, tensor<16x32xf32>
// CHECK: kiln.attention %{{.*}}, %[[B]], %{{.*}} kv_length(%{{.*}} : tensor<i64>) key_scales(%[[S]] : tensor<1x2x64xf32>) value_scales(%{{.*}} : tensor<1x2x64xf32>) key_sketch(%[[P]] : tensor<16x32xf32>) recent_keys(%[[R]], %[[T]] : tensor<1x2x8x16xf32>, tensor<8xi64>) {scale = 2.500000e-01 : f32} : tensor<1x2x1x16xf32>, tensor<1x2x64x4xi8>, tensor<1x2x64x16xi8>
func.func @qjl_cache(%q: tensor<1x2x1x16xf32>, %kn: tensor<1x2x1x16xf32>,
                     %kb: tensor<1x2x64x4xi8>, %ks: tensor<1x2x64xf32>,
                     %kr: tensor<1x2x8x16xf32>, %kt: tensor<8xi64>,
                     %p: tensor<16x32xf32>,
                     %vc: tensor<1x2x64x16xi8>, %vs: tensor<1x2x64xf32>,
                     %pos: tensor<i64>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %b, %s, %r, %t = kiln.kv_append_qjl %kb, %ks, %kr, %kt, %kn, %pos, %p
       : tensor<1x2x64x4xi8>, tensor<1x2x64xf32>, tensor<1x2x8x16xf32>,
         tensor<8xi64>, tensor<1x2x1x16xf32>, tensor<i64>, tensor<16x32xf32>
  %y = kiln.attention %q, %b, %vc kv_length(%n : tensor<i64>)
       key_scales(%s : tensor<1x2x64xf32>) value_scales(%vs : tensor<1x2x64xf32>)
       key_sketch(%p : tensor<16x32xf32>)
       recent_keys(%r, %t : tensor<1x2x8x16xf32>, tensor<8xi64>)
       {scale = 0.25 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x4xi8>, tensor<1x2x64x16xi8>
  return %y : tensor<1x2x1x16xf32>
}

// CHECK-LABEL: func.func @grouped_values
// CHECK: %[[C:.*]], %[[S:.*]], %[[M:.*]] = kiln.kv_append_grouped %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64} : tensor<1x2x64x8xi8>, tensor<1x2x64x2xf32>, tensor<1x2x64x2xf32>, tensor<1x2x1x16xf32>, tensor<i64>
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %[[C]] kv_length(%{{.*}} : tensor<i64>) value_scales(%[[S]] : tensor<1x2x64x2xf32>) value_mins(%[[M]] : tensor<1x2x64x2xf32>) {scale = 2.500000e-01 : f32, value_bits = 4 : i64} : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x8xi8>
func.func @grouped_values(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x64x16xf32>,
                          %vc: tensor<1x2x64x8xi8>, %vs: tensor<1x2x64x2xf32>,
                          %vm: tensor<1x2x64x2xf32>, %vn: tensor<1x2x1x16xf32>,
                          %pos: tensor<i64>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %c, %s, %m = kiln.kv_append_grouped %vc, %vs, %vm, %vn, %pos {bits = 4 : i64}
       : tensor<1x2x64x8xi8>, tensor<1x2x64x2xf32>, tensor<1x2x64x2xf32>,
         tensor<1x2x1x16xf32>, tensor<i64>
  %y = kiln.attention %q, %k, %c kv_length(%n : tensor<i64>)
       value_scales(%s : tensor<1x2x64x2xf32>) value_mins(%m : tensor<1x2x64x2xf32>)
       {scale = 0.25 : f32, value_bits = 4 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x8xi8>
  return %y : tensor<1x2x1x16xf32>
}

// CHECK-LABEL: func.func @think
// CHECK: %[[O:.*]], %[[T:.*]] = kiln.kv_think_observe %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x2x5x16xf32>, tensor<5xi64>, tensor<1x4x1x16xf32>, tensor<i64>
// CHECK: %[[K:.*]], %[[C:.*]] = kiln.kv_think_prune %{{.*}}, %{{.*}}, %[[O]], %[[T]], %{{.*}} {choose, recent = 8 : i64, window = 4 : i64} : tensor<1x2x64x16xf32>, tensor<1x2x11xi64>, tensor<1x2x5x16xf32>, tensor<5xi64>, tensor<i64>
// CHECK: kiln.attention %{{.*}}, %[[K]], %{{.*}} kv_length(%{{.*}} : tensor<i64>) key_channels(%[[C]] : tensor<1x2x11xi64>) {causal, scale = 2.500000e-01 : f32}
func.func @think(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x64x16xf32>,
                 %v: tensor<1x2x64x16xf32>, %c: tensor<1x2x11xi64>,
                 %o: tensor<1x2x5x16xf32>, %t: tensor<5xi64>,
                 %pos: tensor<i64>, %n: tensor<i64>) -> tensor<1x4x1x16xf32> {
  %o2, %t2 = kiln.kv_think_observe %o, %t, %q, %pos
       : tensor<1x2x5x16xf32>, tensor<5xi64>, tensor<1x4x1x16xf32>, tensor<i64>
  %k2, %c2 = kiln.kv_think_prune %k, %c, %o2, %t2, %pos
       {recent = 8 : i64, window = 4 : i64, choose}
       : tensor<1x2x64x16xf32>, tensor<1x2x11xi64>, tensor<1x2x5x16xf32>,
         tensor<5xi64>, tensor<i64>
  %y = kiln.attention %q, %k2, %v kv_length(%n : tensor<i64>)
       key_channels(%c2 : tensor<1x2x11xi64>) {scale = 0.25 : f32, causal}
       : tensor<1x4x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return %y : tensor<1x4x1x16xf32>
}

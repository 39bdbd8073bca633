// kiln-fuse-attention: attention written op by op becomes kiln.attention
// when that is provably the same function; anything else stays.
// RUN: %kiln_opt %s -split-input-file --kiln-fuse-attention | FileCheck %s
// RUN: %kiln_opt %s -split-input-file --kiln-fuse-attention --kiln-kv-layout="max-seq-len=64" | FileCheck %s --check-prefix=KV

// GPT-2's form: scores / sqrt(d), Where(end-aligned causal mask, s, finfo.min).
// CHECK-LABEL: func.func @where_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x3x16xf32>, %[[K:.*]]: tensor<1x2x5x16xf32>, %[[V:.*]]: tensor<1x2x5x16xf32>)
// CHECK-NEXT: %[[Y:.*]] = kiln.attention %[[Q]], %[[K]], %[[V]] {causal, scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[Y]]
func.func @where_causal(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x16xf32>) -> tensor<1x2x3x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x5x16xf32> -> tensor<1x2x16x5xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x3x16xf32>, tensor<1x2x16x5xf32>
  %c = kiln.constant dense<4.0> : tensor<f32>
  %s2 = kiln.div %s, %c : tensor<1x2x3x5xf32>, tensor<f32>
  %m = kiln.constant dense<[[[[true, true, true, false, false], [true, true, true, true, false], [true, true, true, true, true]]]]> : tensor<1x1x3x5xi1>
  %min = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %s3 = kiln.where %m, %s2, %min : tensor<1x1x3x5xi1>, tensor<1x2x3x5xf32>, tensor<f32>
  %p = kiln.softmax %s3 {axis = 3 : i64} : tensor<1x2x3x5xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x3x5xf32>, tensor<1x2x5x16xf32>
  return %y : tensor<1x2x3x16xf32>
}

// -----

// Grouped heads: HF's repeat_kv (reshape, expand, reshape) of 2 kv heads to
// 4 is undone; Llama's additive mask (0 / -inf, broadcast from [S, L]).
// CHECK-LABEL: func.func @gqa_add_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x2x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>)
// CHECK-NOT: kiln.expand
// CHECK: %[[Y:.*]] = kiln.attention %[[Q]], %[[K]], %[[V]] {causal, scale = 5.000000e-01 : f32} : tensor<1x4x2x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
// CHECK-NOT: kiln.expand
// CHECK: return %[[Y]]
func.func @gqa_add_causal(%q: tensor<1x4x2x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x4x2x8xf32> {
  %k1 = kiln.reshape %k : tensor<1x2x4x8xf32> -> tensor<1x2x1x4x8xf32>
  %k2 = kiln.expand %k1 : tensor<1x2x1x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %kr = kiln.reshape %k2 : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %v1 = kiln.reshape %v : tensor<1x2x4x8xf32> -> tensor<1x2x1x4x8xf32>
  %v2 = kiln.expand %v1 : tensor<1x2x1x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %vr = kiln.reshape %v2 : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %kt = kiln.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : tensor<1x4x4x8xf32> -> tensor<1x4x8x4xf32>
  %s = kiln.matmul %q, %kt : tensor<1x4x2x8xf32>, tensor<1x4x8x4xf32>
  %c = kiln.constant dense<0.5> : tensor<1xf32>
  %s2 = kiln.mul %c, %s : tensor<1xf32>, tensor<1x4x2x4xf32>
  %m = kiln.constant dense<[[0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %s3 = kiln.add %s2, %m : tensor<1x4x2x4xf32>, tensor<2x4xf32>
  %p = kiln.softmax %s3 {axis = 3 : i64} : tensor<1x4x2x4xf32>
  %y = kiln.matmul %p, %vr : tensor<1x4x2x4xf32>, tensor<1x4x4x8xf32>
  return %y : tensor<1x4x2x8xf32>
}

// -----

// sqrt(scale) on q and on k^T (ONNX's own Attention body, PyTorch's SDPA
// export), k^T a [0, 2, 3, 1] transpose of [B, L, H, D]: the key becomes
// its [0, 2, 1, 3] transpose. No mask: not causal.
// CHECK-LABEL: func.func @scaled_q_k
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x3x16xf32>, %[[K:.*]]: tensor<2x3x4x16xf32>, %[[V:.*]]: tensor<2x4x3x16xf32>)
// CHECK: %[[KT:.*]] = kiln.transpose %[[K]] {perm = array<i64: 0, 2, 1, 3>} : tensor<2x3x4x16xf32> -> tensor<2x4x3x16xf32>
// CHECK: %[[Y:.*]] = kiln.attention %[[Q]], %[[KT]], %[[V]] {scale = 2.500000e-01 : f32}
// CHECK-NOT: kiln.softmax
func.func @scaled_q_k(%q: tensor<2x4x3x16xf32>, %k: tensor<2x3x4x16xf32>, %v: tensor<2x4x3x16xf32>) -> tensor<2x4x3x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 2, 3, 1>} : tensor<2x3x4x16xf32> -> tensor<2x4x16x3xf32>
  %c = kiln.constant dense<0.5> : tensor<f32>
  %qs = kiln.mul %q, %c : tensor<2x4x3x16xf32>, tensor<f32>
  %ks = kiln.mul %kt, %c : tensor<2x4x16x3xf32>, tensor<f32>
  %s = kiln.matmul %qs, %ks : tensor<2x4x3x16xf32>, tensor<2x4x16x3xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<2x4x3x3xf32>
  %y = kiln.matmul %p, %v : tensor<2x4x3x3xf32>, tensor<2x4x3x16xf32>
  return %y : tensor<2x4x3x16xf32>
}

// -----

// A decode step on a past/present cache: the (folded) one-row mask allows
// every key, which is the end-aligned causal mask for one query. After the
// fusion the concat feeds the attention directly, so kiln-kv-layout makes
// the cache state.
// CHECK-LABEL: func.func @decode
// CHECK: %[[KC:.*]] = kiln.concat
// CHECK: %[[VC:.*]] = kiln.concat
// CHECK: kiln.attention %{{.*}}, %[[KC]], %[[VC]] {causal, scale = 2.500000e-01 : f32} : tensor<1x4x1x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x16xf32>
// KV-LABEL: func.func @decode
// KV-SAME: %[[POS:[a-z0-9]+]]: tensor<i64> {kiln.name = "position", kiln.position}
// KV-SAME: %[[SK:[a-z0-9]+]]: tensor<1x2x64x16xf32> {kiln.name = "past.0.key", kiln.state}
// KV-SAME: %[[SV:[a-z0-9]+]]: tensor<1x2x64x16xf32> {kiln.name = "past.0.value", kiln.state}
// KV: %[[K:.*]] = kiln.kv_append %[[SK]]
// KV: %[[V:.*]] = kiln.kv_append %[[SV]]
// KV: kiln.attention %{{.*}}, %[[K]], %[[V]] kv_length(%{{.*}} : tensor<i64>) {causal, key_tiled, scale = 2.500000e-01 : f32}
// KV-NOT: kiln.concat
func.func @decode(%q: tensor<1x4x1x16xf32> {kiln.name = "q"},
                  %pk: tensor<1x2x5x16xf32> {kiln.name = "past.0.key"},
                  %pv: tensor<1x2x5x16xf32> {kiln.name = "past.0.value"},
                  %kn: tensor<1x2x1x16xf32> {kiln.name = "k"},
                  %vn: tensor<1x2x1x16xf32> {kiln.name = "v"})
    -> (tensor<1x4x1x16xf32> {kiln.name = "y"},
        tensor<1x2x6x16xf32> {kiln.name = "present.0.key"},
        tensor<1x2x6x16xf32> {kiln.name = "present.0.value"})
    attributes {kiln.entry} {
  %k = kiln.concat %pk, %kn {axis = 2 : i64} : tensor<1x2x5x16xf32>, tensor<1x2x1x16xf32> -> tensor<1x2x6x16xf32>
  %v = kiln.concat %pv, %vn {axis = 2 : i64} : tensor<1x2x5x16xf32>, tensor<1x2x1x16xf32> -> tensor<1x2x6x16xf32>
  %k1 = kiln.reshape %k : tensor<1x2x6x16xf32> -> tensor<1x2x1x6x16xf32>
  %k2 = kiln.expand %k1 : tensor<1x2x1x6x16xf32> -> tensor<1x2x2x6x16xf32>
  %kr = kiln.reshape %k2 : tensor<1x2x2x6x16xf32> -> tensor<1x4x6x16xf32>
  %v1 = kiln.reshape %v : tensor<1x2x6x16xf32> -> tensor<1x2x1x6x16xf32>
  %v2 = kiln.expand %v1 : tensor<1x2x1x6x16xf32> -> tensor<1x2x2x6x16xf32>
  %vr = kiln.reshape %v2 : tensor<1x2x2x6x16xf32> -> tensor<1x4x6x16xf32>
  %kt = kiln.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : tensor<1x4x6x16xf32> -> tensor<1x4x16x6xf32>
  %s = kiln.matmul %q, %kt : tensor<1x4x1x16xf32>, tensor<1x4x16x6xf32>
  %c = kiln.constant dense<4.0> : tensor<f32>
  %s2 = kiln.div %s, %c : tensor<1x4x1x6xf32>, tensor<f32>
  %m = kiln.constant dense<true> : tensor<1x1x1x6xi1>
  %min = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %s3 = kiln.where %m, %s2, %min : tensor<1x1x1x6xi1>, tensor<1x4x1x6xf32>, tensor<f32>
  %p = kiln.softmax %s3 {axis = 3 : i64} : tensor<1x4x1x6xf32>
  %y = kiln.matmul %p, %vr : tensor<1x4x1x6xf32>, tensor<1x4x6x16xf32>
  return %y, %k, %v : tensor<1x4x1x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x16xf32>
}

// -----

// A repeat that interleaves the kv heads (Tile: head h reads kv head
// h mod 2) is not a grouped-query layout: the attention reads the repeated
// keys and values.
// CHECK-LABEL: func.func @interleaved_repeat
// CHECK: %[[KR:.*]] = kiln.reshape %{{.*}} : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
// CHECK: %[[VR:.*]] = kiln.reshape %{{.*}} : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
// CHECK: kiln.attention %{{.*}}, %[[KR]], %[[VR]] {scale = 1.000000e+00 : f32} : tensor<1x4x2x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>
func.func @interleaved_repeat(%q: tensor<1x4x2x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x4x2x8xf32> {
  %k1 = kiln.reshape %k : tensor<1x2x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %k2 = kiln.expand %k1 : tensor<1x1x2x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %kr = kiln.reshape %k2 : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %v1 = kiln.reshape %v : tensor<1x2x4x8xf32> -> tensor<1x1x2x4x8xf32>
  %v2 = kiln.expand %v1 : tensor<1x1x2x4x8xf32> -> tensor<1x2x2x4x8xf32>
  %vr = kiln.reshape %v2 : tensor<1x2x2x4x8xf32> -> tensor<1x4x4x8xf32>
  %kt = kiln.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : tensor<1x4x4x8xf32> -> tensor<1x4x8x4xf32>
  %s = kiln.matmul %q, %kt : tensor<1x4x2x8xf32>, tensor<1x4x8x4xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x4x2x4xf32>
  %y = kiln.matmul %p, %vr : tensor<1x4x2x4xf32>, tensor<1x4x4x8xf32>
  return %y : tensor<1x4x2x8xf32>
}

// -----

// Expanded dims on both sides of a data dim (each head's rows, each row
// repeated twice too): not a head repeat either, the repeated tensors stay.
// CHECK-LABEL: func.func @split_repeat
// CHECK: %[[KR:.*]] = kiln.reshape %{{.*}} : tensor<1x2x2x2x2x8xf32> -> tensor<1x8x2x8xf32>
// CHECK: kiln.attention %{{.*}}, %[[KR]], %{{.*}} {scale = 1.000000e+00 : f32} : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>
func.func @split_repeat(%q: tensor<1x8x2x8xf32>, %k: tensor<1x2x2x8xf32>, %v: tensor<1x8x2x8xf32>) -> tensor<1x8x2x8xf32> {
  %k1 = kiln.reshape %k : tensor<1x2x2x8xf32> -> tensor<1x2x1x2x1x8xf32>
  %k2 = kiln.expand %k1 : tensor<1x2x1x2x1x8xf32> -> tensor<1x2x2x2x2x8xf32>
  %kr = kiln.reshape %k2 : tensor<1x2x2x2x2x8xf32> -> tensor<1x8x2x8xf32>
  %kt = kiln.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : tensor<1x8x2x8xf32> -> tensor<1x8x8x2xf32>
  %s = kiln.matmul %q, %kt : tensor<1x8x2x8xf32>, tensor<1x8x8x2xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x8x2x2xf32>
  %y = kiln.matmul %p, %v : tensor<1x8x2x2xf32>, tensor<1x8x2x8xf32>
  return %y : tensor<1x8x2x8xf32>
}

// -----

// Left alone: a causal mask aligned to the start of the keys (query i sees
// j <= i, not j <= L - S + i).
// CHECK-LABEL: func.func @start_aligned_mask
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @start_aligned_mask(%q: tensor<1x2x2x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>) -> tensor<1x2x2x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x16x3xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x2x16xf32>, tensor<1x2x16x3xf32>
  %m = kiln.constant dense<[[true, false, false], [true, true, false]]> : tensor<2x3xi1>
  %min = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %s2 = kiln.where %m, %s, %min : tensor<2x3xi1>, tensor<1x2x2x3xf32>, tensor<f32>
  %p = kiln.softmax %s2 {axis = 3 : i64} : tensor<1x2x2x3xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x2x3xf32>, tensor<1x2x3x16xf32>
  return %y : tensor<1x2x2x16xf32>
}

// -----

// Left alone: a masked value of -1e4 (old GPT-2 exports) does not make
// exp(masked - max) exactly 0, so the masked keys would still count.
// CHECK-LABEL: func.func @soft_mask_value
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @soft_mask_value(%q: tensor<1x2x2x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>) -> tensor<1x2x2x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x16x3xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x2x16xf32>, tensor<1x2x16x3xf32>
  %m = kiln.constant dense<[[true, true, false], [true, true, true]]> : tensor<2x3xi1>
  %min = kiln.constant dense<-1.0E+4> : tensor<f32>
  %s2 = kiln.where %m, %s, %min : tensor<2x3xi1>, tensor<1x2x2x3xf32>, tensor<f32>
  %p = kiln.softmax %s2 {axis = 3 : i64} : tensor<1x2x2x3xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x2x3xf32>, tensor<1x2x3x16xf32>
  return %y : tensor<1x2x2x16xf32>
}

// -----

// Left alone: a scale that differs per head is not a scalar, and a constant
// added that is neither 0 nor a mask value is not a mask.
// CHECK-LABEL: func.func @per_head_scale
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
// CHECK-LABEL: func.func @bias_not_mask
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @per_head_scale(%q: tensor<1x2x2x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>) -> tensor<1x2x2x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x16x3xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x2x16xf32>, tensor<1x2x16x3xf32>
  %c = kiln.constant dense<[[[[0.25]], [[0.5]]]]> : tensor<1x2x1x1xf32>
  %s2 = kiln.mul %s, %c : tensor<1x2x2x3xf32>, tensor<1x2x1x1xf32>
  %p = kiln.softmax %s2 {axis = 3 : i64} : tensor<1x2x2x3xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x2x3xf32>, tensor<1x2x3x16xf32>
  return %y : tensor<1x2x2x16xf32>
}
func.func @bias_not_mask(%q: tensor<1x2x2x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>) -> tensor<1x2x2x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x16x3xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x2x16xf32>, tensor<1x2x16x3xf32>
  %c = kiln.constant dense<0.5> : tensor<f32>
  %s2 = kiln.add %s, %c : tensor<1x2x2x3xf32>, tensor<f32>
  %p = kiln.softmax %s2 {axis = 3 : i64} : tensor<1x2x2x3xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x2x3xf32>, tensor<1x2x3x16xf32>
  return %y : tensor<1x2x2x16xf32>
}

// -----

// Left alone: softmax over the query axis.
// CHECK-LABEL: func.func @softmax_query_axis
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax %{{.*}} {axis = 2 : i64}
func.func @softmax_query_axis(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>) -> tensor<1x2x3x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x16x3xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x3x16xf32>, tensor<1x2x16x3xf32>
  %p = kiln.softmax %s {axis = 2 : i64} : tensor<1x2x3x3xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x16xf32>
  return %y : tensor<1x2x3x16xf32>
}

// -----

// Left alone: BERT's run-time mask (an input), and attention weights that
// are also returned (the softmax has a second reader).
// CHECK-LABEL: func.func @runtime_mask
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
// CHECK-LABEL: func.func @weights_returned
// CHECK-NOT: kiln.attention
// CHECK: kiln.softmax
func.func @runtime_mask(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>, %mask: tensor<1x1x1x3xf32>) -> tensor<1x2x3x16xf32> {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x16x3xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x3x16xf32>, tensor<1x2x16x3xf32>
  %s2 = kiln.add %s, %mask : tensor<1x2x3x3xf32>, tensor<1x1x1x3xf32>
  %p = kiln.softmax %s2 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x16xf32>
  return %y : tensor<1x2x3x16xf32>
}
func.func @weights_returned(%q: tensor<1x2x3x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>) -> (tensor<1x2x3x16xf32>, tensor<1x2x3x3xf32>) {
  %kt = kiln.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x3x16xf32> -> tensor<1x2x16x3xf32>
  %s = kiln.matmul %q, %kt : tensor<1x2x3x16xf32>, tensor<1x2x16x3xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %y = kiln.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x16xf32>
  return %y, %p : tensor<1x2x3x16xf32>, tensor<1x2x3x3xf32>
}

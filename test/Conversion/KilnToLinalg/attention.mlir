// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// Without kv_length: the decomposition. Two grouped query heads share one
// K/V head through a reshape of q (K/V are not repeated); the causal mask
// is a constant bias.
// CHECK-LABEL: func.func @static_causal
// CHECK:       tensor.expand_shape {{.*}} into tensor<1x1x6x8xf32>
// CHECK:       linalg.generic
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// Row r is query r % 3 at position 1 + r % 3: keys j <= 1 + r % 3.
// CHECK:       arith.constant dense<{{\[}}[true, true, false, false], [true, true, true, false], [true, true, true, true], [true, true, false, false], [true, true, true, false], [true, true, true, true]]> : tensor<6x4xi1>
// CHECK-NOT:   scf.for
func.func @static_causal(%q: tensor<1x2x3x8xf32>, %k: tensor<1x1x4x8xf32>,
                         %v: tensor<1x1x4x8xf32>) -> tensor<1x2x3x8xf32> {
  %y = kiln.attention %q, %k, %v {scale = 0.5 : f32, causal}
       : tensor<1x2x3x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>
  return %y : tensor<1x2x3x8xf32>
}

// -----

// With kv_length: (batch, head) pairs in an scf.forall, each writing its
// slice, its queries in a loop, and per query a loop over the allowed keys
// only, up to min(n, n - S + 1 + i), in blocks of 16 keys (one vector of
// scores, rows past the limit masked), with the online softmax in
// registers.
// CHECK-LABEL: func.func @cache
// CHECK:       %[[N:.*]] = arith.index_cast
// CHECK:       scf.forall (%{{.*}}, %{{.*}}) in (1, 4) shared_outs
// CHECK:         tensor.extract_slice {{.*}} [1, 1, 2, 16] [1, 1, 1, 1]
// CHECK:           scf.for %[[I:.*]] = {{.*}} iter_args
// CHECK:             arith.divui
// CHECK:             vector.transfer_read %arg0
// CHECK:             %[[LAST:.*]] = arith.addi %{{.*}}, %[[I]]
// CHECK:             %[[LIMIT:.*]] = arith.minsi %[[N]], %[[LAST]]
// CHECK:             scf.for %{{.*}} = %{{.*}} to %[[LIMIT]] step %c16{{.*}} iter_args
// CHECK:               vector.reduction <add>
// CHECK:               arith.cmpi slt
// CHECK:               arith.select
// CHECK:               vector.insert
// CHECK:               vector.reduction <maximumf>
// CHECK:               math.exp {{.*}} : f32
// CHECK:               math.exp {{.*}} : vector<16xf32>
// CHECK:               vector.fma
// CHECK:             } {kiln.max_trips = 4 : i64}
// CHECK:             arith.divf
// CHECK:             vector.transfer_write
// CHECK:         scf.forall.in_parallel
// CHECK:           tensor.parallel_insert_slice
func.func @cache(%q: tensor<1x4x2x16xf32>, %k: tensor<1x2x64x16xf32>,
                 %v: tensor<1x2x64x16xf32>, %n: tensor<i64>) -> tensor<1x4x2x16xf32> {
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
       {scale = 0.25 : f32, causal}
       : tensor<1x4x2x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return %y : tensor<1x4x2x16xf32>
}

// -----

// kv_append: the new rows inserted at the run-time position.
// CHECK-LABEL: func.func @append
// CHECK:       %[[P:.*]] = tensor.extract %arg2[] : tensor<i64>
// CHECK:       %[[R:.*]] = arith.index_cast %[[P]] : i64 to index
// CHECK:       tensor.insert_slice %arg1 into %arg0[0, 0, %[[R]], 0] [1, 2, 1, 16] [1, 1, 1, 1]
func.func @append(%c: tensor<1x2x64x16xf32>, %u: tensor<1x2x1x16xf32>,
                  %p: tensor<i64>) -> tensor<1x2x64x16xf32> {
  %r = kiln.kv_append %c, %u, %p
       : tensor<1x2x64x16xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return %r : tensor<1x2x64x16xf32>
}

// -----

// kv_append_quantized: row max |u| / 127 (1 for zeros), round half to even,
// clamp to +-127, then both inserted at the position.
// CHECK-LABEL: func.func @append_int8
// CHECK:       linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK:         math.absf
// CHECK:         arith.maximumf
// CHECK:       arith.cmpf oeq
// CHECK:       arith.select
// CHECK:       math.roundeven
// CHECK:       arith.fptosi {{.*}} : f32 to i8
// CHECK:       %[[R:.*]] = arith.index_cast
// CHECK:       tensor.insert_slice {{.*}} into %arg0[0, 0, %[[R]], 0] [1, 2, 1, 16] [1, 1, 1, 1] : tensor<1x2x1x16xi8> into tensor<1x2x64x16xi8>
// CHECK:       tensor.insert_slice {{.*}} into %arg1[0, 0, %[[R]]] [1, 2, 1] [1, 1, 1] : tensor<1x2x1xf32> into tensor<1x2x64xf32>
func.func @append_int8(%c: tensor<1x2x64x16xi8>, %s: tensor<1x2x64xf32>,
                       %u: tensor<1x2x1x16xf32>, %p: tensor<i64>)
    -> (tensor<1x2x64x16xi8>, tensor<1x2x64xf32>) {
  %r, %rs = kiln.kv_append_quantized %c, %s, %u, %p
       : tensor<1x2x64x16xi8>, tensor<1x2x64xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return %r, %rs : tensor<1x2x64x16xi8>, tensor<1x2x64xf32>
}

// -----

// QJL keys: the query projected once per row (an FMA per head-dim lane of
// P's rows), then keys before n - W scored from their packed bits (the
// bytes spread to lanes, each tested against its bit, pick +sq or -sq,
// times the key's scale), the
// W before the query (limit - W on) from the ring where the slot's tag is
// the key's position.
// CHECK-LABEL: func.func @qjl
// CHECK:       scf.forall
// CHECK:             %[[LIMIT:.*]] = arith.minsi
// CHECK:             %[[SQ:.*]] = scf.for {{.*}} -> (vector<32xf32>)
// CHECK:               vector.transfer_read %arg4{{.*}} vector<32xf32>
// CHECK:               vector.fma
// CHECK:             %[[NEG:.*]] = arith.negf %[[SQ]]
// CHECK:             %[[BEFORE:.*]] = arith.subi %[[LIMIT]], %c8
// CHECK:             %[[SPLIT:.*]] = arith.maxsi %{{.*}}, %[[BEFORE]]
// CHECK:             scf.for %{{.*}} = %{{.*}} to %[[SPLIT]] step
// CHECK:               vector.transfer_read %arg1{{.*}} vector<4xi8>
// CHECK:               vector.shuffle {{.*}} : vector<4xi8>, vector<4xi8>
// CHECK:               arith.andi {{.*}} : vector<32xi8>
// CHECK:               %[[SIGNS:.*]] = arith.cmpi ne, {{.*}} : vector<32xi8>
// CHECK:               arith.select %[[SIGNS]], %[[SQ]], %[[NEG]]
// CHECK:             } {kiln.max_trips = 4 : i64}
// CHECK:             scf.for %{{.*}} = %[[SPLIT]] to
// CHECK:               arith.remui
// CHECK:               tensor.extract %arg6
// CHECK:               arith.cmpi eq
// CHECK:               vector.transfer_read %arg5
// CHECK:             } {kiln.max_trips = 2 : i64}
func.func @qjl(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x64x4xi8>,
               %v: tensor<1x2x64x16xf32>, %ks: tensor<1x2x64xf32>,
               %p: tensor<16x32xf32>, %r: tensor<1x2x8x16xf32>,
               %t: tensor<8xi64>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
       key_scales(%ks : tensor<1x2x64xf32>) key_sketch(%p : tensor<16x32xf32>)
       recent_keys(%r, %t : tensor<1x2x8x16xf32>, tensor<8xi64>)
       {scale = 0.25 : f32, causal, recent_window = 8 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x4xi8>, tensor<1x2x64x16xf32>
  return %y : tensor<1x2x1x16xf32>
}

// -----

// kv_append_qjl: per new row k . P, its signs packed to bytes at the
// position, sqrt(pi/2)/m |k| beside them; the row whole into slot t % W,
// tagged t.
// CHECK-LABEL: func.func @append_qjl
// CHECK:       scf.for
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             %[[T:.*]] = arith.addi
// CHECK:             scf.for {{.*}} -> (vector<32xf32>)
// CHECK:               vector.fma
// CHECK:             %[[POS:.*]] = arith.cmpf ogt
// CHECK:             %[[BYTES:.*]] = vector.bitcast %[[POS]] : vector<32xi1> to vector<4xi8>
// CHECK:             math.sqrt
// CHECK:             arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK:             vector.transfer_write %[[BYTES]], %{{.*}}[%{{.*}}, %{{.*}}, %[[T]], %{{.*}}]
// CHECK:             tensor.insert
// CHECK:       arith.remui
// CHECK:       vector.transfer_write
// CHECK:       arith.remui
// CHECK:       arith.index_cast
// CHECK:       tensor.insert
func.func @append_qjl(%b: tensor<1x2x64x4xi8>, %s: tensor<1x2x64xf32>,
                      %r: tensor<1x2x8x16xf32>, %t: tensor<8xi64>,
                      %u: tensor<1x2x1x16xf32>, %pos: tensor<i64>,
                      %p: tensor<16x32xf32>)
    -> (tensor<1x2x64x4xi8>, tensor<1x2x64xf32>, tensor<1x2x8x16xf32>, tensor<8xi64>) {
  %0:4 = kiln.kv_append_qjl %b, %s, %r, %t, %u, %pos, %p
       : tensor<1x2x64x4xi8>, tensor<1x2x64xf32>, tensor<1x2x8x16xf32>,
         tensor<8xi64>, tensor<1x2x1x16xf32>, tensor<i64>, tensor<16x32xf32>
  return %0#0, %0#1, %0#2, %0#3 : tensor<1x2x64x4xi8>, tensor<1x2x64xf32>, tensor<1x2x8x16xf32>, tensor<8xi64>
}

// -----

// 4-bit values: each row's bytes split into low and high nibbles,
// interleaved back to channel order, then codes * scale + min with the
// group's scale and min spread over its channels.
// CHECK-LABEL: func.func @grouped_values
// CHECK:         arith.shrui %{{.*}} : vector<8xi8>
// CHECK:         vector.interleave %{{.*}}, %{{.*}} : vector<8xi8> -> vector<16xi8>
// CHECK:         arith.uitofp %{{.*}} : vector<16xi8> to vector<16xf32>
// CHECK:         vector.shuffle %{{.*}}, %{{.*}} [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1] : vector<2xf32>, vector<2xf32>
// CHECK:         vector.fma
func.func @grouped_values(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x64x16xf32>,
                          %v: tensor<1x2x64x8xi8>, %s: tensor<1x2x64x2xf32>,
                          %m: tensor<1x2x64x2xf32>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
       value_scales(%s : tensor<1x2x64x2xf32>) value_mins(%m : tensor<1x2x64x2xf32>)
       {scale = 0.25 : f32, value_bits = 4 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x8xi8>
  return %y : tensor<1x2x1x16xf32>
}

// -----

// kv_append_grouped: per group min and max, the codes rint((u - min) / s)
// clamped to [0, 15], packed: even channels | odd channels << 4.
// CHECK-LABEL: func.func @append_grouped
// CHECK:         vector.reduction <minimumf>
// CHECK:         vector.reduction <maximumf>
// CHECK:         math.roundeven
// CHECK:         arith.fptoui
// CHECK:         vector.insert_strided_slice {{.*}} {offsets = [8], strides = [1]} : vector<8xi8> into vector<16xi8>
// CHECK:         %[[E:.*]], %[[O:.*]] = vector.deinterleave %{{.*}} : vector<16xi8> -> vector<8xi8>
// CHECK:         %[[HI:.*]] = arith.shli %[[O]]
// CHECK:         arith.ori %[[E]], %[[HI]] : vector<8xi8>
func.func @append_grouped(%c: tensor<1x2x64x8xi8>, %s: tensor<1x2x64x2xf32>,
                          %m: tensor<1x2x64x2xf32>, %u: tensor<1x2x1x16xf32>,
                          %pos: tensor<i64>)
    -> (tensor<1x2x64x8xi8>, tensor<1x2x64x2xf32>, tensor<1x2x64x2xf32>) {
  %0:3 = kiln.kv_append_grouped %c, %s, %m, %u, %pos {bits = 4 : i64}
       : tensor<1x2x64x8xi8>, tensor<1x2x64x2xf32>, tensor<1x2x64x2xf32>,
         tensor<1x2x1x16xf32>, tensor<i64>
  return %0#0, %0#1, %0#2 : tensor<1x2x64x8xi8>, tensor<1x2x64x2xf32>, tensor<1x2x64x2xf32>
}

// -----

// key_tiled: a block of 16 keys' scores as one FMA per head-dim coordinate
// (a 16-key vector from row jb + 16 d / D, column 16 d % D), no horizontal
// sums; lanes past the limit masked by one vector compare.
// CHECK-LABEL: func.func @tiled
// CHECK:           scf.for %[[JB:.*]] = %{{.*}} to %{{.*}} step %c16{{.*}} iter_args
// CHECK-NOT:         vector.reduction <add>
// CHECK:             arith.cmpi slt, %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK:             vector.transfer_read %arg1[{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<1x2x64x16xf32>, vector<16xf32>
// CHECK:             vector.fma {{.*}} : vector<16xf32>
// CHECK:             vector.reduction <maximumf>
func.func @tiled(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x64x16xf32>,
                 %v: tensor<1x2x64x16xf32>, %n: tensor<i64>) -> tensor<1x2x1x16xf32> {
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
       {scale = 0.25 : f32, causal, key_tiled}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return %y : tensor<1x2x1x16xf32>
}

// -----

// key_tiled with 8 queries (a prefill chunk): the queries go 4 at a time,
// one pass over the keys for the 4 (their running max, sum and output row
// each: 12 loop values), each key-tile vector read once and multiplied
// into the 4 queries' scores.
// CHECK-LABEL: func.func @tiled_prefill
// CHECK:         scf.for %{{.*}} = %{{.*}} to %c8{{.*}} step %c4
// CHECK:           scf.for %{{.*}} step %c16{{.*}} -> (f32, f32, vector<16xf32>, f32, f32, vector<16xf32>, f32, f32, vector<16xf32>, f32, f32, vector<16xf32>)
// CHECK:             %[[KV:.*]] = vector.transfer_read %arg1[{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<1x2x64x16xf32>, vector<16xf32>
// CHECK-COUNT-4:     vector.fma %{{.*}}, %[[KV]], %{{.*}} : vector<16xf32>
// CHECK:             vector.transfer_read %arg1
func.func @tiled_prefill(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x64x16xf32>,
                         %v: tensor<1x2x64x16xf32>, %n: tensor<i64>) -> tensor<1x2x8x16xf32> {
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
       {scale = 0.25 : f32, causal, key_tiled}
       : tensor<1x2x8x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return %y : tensor<1x2x8x16xf32>
}

// -----

// kv_append {tiled}: each new key's coordinate d to row 16 (j / 16) +
// (16 d + j % 16) / D, column (16 d + j % 16) % D.
// CHECK-LABEL: func.func @append_tiled
// CHECK:       scf.for
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK:               arith.remui %{{.*}}, %c16
// CHECK:               arith.divui %{{.*}}, %c16
// CHECK:               tensor.extract
// CHECK:               tensor.insert
func.func @append_tiled(%c: tensor<1x2x64x16xf32>, %u: tensor<1x2x1x16xf32>,
                        %pos: tensor<i64>) -> tensor<1x2x64x16xf32> {
  %0 = kiln.kv_append %c, %u, %pos {tiled}
       : tensor<1x2x64x16xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return %0 : tensor<1x2x64x16xf32>
}

// -----

// A paged cache (block_table): per block of 16 keys one table lookup (the
// block, 16 keys, sits in one pool block) gives the pool block and the
// first row; the key tile and the 16 value rows are read there.
// CHECK-LABEL: func.func @paged
// CHECK:           scf.for %[[JB:.*]] = %{{.*}} to %{{.*}} step %c16{{.*}} iter_args
// CHECK:             %[[E:.*]] = tensor.extract %arg4[%{{.*}}] : tensor<4xi32>
// CHECK:             %[[B:.*]] = arith.index_cast %[[E]] : i32 to index
// CHECK:             vector.transfer_read %arg1[%[[B]], {{.*}}], {{.*}} : tensor<10x2x32x16xf32>, vector<16xf32>
// CHECK-NOT:         tensor.extract %arg4
// CHECK:             vector.transfer_read %arg2[%[[B]], {{.*}}], {{.*}} : tensor<10x2x32x16xf32>, vector<16xf32>
// CHECK:             scf.yield
func.func @paged(%q: tensor<1x2x1x16xf32>, %k: tensor<10x2x32x16xf32>,
                 %v: tensor<10x2x32x16xf32>, %n: tensor<i64>,
                 %table: tensor<4xi32>) -> tensor<1x2x1x16xf32> {
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
       block_table(%table : tensor<4xi32>)
       {scale = 0.25 : f32, causal, key_tiled}
       : tensor<1x2x1x16xf32>, tensor<10x2x32x16xf32>, tensor<10x2x32x16xf32>
  return %y : tensor<1x2x1x16xf32>
}

// -----

// kv_append with a block table: each new row t to row t % N of pool block
// table[t / N].
// CHECK-LABEL: func.func @append_paged
// CHECK:       scf.for %[[R:.*]] = %c0 to %c3 step %c1 iter_args(%[[C:.*]] = %arg0)
// CHECK:         %[[T:.*]] = arith.addi
// CHECK:         %[[E:.*]] = tensor.extract %arg3[%{{.*}}] : tensor<4xi32>
// CHECK:         %[[B:.*]] = arith.index_cast %[[E]] : i32 to index
// CHECK:         %[[L:.*]] = arith.remui %[[T]], %c32
// CHECK:         %[[ROW:.*]] = tensor.extract_slice %arg1[0, 0, %[[R]], 0] [1, 2, 1, 16] [1, 1, 1, 1]
// CHECK:         tensor.insert_slice %[[ROW]] into %[[C]][%[[B]], 0, %[[L]], 0] [1, 2, 1, 16] [1, 1, 1, 1]
func.func @append_paged(%c: tensor<10x2x32x16xf32>, %u: tensor<1x2x3x16xf32>,
                        %pos: tensor<i64>, %table: tensor<4xi32>)
    -> tensor<10x2x32x16xf32> {
  %0 = kiln.kv_append %c, %u, %pos block_table(%table : tensor<4xi32>)
       : tensor<10x2x32x16xf32>, tensor<1x2x3x16xf32>, tensor<i64>
  return %0 : tensor<10x2x32x16xf32>
}

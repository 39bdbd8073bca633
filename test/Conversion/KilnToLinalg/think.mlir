// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// kv_think_observe: a call of a private function (a prefill entry reads
// nothing it writes: as tensor ops in the entry they would be dead code),
// which writes each token's sum over its key/value head's two query heads
// (h * 2 + g) of q^2 into slot t % 5, then tags the slot t.
// CHECK-LABEL: func.func @observe
// CHECK:       %[[R:.*]]:2 = call @kiln_think_observe(%arg0, %arg1, %arg2, %arg3)
// CHECK:       return %[[R]]#0, %[[R]]#1
// CHECK:     func.func private @kiln_think_observe
// CHECK:           vector.transfer_read %arg2
// CHECK:           %[[SQ:.*]] = vector.fma %[[A:.*]], %[[A]], %{{.*}} : vector<16xf32>
// CHECK:           %[[B:.*]] = vector.transfer_read %arg2
// CHECK:           %[[SUM:.*]] = vector.fma %[[B]], %[[B]], %[[SQ]] : vector<16xf32>
// CHECK:           %[[SLOT:.*]] = arith.remui %{{.*}}, %c5
// CHECK:           vector.transfer_write %[[SUM]], %{{.*}}[%{{.*}}, %{{.*}}, %[[SLOT]], %{{.*}}]
// CHECK:       %[[TAG:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK:       tensor.insert %[[TAG]] into
func.func @observe(%o: tensor<1x2x5x16xf32>, %t: tensor<5xi64>,
                   %q: tensor<1x4x1x16xf32>, %pos: tensor<i64>)
    -> (tensor<1x2x5x16xf32>, tensor<5xi64>) {
  %o2, %t2 = kiln.kv_think_observe %o, %t, %q, %pos
       : tensor<1x2x5x16xf32>, tensor<5xi64>, tensor<1x4x1x16xf32>, tensor<i64>
  return %o2, %t2 : tensor<1x2x5x16xf32>, tensor<5xi64>
}

// -----

// kv_think_prune: the count read from the channels' last column (10) and
// clamped to the position; with `choose`, a channel choice under scf.if;
// rows [count, position - recent) read whole from the head's flat view
// at r * 16, gathered to the kept channels and written at r * 10; the new
// count into every head's last column.
// CHECK-LABEL: func.func @prune
// CHECK:       %[[OLD:.*]] = tensor.extract %arg1[%{{.*}}, %{{.*}}, %c10{{[_0-9]*}}]
// CHECK:       %[[P:.*]] = arith.minsi
// CHECK:       scf.if %{{.*}} -> (tensor<1x2x11xi64>)
// CHECK:         arith.cmpf ogt
// CHECK:         vector.reduction <add>
// CHECK:         tensor.insert %{{.*}} into %{{.*}} : tensor<1x2x11xi64>
// CHECK:       %[[FLAT:.*]] = tensor.collapse_shape %arg0 {{\[}}[0], [1], [2, 3]] : tensor<1x2x64x16xf32> into tensor<1x2x1024xf32>
// CHECK:       scf.for %[[ROW:.*]] = %[[P]] to
// CHECK:         %[[FROM:.*]] = arith.muli %[[ROW]], %c16
// CHECK:         %[[WHOLE:.*]] = vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %[[FROM]]]{{.*}} vector<16xf32>
// CHECK:         scf.for {{.*}} -> (vector<10xf32>)
// CHECK:           vector.extract %[[WHOLE]][%{{.*}}] : f32 from vector<16xf32>
// CHECK:         %[[TO:.*]] = arith.muli %[[ROW]], %c10
// CHECK:         vector.transfer_write %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %[[TO]]] {{.*}} : vector<10xf32>, tensor<1x2x1024xf32>
// CHECK:       tensor.expand_shape
// CHECK:       tensor.insert %{{.*}} into %{{.*}}[%{{.*}}, %{{.*}}, %c10{{.*}}] : tensor<1x2x11xi64>
func.func @prune(%k: tensor<1x2x64x16xf32>, %c: tensor<1x2x11xi64>,
                 %o: tensor<1x2x5x16xf32>, %t: tensor<5xi64>, %pos: tensor<i64>)
    -> (tensor<1x2x64x16xf32>, tensor<1x2x11xi64>) {
  %k2, %c2 = kiln.kv_think_prune %k, %c, %o, %t, %pos
       {recent = 8 : i64, window = 4 : i64, choose}
       : tensor<1x2x64x16xf32>, tensor<1x2x11xi64>, tensor<1x2x5x16xf32>,
         tensor<5xi64>, tensor<i64>
  return %k2, %c2 : tensor<1x2x64x16xf32>, tensor<1x2x11xi64>
}

// -----

// Pruned key rows: the scaled query gathered to the kept channels once
// per row (zero past 10 lanes, to 16), then each row j below the count
// (read per head from its last column) scored from two 8-lane reads at
// flat offsets j * 10 and j * 10 + 8 (lanes 10..15 read the next row's
// first channels, times the query's zeros); the rows from the count on
// are whole 16-lane reads of the cache.
// CHECK-LABEL: func.func @attention
// CHECK:       %[[FLAT:.*]] = tensor.collapse_shape %arg1 {{\[}}[0], [1], [2, 3]]
// CHECK:       scf.forall
// CHECK:         scf.for {{.*}} -> (vector<16xf32>)
// CHECK:           vector.extract %{{.*}}[%{{.*}}] : f32 from vector<16xf32>
// CHECK:         %[[COUNT:.*]] = tensor.extract %arg3[%{{.*}}, %{{.*}}, %c10{{[_0-9]*}}]
// CHECK:         %[[SPLIT:.*]] = arith.minsi
// CHECK:         scf.for %{{.*}} = %c0 to %[[SPLIT]] step %c16
// CHECK:           %[[J:.*]] = arith.muli %{{.*}}, %c10
// CHECK:           vector.transfer_read %[[FLAT]]{{.*}} : tensor<1x2x1024xf32>, vector<8xf32>
// CHECK:           %[[J8:.*]] = arith.addi %[[J]], %c8
// CHECK:           %[[B:.*]] = vector.transfer_read %[[FLAT]][%{{.*}}, %{{.*}}, %[[J8]]]{{.*}} : tensor<1x2x1024xf32>, vector<8xf32>
// CHECK:           vector.fma %{{.*}}, %[[B]], %{{.*}} : vector<8xf32>
// CHECK:         scf.for %{{.*}} = %[[SPLIT]] to
// CHECK:           vector.transfer_read %arg1{{.*}} : tensor<1x2x64x16xf32>, vector<16xf32>
func.func @attention(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x64x16xf32>,
                     %v: tensor<1x2x64x16xf32>, %c: tensor<1x2x11xi64>,
                     %n: tensor<i64>) -> tensor<1x4x1x16xf32> {
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>)
       key_channels(%c : tensor<1x2x11xi64>) {scale = 0.25 : f32, causal}
       : tensor<1x4x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return %y : tensor<1x4x1x16xf32>
}

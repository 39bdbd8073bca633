// The NCHW conv kernel with vectors over output channels
// (codegen/cpu/ConvChannelKernel.cpp), on AVX2's 8-lane vectors.
// RUN: %kiln_opt %s --split-input-file --kiln-lower-contractions="vector-bits=256 vector-registers=16" --canonicalize | FileCheck %s

// A 3x3 conv with a bias fill and a Relu after it: 5 pixels x 16 channels
// per tile (49 pixels = 9 tiles + 4: fewer cycles than 8 x 6 + 1), weights packed [F/16][C][KH][KW][16],
// the bias read once per channel into the accumulators' start, and the
// tile transposed in 8x8 blocks (3 shuffle steps of 8) so that each
// channel's 5 pixels are stored contiguously, after the Relu.
// CHECK: conv2d 20x8x3x3 stride 1 -> 1x20x7x7, tile 5 pixels x 16 channels (channel vectors) + fill + epilogue(maximumf)
// CHECK: memref.global "private" constant @w3_conv_packed : memref<2x8x3x3x16xf32>
// CHECK-LABEL: func.func @conv3x3
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c10)
// CHECK: vector.from_elements {{.*}} : vector<16xf32>
// CHECK-COUNT-18: vector.fma {{.*}} : vector<16xf32>
// CHECK: vector.shuffle {{.*}} [0, 1, 2, 3, 8, 9, 10, 11] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle {{.*}} [0, 1, 8, 9, 4, 5, 12, 13] : vector<8xf32>, vector<8xf32>
// CHECK: vector.shuffle {{.*}} [0, 8, 2, 10, 4, 12, 6, 14] : vector<8xf32>, vector<8xf32>
// CHECK: arith.maximumf {{.*}} : vector<5xf32>
// CHECK: vector.store {{.*}} : memref<1x20x49xf32>, vector<5xf32>
// The last pixel tile holds the last 4 pixels.
// CHECK: vector.store {{.*}} : memref<1x20x49xf32>, vector<4xf32>
#x = affine_map<(n, f, oh, ow, c, kh, kw) -> (n, c, oh + kh, ow + kw)>
#w = affine_map<(n, f, oh, ow, c, kh, kw) -> (f, c, kh, kw)>
#y = affine_map<(n, f, oh, ow, c, kh, kw) -> (n, f, oh, ow)>
#id = affine_map<(n, f, oh, ow) -> (n, f, oh, ow)>
#ch = affine_map<(n, f, oh, ow) -> (f)>
memref.global "private" constant @w3 : memref<20x8x3x3xf32> = dense<0.5>
memref.global "private" constant @b : memref<20xf32> = dense<0.25>
func.func @conv3x3(%x: memref<1x8x9x9xf32>, %y: memref<1x20x7x7xf32>) {
  %w = memref.get_global @w3 : memref<20x8x3x3xf32>
  %bias = memref.get_global @b : memref<20xf32>
  linalg.generic {indexing_maps = [#ch, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%bias : memref<20xf32>) outs(%y : memref<1x20x7x7xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : memref<1x8x9x9xf32>, memref<20x8x3x3xf32>) outs(%y : memref<1x20x7x7xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%y : memref<1x20x7x7xf32>) outs(%y : memref<1x20x7x7xf32>) {
  ^bb0(%v: f32, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %v, %z : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A deep 1x1 conv with no fill before it: K runs in blocks of 128 input
// channels, the partial sums of a group of pixel tiles parked in a stack
// buffer; the first block starts from Y (read per channel and transposed
// to pixel rows), the last one stores into Y. With one channel tile the 10
// pixel tiles form two groups of 5, so that 2 threads get an item each.
// CHECK: conv2d 16x384x1x1 stride 1 -> 1x16x7x7, tile 5 pixels x 16 channels (channel vectors), K blocks of 128 channels
// CHECK-LABEL: func.func @deep1x1
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c2) step (%c1)
// CHECK: llvm.intr.stacksave
// CHECK: %[[SCRATCH:.*]] = memref.alloca() {alignment = 64 : i64} : memref<5x5x16xf32>
// CHECK: scf.for %{{.*}} = %c0 to %c384 step %c128
// CHECK: vector.load {{.*}} : memref<1x16x49xf32>, vector<5xf32>
// CHECK: vector.shuffle
// CHECK: } else {
// CHECK: vector.load %[[SCRATCH]]{{.*}} : memref<5x5x16xf32>, vector<16xf32>
// CHECK: vector.fma
// CHECK: vector.store {{.*}} : memref<1x16x49xf32>, vector<5xf32>
// CHECK: } else {
// CHECK: vector.store {{.*}}, %[[SCRATCH]]{{.*}} : memref<5x5x16xf32>, vector<16xf32>
// CHECK: llvm.intr.stackrestore
#x1 = affine_map<(n, f, oh, ow, c, kh, kw) -> (n, c, oh + kh, ow + kw)>
#w1 = affine_map<(n, f, oh, ow, c, kh, kw) -> (f, c, kh, kw)>
#y1 = affine_map<(n, f, oh, ow, c, kh, kw) -> (n, f, oh, ow)>
memref.global "private" constant @w1 : memref<16x384x1x1xf32> = dense<0.5>
func.func @deep1x1(%x: memref<1x384x7x7xf32>, %y: memref<1x16x7x7xf32>) {
  %w = memref.get_global @w1 : memref<16x384x1x1xf32>
  linalg.generic {indexing_maps = [#x1, #w1, #y1], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%x, %w : memref<1x384x7x7xf32>, memref<16x384x1x1xf32>) outs(%y : memref<1x16x7x7xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

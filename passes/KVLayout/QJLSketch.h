//===- QJLSketch.h - the fixed Gaussian projection of QJL keys ----*- C++ -*-===//
//
// Part of kiln. QJL (techniques.md section 3) projects each key on m
// i.i.d. N(0, 1) directions shared by all keys of a layer. kiln draws them
// from a generator simple enough to restate anywhere (tests do, in NumPy):
//
//   splitmix64 from `seed`: x += 0x9E3779B97F4A7C15;
//     z = x; z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9;
//     z = (z ^ z >> 27) * 0x94D049BB133111EB; out = z ^ z >> 31
//   uniforms u = (out >> 11 + 1) * 2^-53, in (0, 1]
//   pairs (u1, u2) -> r = sqrt(-2 ln u1): r cos(2 pi u2), r sin(2 pi u2)
//     (Box-Muller, in double, rounded to f32)
//
// filling P [d, m] row by row (P[i, c] is draw i * m + c). Orthogonalized
// (QJL's `rot`, on by default in its released configuration): each block
// of d columns (the last maybe narrower) is then replaced by the Q of its
// QR decomposition with R's diagonal positive, times sqrt(d): the block's
// directions are orthogonal, each of squared norm d like a Gaussian's mean.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_KVLAYOUT_QJLSKETCH_H
#define KILN_PASSES_KVLAYOUT_QJLSKETCH_H

#include <cstdint>
#include <vector>

namespace mlir::kiln {

/// P [d, m], row-major: the projection a key k [d] is multiplied by (k . P).
std::vector<float> qjlSketch(int64_t d, int64_t m, uint64_t seed,
                             bool orthogonal);

/// Keys per group whose outlier channels QJL chooses together (its
/// released `group_size`; kiln-kv-layout's qjl-outliers).
constexpr int64_t kQJLOutlierGroup = 32;

} // namespace mlir::kiln

#endif // KILN_PASSES_KVLAYOUT_QJLSKETCH_H

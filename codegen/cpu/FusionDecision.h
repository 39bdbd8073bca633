//===- FusionDecision.h - fuse-or-not by predicted cost --------*- C++ -*-===//
//
// Part of kiln. The elementwise fusions that recompute work are decisions:
// a producer broadcast into a larger consumer recomputes its body once per
// consumer point, and a producer recomputed in each of its users replaces
// one write and several reads of its result by its own inputs' reads. Each
// side is measured as loop nests (LoopWork) and priced by the cost model.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_FUSIONDECISION_H
#define KILN_CODEGEN_CPU_FUSIONDECISION_H

#include "costmodel/CostModel.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>
#include <string>

namespace mlir::kiln {

/// The target the loops are priced for.
struct LoopTarget {
  unsigned vectorBits = 256;
  uint64_t l2Bytes = 1024 * 1024;
};

/// The points of `op`'s iteration space; nullopt unless it is an
/// all-parallel generic on tensors with static loop ranges.
std::optional<double> loopPoints(linalg::GenericOp op);

/// Whether `use` is an all-parallel generic the producer of its value can
/// be fused into (and so recomputed in).
bool isRecomputableUse(OpOperand &use);

/// `op` as a loop nest: its points, its body's ops and the bytes of its
/// operands and results. Nullopt unless it is an all-parallel generic on
/// statically shaped tensors.
std::optional<LoopWork> loopWorkOf(linalg::GenericOp op,
                                   const LoopTarget &target);

/// A user whose body would exceed this many ops with the producer
/// recomputed in it keeps the producer.
constexpr int64_t kMaxRecomputedBodyOps = 64;

/// A fusion that recomputes a producer, with both sides priced.
struct FusionVerdict {
  bool fuse = false;
  double fusedNs = 0, separateNs = 0;
  /// "recomputed in its 2 users: 1.20 us vs 1.90 us written once and read
  /// back" (for --report).
  std::string summary;
};

/// Whether `producer` should be fused into each of its all-parallel users
/// (the operands fusable with it), recomputed there; the producer itself
/// stays for its other users, if any. Nullopt when nothing is recomputed
/// (a single user over the producer's own points: fusing only saves) or
/// when the loops cannot be measured.
std::optional<FusionVerdict> judgeRecompute(linalg::GenericOp producer,
                                            const CostModel &model,
                                            const LoopTarget &target);

/// The op's name for a report: its ONNX node name if its location has
/// one, else its body's first op ("arith.subf").
std::string fusionSubjectName(linalg::GenericOp op);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_FUSIONDECISION_H

//===- FusionDecision.cpp - fuse-or-not by predicted cost -----------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/FusionDecision.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

ScalarOpKind scalarOpKind(Operation *op) {
  if (isa<arith::DivFOp, arith::DivSIOp, arith::DivUIOp, arith::RemFOp,
          arith::RemSIOp, arith::RemUIOp, arith::CeilDivSIOp,
          arith::FloorDivSIOp>(op))
    return ScalarOpKind::Divide;
  if (isa<math::SqrtOp, math::RsqrtOp>(op))
    return ScalarOpKind::SquareRoot;
  if (isa<math::AbsFOp, math::AbsIOp, math::FmaOp, math::CopySignOp,
          math::FloorOp, math::CeilOp, math::RoundOp, math::RoundEvenOp,
          math::TruncOp>(op))
    return ScalarOpKind::Simple;
  if (op->getDialect() && isa<math::MathDialect>(op->getDialect()))
    return ScalarOpKind::Transcendental;
  return ScalarOpKind::Simple;
}

/// The body's ops per point, in simple vector ops.
double bodyVectorOps(linalg::GenericOp op) {
  double ops = 0;
  for (Operation &inner : op.getBody()->without_terminator())
    if (!inner.hasTrait<OpTrait::ConstantLike>())
      ops += vectorOpWeight(scalarOpKind(&inner));
  return ops;
}

/// The body's ops (constants aside).
int64_t bodyOpCount(linalg::GenericOp op) {
  int64_t count = 0;
  for (Operation &inner : op.getBody()->without_terminator())
    count += inner.hasTrait<OpTrait::ConstantLike>() ? 0 : 1;
  return count;
}

/// Bytes of a statically shaped tensor (sub-byte elements rounded up to a
/// byte: that is how kiln stores them); nullopt for anything else.
std::optional<double> tensorBytes(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return type.isIntOrIndexOrFloat() ? std::optional<double>(0) : std::nullopt;
  if (!tensor.hasStaticShape())
    return std::nullopt;
  unsigned bits = tensor.getElementType().isIndex()
                      ? 64
                      : tensor.getElementType().getIntOrFloatBitWidth();
  return double(tensor.getNumElements()) * double((bits + 7) / 8);
}

/// Bytes of `values`, each distinct value once; nullopt if one is not a
/// statically shaped tensor or scalar.
std::optional<double> distinctBytes(ArrayRef<Value> values) {
  llvm::SmallPtrSet<void *, 8> seen;
  double bytes = 0;
  for (Value v : values) {
    if (!seen.insert(v.getAsOpaquePointer()).second)
      continue;
    std::optional<double> b = tensorBytes(v.getType());
    if (!b)
      return std::nullopt;
    bytes += *b;
  }
  return bytes;
}

/// Bytes `op` moves when it reads `inputs` (its own, or a fused set):
/// those, the inits its body reads, and its results; nullopt if one is not
/// statically shaped.
std::optional<double> loopBytes(linalg::GenericOp op,
                                SmallVector<Value> inputs) {
  for (OpOperand &init : op.getDpsInitsMutable())
    if (op.payloadUsesValueFromOperand(&init))
      inputs.push_back(init.get());
  std::optional<double> readBytes = distinctBytes(inputs);
  std::optional<double> written = distinctBytes(
      SmallVector<Value>(op->getResults().begin(), op->getResults().end()));
  if (!readBytes || !written)
    return std::nullopt;
  return *readBytes + *written;
}

bool isAllParallelTensorGeneric(linalg::GenericOp op) {
  return op && op.hasPureTensorSemantics() &&
         op.getNumLoops() == op.getNumParallelLoops();
}

/// `consumer`'s loop with `producer` recomputed at each of its operands
/// that read the producer's result.
std::optional<LoopWork> fusedLoopWork(linalg::GenericOp producer,
                                      linalg::GenericOp consumer,
                                      const LoopTarget &target) {
  std::optional<LoopWork> work = loopWorkOf(consumer, target);
  if (!work)
    return std::nullopt;
  Value result = producer->getResult(0);
  SmallVector<Value> reads;
  int recomputed = 0;
  for (OpOperand *input : consumer.getDpsInputOperands()) {
    if (input->get() == result)
      ++recomputed;
    else
      reads.push_back(input->get());
  }
  for (OpOperand *input : producer.getDpsInputOperands())
    reads.push_back(input->get());
  std::optional<double> bytes = loopBytes(consumer, reads);
  if (!bytes)
    return std::nullopt;
  work->bytes = *bytes;
  work->vectorOps += recomputed * bodyVectorOps(producer);
  return work;
}

std::string formatNs(double ns) {
  if (ns >= 1e6)
    return llvm::formatv("{0:f2} ms", ns / 1e6).str();
  if (ns >= 1e3)
    return llvm::formatv("{0:f2} us", ns / 1e3).str();
  return llvm::formatv("{0:f0} ns", ns).str();
}

std::string shapeText(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return "scalar";
  std::string text;
  for (int64_t d : tensor.getShape())
    text += (text.empty() ? "" : "x") + std::to_string(d);
  return text.empty() ? "scalar" : text;
}

} // namespace

std::optional<double> mlir::kiln::loopPoints(linalg::GenericOp op) {
  if (!isAllParallelTensorGeneric(op))
    return std::nullopt;
  double points = 1;
  for (int64_t extent : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(extent))
      return std::nullopt;
    points *= double(extent);
  }
  return points;
}

bool mlir::kiln::isRecomputableUse(OpOperand &use) {
  auto user = dyn_cast<linalg::GenericOp>(use.getOwner());
  return isAllParallelTensorGeneric(user) &&
         linalg::areElementwiseOpsFusable(&use);
}

std::optional<LoopWork> mlir::kiln::loopWorkOf(linalg::GenericOp op,
                                               const LoopTarget &target) {
  std::optional<double> points = loopPoints(op);
  if (!points)
    return std::nullopt;
  LoopWork work;
  work.vectorBits = target.vectorBits;
  work.l2Bytes = target.l2Bytes;
  work.iterations = *points;
  work.vectorOps = bodyVectorOps(op);
  SmallVector<Value> reads;
  for (OpOperand *input : op.getDpsInputOperands())
    reads.push_back(input->get());
  std::optional<double> bytes = loopBytes(op, reads);
  if (!bytes)
    return std::nullopt;
  work.bytes = *bytes;
  return work;
}

std::optional<FusionVerdict>
mlir::kiln::judgeRecompute(linalg::GenericOp producer, const CostModel &model,
                           const LoopTarget &target) {
  if (producer->getNumResults() != 1)
    return std::nullopt;
  std::optional<LoopWork> own = loopWorkOf(producer, target);
  if (!own)
    return std::nullopt;
  // Users the producer can fuse into, each once; any other use keeps it.
  SmallVector<linalg::GenericOp> users;
  bool stays = false;
  for (OpOperand &use : producer->getResult(0).getUses()) {
    if (!isRecomputableUse(use)) {
      stays = true;
      continue;
    }
    auto user = cast<linalg::GenericOp>(use.getOwner());
    if (!llvm::is_contained(users, user))
      users.push_back(user);
  }
  if (users.empty())
    return std::nullopt;
  double producerNs = model.predictLoop(*own).latencyNs;
  FusionVerdict verdict;
  verdict.separateNs = producerNs;
  verdict.fusedNs = stays ? producerNs : 0;
  double largestUser = 0;
  int64_t largestBody = 0;
  for (linalg::GenericOp user : users) {
    int64_t reads =
        llvm::count_if(user.getDpsInputOperands(), [&](OpOperand *o) {
          return o->get() == producer->getResult(0);
        });
    largestBody = std::max(largestBody,
                           bodyOpCount(user) + reads * bodyOpCount(producer));
    std::optional<LoopWork> asIs = loopWorkOf(user, target);
    std::optional<LoopWork> fused = fusedLoopWork(producer, user, target);
    if (!asIs || !fused)
      return std::nullopt;
    largestUser = std::max(largestUser, asIs->iterations);
    verdict.separateNs += model.predictLoop(*asIs).latencyNs;
    verdict.fusedNs += model.predictLoop(*fused).latencyNs;
  }
  // One use over the producer's own points: fusing only saves.
  if (producer->getResult(0).hasOneUse() && largestUser <= own->iterations)
    return std::nullopt;
  // Recomputing copies the producer's body into each user: chains of
  // producers with several users (an unrolled max-pool's window steps)
  // would grow without bound, tiny loops always paying off by the
  // roofline's per-loop overhead.
  bool tooLarge = largestBody > kMaxRecomputedBodyOps;
  verdict.fuse = !tooLarge && verdict.fusedNs <= verdict.separateNs;
  std::string userText =
      (users.size() == 1 ? std::string("its ")
                         : "its " + std::to_string(users.size()) + " ") +
      (stays ? "elementwise " : "") + (users.size() == 1 ? "user" : "users");
  std::string broadcast =
      largestUser > own->iterations
          ? " (broadcast to " +
                std::to_string(int64_t(largestUser / own->iterations)) +
                "x its points)"
          : "";
  std::string fusedText = formatNs(verdict.fusedNs) + " recomputed in " +
                          userText + broadcast +
                          (stays ? ", still written for the others" : "");
  std::string separateText =
      formatNs(verdict.separateNs) + " written once and read back";
  verdict.summary = verdict.fuse ? "fused: " + fusedText + " vs " + separateText
                                 : "kept: " + separateText + " vs " + fusedText;
  if (tooLarge)
    verdict.summary += "; a user's body would exceed " +
                       std::to_string(kMaxRecomputedBodyOps) + " ops";
  return verdict;
}

std::string mlir::kiln::fusionSubjectName(linalg::GenericOp op) {
  std::string name;
  op->getLoc()->walk([&](Location loc) {
    if (auto named = dyn_cast<NameLoc>(loc)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (name.empty()) {
    for (Operation &inner : op.getBody()->without_terminator())
      if (!inner.hasTrait<OpTrait::ConstantLike>()) {
        name = inner.getName().getStringRef().str();
        break;
      }
  }
  return name + " [" + shapeText(op->getResult(0).getType()) + "]";
}

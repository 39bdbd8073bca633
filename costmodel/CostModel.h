//===- CostModel.h - predicted cost of a kernel configuration -----*- C++ -*-===//
//
// Part of kiln. The interface passes and codegen use to rank candidate
// kernel configurations (and later other decisions). Implementations:
// AnalyticModel (roofline from peak FLOP/s and bandwidth + the op-energy
// table), XGBoostModel (trained on kernels kiln measured itself), and a
// deterministic stub for lit tests.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_COSTMODEL_H
#define KILN_COSTMODEL_COSTMODEL_H

#include "costmodel/KernelFeatures.h"
#include <memory>
#include <string>
#include <vector>

namespace mlir::kiln {

struct Estimate {
  double latencyNs = 0; // for a learned ranking model: a score, lower = faster
  double energyNj = 0;  // arithmetic energy (op-energy table)
};

/// A scalar op of an elementwise loop body, by what it costs per vector.
enum class ScalarOpKind {
  Simple,        // add, mul, fma, compare, select, min/max, casts
  Divide,        // divf, integer division and remainder
  SquareRoot,    // sqrt, rsqrt
  Transcendental // exp, log, tanh, erf, pow... (polynomials after
                 // kiln-approximate-math, or libm calls)
};

/// Its cost in simple vector ops: the reciprocal throughputs of vdivps
/// and vsqrtps against vaddps (~0.5 cycles) on Zen 3 and Ice Lake, and the
/// ~20 vector ops of kiln-approximate-math's exp polynomial with its range
/// reduction.
double vectorOpWeight(ScalarOpKind kind);

/// An all-parallel loop nest (an elementwise kernel, with whatever it
/// fused): what a fuse-or-not decision compares.
struct LoopWork {
  double iterations = 0; // points of the iteration space
  double vectorOps = 0;  // per point, in simple vector ops (vectorOpWeight)
  double bytes = 0;      // distinct bytes read and written
  unsigned vectorBits = 256;
  uint64_t l2Bytes = 1024 * 1024;
};

class CostModel {
public:
  virtual ~CostModel() = default;
  /// "analytic", "learned (x86-64-avx512.json)", "stub".
  virtual std::string name() const = 0;
  virtual Estimate predict(const KernelDesc &kernel) const = 0;
  /// Whether Estimate::latencyNs is a latency (else only a ranking score).
  virtual bool predictsLatency() const { return true; }
  /// A choice leaves the hand-written default for the predicted best only
  /// when that is predicted more than this fraction faster (see
  /// marginBeats): a model whose predictions are off by ~10% within a shape
  /// cannot tell closer candidates apart, and the default is the safer bet.
  virtual double decisionMargin() const { return 0; }
  /// Whether the model can judge `kernel` at all: a learned model says no
  /// outside the data it was trained on (trees do not extrapolate), and
  /// the caller keeps the hand-written config there.
  virtual bool covers(const KernelDesc &kernel) const { return true; }
  /// What covers() accepts, in words ("" when everything).
  virtual std::string coverage() const { return ""; }
  /// An elementwise loop nest. The default is a roofline over MachinePeaks
  /// (a learned model keeps it: its data holds contractions only).
  virtual Estimate predictLoop(const LoopWork &loop) const;
  /// Batch form for ranking candidates; the default calls predict().
  virtual std::vector<Estimate>
  predictBatch(const std::vector<KernelDesc> &kernels) const;
};

/// Peak rates of one core, measured or assumed.
struct MachinePeaks {
  double flopsPerNs = 96;      // fp32 FLOP per ns (2 FMA x 16 lanes x 3 GHz)
  double l2BytesPerNs = 96;    // L2 -> core
  double memoryBytesPerNs = 15; // DRAM, one core
  /// Per loop nest: its setup and the pass over its first cache lines.
  double loopOverheadNs = 50;
};

/// The roofline estimate of `loop` at `peaks` (the default predictLoop).
Estimate rooflineLoop(const LoopWork &loop, const MachinePeaks &peaks);

/// Roofline over the kernel's tile structure: compute at peak scaled by
/// the register tile's FMA share of its instructions, memory traffic per
/// level from the tile footprints.
std::unique_ptr<CostModel> createAnalyticModel(const MachinePeaks &peaks = {});

/// Deterministic, timing-free ranking for lit tests: prefers larger tiles,
/// then deeper K blocks.
std::unique_ptr<CostModel> createStubModel();

/// An XGBoost model saved as JSON by `kiln-costmodel train` (its file or
/// its text). Null and `error` set if it cannot be loaded or was trained on
/// another feature version.
std::unique_ptr<CostModel> loadXGBoostModel(const std::string &pathOrJson,
                                            std::string &error);

/// "analytic", "stub", "learned" (the model shipped for `vectorBits`-wide
/// x86-64; null with `error` empty when none ships) or a model file path.
/// Null with `error` set when a model cannot be loaded. A learned model is
/// loaded once per process and shared (the driver checks it, then two
/// passes use it; the shipped JSON takes tens of ms to parse); a file is
/// loaded again when its size or modification time changed.
std::shared_ptr<const CostModel> createCostModel(const std::string &spec,
                                                 unsigned vectorBits,
                                                 std::string &error);

/// Whether a candidate predicted at `best` ns should replace the default
/// predicted at `fallback` ns under `margin` (CostModel::decisionMargin).
inline bool marginBeats(double best, double fallback, double margin) {
  return best * (1 + margin) < fallback;
}

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_COSTMODEL_H

//===- LMul.cpp - kiln-lmul: choose the products that run as L-Mul --------===//
//
// Part of kiln. Sets `#kiln.lmul` on the float matmul / conv2d / mul ops in
// the requested scope; the numerics live in dialects/Kiln/LMulNumerics.h and
// the integer-add body in codegen/KilnToLinalg/LMul.cpp.
//
//===----------------------------------------------------------------------===//

#include "passes/LMul/Passes.h"

#include "dialects/Kiln/KilnAttrs.h"
#include "dialects/Kiln/KilnOps.h"
#include "passes/LMul/EnergyReport.h"
#include "passes/LMul/LMulScope.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLMULPASS
#include "passes/LMul/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

std::string_view view(StringRef s) { return {s.data(), s.size()}; }

struct KilnLMulPass : kiln::impl::KilnLMulPassBase<KilnLMulPass> {
  using KilnLMulPassBase::KilnLMulPassBase;

  void runOnOperation() override {
    KilnLMulPassOptions options{scope,     format,     mantissa, rounding,
                                objective, vectorBits, l2Bytes};
    std::string error;
    if (!validateLMulOptions(options, error)) {
      getOperation()->emitError("kiln-lmul: ") << error;
      return signalPassFailure();
    }
    LMulScope which = *parseLMulScope(scope);
    auto f = *lmul::lookupFormat(view(format));
    auto mode = LMulAttr::get(&getContext(), format,
                              mantissa ? unsigned(mantissa) : f.mantissaBits,
                              rounding);

    // With an objective, the cost model vets each op of the scope.
    std::optional<Objective> goal = parseObjective(view(objective));
    llvm::DenseMap<Operation *, OpWork> work;
    if (goal)
      for (const ArithmeticSite &site : collectArithmetic(getOperation()))
        work[site.op] = site.work();
    CpuThroughput cpu = CpuThroughput::forVector(vectorBits, l2Bytes);
    EnergyTable table = EnergyTable::horowitz45nm();
    unsigned bits = 1 + f.exponentBits + mode.getMantissa();

    getOperation()->walk([&](Operation *op) {
      bool mark = !op->hasAttr("lmul") && inLMulScope(op, which);
      if (mark && goal)
        mark = prefersLMul(work.lookup(op), bits, *goal, cpu, table);
      if (!mark)
        return;
      op->setAttr("lmul", mode);
      ++numMarked;
    });
  }
};
} // namespace

bool mlir::kiln::validateLMulOptions(const KilnLMulPassOptions &options,
                                     std::string &error) {
  if (!parseLMulScope(options.scope)) {
    error = "unknown scope '" + options.scope +
            "' (expected attention, matmul or all)";
    return false;
  }
  std::optional<lmul::Format> f = lmul::lookupFormat(options.format);
  if (!f) {
    error = "unknown format '" + options.format + "' (expected " +
            std::string(lmul::kFormatList) + ")";
    return false;
  }
  if (options.mantissa > f->mantissaBits) {
    error = "mantissa " + std::to_string(options.mantissa) +
            " is out of range for format '" + options.format + "' (1.." +
            std::to_string(f->mantissaBits) + ", or 0 for the format's own)";
    return false;
  }
  if (!lmul::parseRounding(options.rounding)) {
    error = "unknown rounding '" + options.rounding +
            "' (expected nearest or truncate)";
    return false;
  }
  if (!options.objective.empty() && !parseObjective(options.objective)) {
    error = "unknown objective '" + options.objective +
            "' (expected latency or energy)";
    return false;
  }
  return true;
}

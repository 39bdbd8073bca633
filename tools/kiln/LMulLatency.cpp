//===- LMulLatency.cpp - measured CPU latency with and without L-Mul ------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/LMulLatency.h"

#include "codegen/cpu/ObjectEmitter.h"
#include "tools/kiln/ModelRunner.h"
#include "tools/kiln/TempDir.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include <algorithm>
#include <chrono>

using namespace mlir::kiln;

namespace {
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// One timed run in milliseconds, or a negative value on failure.
double timeRun(kiln::ModelRunner &runner, std::string &error) {
  auto start = std::chrono::steady_clock::now();
  if (!runner.run(error))
    return -1;
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}
} // namespace

bool kiln::reportLMulLatency(mlir::MLIRContext &context,
                             const CompileOptions &options, int runs,
                             llvm::raw_ostream &os, std::string &error) {
  std::string why;
  if (!targetRunsOnHost(options.target, why)) {
    os << "kiln: L-Mul latency not measured: " << why
       << " (the builds would not run here)\n";
    return true;
  }
  ::kiln::TempDir temp("kiln-lmul-latency", error);
  if (temp.path().empty())
    return false;
  llvm::StringRef dir = temp.path();

  // The same compile as a shared library, without and with L-Mul.
  auto build = [&](const char *stem,
                   std::optional<KilnLMulPassOptions> lmul) -> std::string {
    CompileOptions variant = options;
    variant.emit = EmitKind::SharedLibrary;
    variant.outputPath = (dir + "/" + stem + ".so").str();
    variant.name = stem;
    variant.lmul = lmul;
    variant.energyReport = nullptr;
    variant.timings = nullptr;
    variant.externalWeights = false;
    // An fp32 and an L-Mul build: --precision=bf16 would make the first
    // not fp32 and warn that the second has nothing to convert.
    variant.bf16 = false;
    // The graph as exported (no KV-cache state): both variants alike, and
    // no cache warnings from the L-Mul one, whose marked matmuls attention
    // fusion leaves alone.
    variant.kvLayout = std::nullopt;
    variant.prefillTokens = 0;
    variant.prefillDim.clear();
    variant.import.warnUnusedCheckpointTensors = false; // the real compile's
    CompileResult result;
    return mlir::succeeded(compileModel(context, variant, result))
               ? variant.outputPath
               : std::string();
  };
  std::optional<KilnLMulPassOptions> lmul = options.lmul;
  std::string what = "as this compile places it";
  if (!lmul) {
    lmul.emplace();
    lmul->scope = "matmul";
    what = "--lmul=matmul";
  }
  std::string fp32Path = build("fp32", std::nullopt);
  std::string lmulPath = fp32Path.empty() ? "" : build("lmul", lmul);
  if (lmulPath.empty())
    return false;

  ModelRunner fp32, withLMul;
  if (!fp32.load(fp32Path, 1, error) || !withLMul.load(lmulPath, 1, error) ||
      !fp32.setInputs({}, /*fillMissing=*/true, error) ||
      !withLMul.setInputs({}, /*fillMissing=*/true, error))
    return false;
  // Warm up both, then alternate so drift in the machine's load hits both.
  if (timeRun(fp32, error) < 0 || timeRun(withLMul, error) < 0)
    return false;
  std::vector<double> fp32Ms, lmulMs;
  for (int i = 0; i < runs; ++i) {
    double a = timeRun(fp32, error), b = timeRun(withLMul, error);
    if (a < 0 || b < 0)
      return false;
    fp32Ms.push_back(a);
    lmulMs.push_back(b);
  }
  double f = median(fp32Ms), l = median(lmulMs);
  os << llvm::format("kiln: measured latency on this CPU (1 thread, median of "
                     "%d alternating runs): fp32 %.3f ms, L-Mul (%s) %.3f ms "
                     "(%.2fx)\n",
                     runs, f, what.c_str(), l, f > 0 ? l / f : 0.0)
     << "kiln:   on a CPU L-Mul is an integer-SIMD emulation of the "
        "product: it saves energy only on hardware with an L-Mul adder "
        "datapath, and here it costs the time above\n";
  return true;
}

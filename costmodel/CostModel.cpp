//===- CostModel.cpp - analytic and stub models, model selection ----------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "costmodel/CostModel.h"

#include "costmodel/EnergyTable.h"
#include "costmodel/ShippedModels.h"
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>

using namespace mlir::kiln;

std::vector<Estimate>
CostModel::predictBatch(const std::vector<KernelDesc> &kernels) const {
  std::vector<Estimate> out;
  out.reserve(kernels.size());
  for (const KernelDesc &k : kernels)
    out.push_back(predict(k));
  return out;
}

double mlir::kiln::vectorOpWeight(ScalarOpKind kind) {
  switch (kind) {
  case ScalarOpKind::Simple:
    return 1;
  case ScalarOpKind::Divide:
    return 8;
  case ScalarOpKind::SquareRoot:
    return 12;
  case ScalarOpKind::Transcendental:
    return 20;
  }
  return 1;
}

Estimate mlir::kiln::rooflineLoop(const LoopWork &loop,
                                  const MachinePeaks &peaks) {
  // flopsPerNs counts FMA lanes of 512-bit vectors on two ports: the rate
  // of simple vector ops too, scaled to the loop's vector width.
  double laneOpsPerNs = peaks.flopsPerNs * double(loop.vectorBits) / 512.0;
  double compute = loop.iterations * loop.vectorOps / laneOpsPerNs;
  double rate = loop.bytes <= double(loop.l2Bytes) ? peaks.l2BytesPerNs
                                                   : peaks.memoryBytesPerNs;
  double memory = loop.bytes / rate;
  EnergyTable table = EnergyTable::horowitz45nm();
  return {std::max(compute, memory) + peaks.loopOverheadNs,
          loop.iterations * loop.vectorOps * table.fp32Add * 1e-3};
}

Estimate CostModel::predictLoop(const LoopWork &loop) const {
  return rooflineLoop(loop, MachinePeaks{});
}

namespace {
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Arithmetic energy of a contraction: one product and one add per MAC.
double contractionEnergyNj(const KernelDesc &d) {
  EnergyTable table = EnergyTable::horowitz45nm();
  double macs = double(d.batch) * d.m * d.n * d.k;
  return macs * (table.fp32Mul + table.fp32Add) * 1e-3;
}

class AnalyticModel : public CostModel {
public:
  explicit AnalyticModel(const MachinePeaks &peaks) : peaks(peaks) {}
  std::string name() const override { return "analytic"; }

  Estimate predict(const KernelDesc &d) const override {
    int64_t lanes = std::max<int64_t>(1, d.vectorBits / 32);
    int64_t nrVec = std::max<int64_t>(1, d.nr / lanes);
    int64_t panels = ceilDiv(d.n, d.nr), rowTiles = ceilDiv(d.m, d.mr);
    int64_t kBlocks = ceilDiv(d.k, d.kc);
    // Peak scales with the vector width the kernel uses.
    double peak = peaks.flopsPerNs * double(lanes) / 16.0;
    // Per K step the tile issues mr * nrVec FMAs against mr broadcasts and
    // nrVec loads (two load ports, two FMA ports); it also needs enough
    // independent accumulators to cover the FMA latency (4 cycles x 2).
    double fmas = double(d.mr * nrVec);
    double issue = std::min(1.0, fmas / double(d.mr + nrVec));
    double latency = std::min(1.0, fmas / 8.0);
    double spill = d.mr * nrVec + nrVec + 1 > int64_t(d.vectorRegisters) ? 0.4 : 1.0;
    // Ragged tiles compute padding lanes too.
    double padded = double(rowTiles * d.mr) * double(panels * d.nr);
    double flops = 2.0 * d.batch * padded * d.k;
    double workers = std::max(1.0, std::min(double(d.threads),
                                            double(d.batch * panels)));
    double compute = flops / (peak * issue * latency * spill) / workers;

    // Traffic: B streams once (from memory if constant weights), A row
    // blocks once per panel, C tiles twice per K block; the levels they
    // come from depend on whether their working sets fit in L2.
    double aBytes = 4.0 * d.batch * d.m * d.k, bBytes = 4.0 * d.batch * d.k * d.n;
    double cBytes = 4.0 * d.batch * d.m * d.n;
    auto rate = [&](double workingSet) {
      return workingSet <= double(d.l2Bytes) ? peaks.l2BytesPerNs
                                             : peaks.memoryBytesPerNs;
    };
    double memory = bBytes / peaks.memoryBytesPerNs +
                    aBytes * double(panels) / rate(aBytes / d.batch) +
                    cBytes * 2.0 * double(kBlocks) / rate(cBytes / d.batch);
    memory /= workers;
    // Loop and tile overhead: ~20 cycles per register tile per K block.
    double overhead = double(d.batch * panels * rowTiles * kBlocks) * 20.0 /
                      3.0 / workers;
    return {std::max(compute, memory) + overhead, contractionEnergyNj(d)};
  }

  Estimate predictLoop(const LoopWork &loop) const override {
    return rooflineLoop(loop, peaks);
  }

private:
  MachinePeaks peaks;
};

class StubModel : public CostModel {
public:
  std::string name() const override { return "stub"; }
  Estimate predict(const KernelDesc &d) const override {
    double tile = double(d.mr * d.nr);
    return {1e9 / (tile * 1024.0 + double(std::min<int64_t>(d.kc, d.k))),
            contractionEnergyNj(d)};
  }
};
} // namespace

std::unique_ptr<CostModel>
mlir::kiln::createAnalyticModel(const MachinePeaks &peaks) {
  return std::make_unique<AnalyticModel>(peaks);
}

std::unique_ptr<CostModel> mlir::kiln::createStubModel() {
  return std::make_unique<StubModel>();
}

namespace {
/// Learned models loaded so far, by what identifies their contents. Never
/// freed: XGBoost's own statics may be gone by the time this map's
/// destructor would run at exit.
std::shared_ptr<const CostModel> loadLearnedOnce(const std::string &key,
                                                 const std::string &pathOrJson,
                                                 std::string &error) {
  static std::mutex mutex;
  static auto *loaded =
      new std::map<std::string, std::shared_ptr<const CostModel>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded->find(key);
  if (it != loaded->end())
    return it->second;
  std::shared_ptr<const CostModel> model = loadXGBoostModel(pathOrJson, error);
  if (model)
    loaded->emplace(key, model);
  return model;
}
} // namespace

std::shared_ptr<const CostModel>
mlir::kiln::createCostModel(const std::string &spec, unsigned vectorBits,
                            std::string &error) {
  if (spec.empty() || spec == "analytic")
    return createAnalyticModel();
  if (spec == "stub")
    return createStubModel();
  if (spec == "learned") {
    const char *json = shippedModelFor(vectorBits);
    if (!json)
      return nullptr; // none ships for this target: the caller's default
    return loadLearnedOnce("shipped:" + std::to_string(vectorBits), json,
                           error);
  }
  std::error_code ec, timeEc;
  uintmax_t size = std::filesystem::file_size(spec, ec);
  auto modified = std::filesystem::last_write_time(spec, timeEc);
  if (ec || timeEc)
    return loadXGBoostModel(spec, error); // reports what is wrong with it
  std::string key = "file:" + spec + ":" + std::to_string(size) + ":" +
                    std::to_string(modified.time_since_epoch().count());
  return loadLearnedOnce(key, spec, error);
}

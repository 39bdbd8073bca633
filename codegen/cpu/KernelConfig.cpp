//===- KernelConfig.cpp - tile sizes for CPU kernels ----------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/KernelConfig.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <cstdio>
#include <numeric>

using namespace mlir::kiln;

ContractionConfig mlir::kiln::chooseContractionConfig(
    const ContractionShape &shape, const CpuTarget &target, bool blocksK) {
  ContractionConfig c;
  int64_t lanes = target.vectorBits / 32;
  // Two vectors of columns; the rows use what is left of the register file
  // after the two B vectors and a broadcast temporary.
  c.nr = 2 * lanes;
  int64_t accumulatorsPerRow = 2;
  if (shape.n <= lanes) {
    // Narrow outputs: one vector per row, twice the rows.
    c.nr = lanes;
    accumulatorsPerRow = 1;
  }
  int64_t freeRegisters = int64_t(target.vectorRegisters) - 4;
  c.mr = std::max<int64_t>(1, freeRegisters / accumulatorsPerRow);
  // Measured on AVX-512 (1024^3, bench/perf): 10 rows x 2 vectors with
  // kc = 512 beat 14 x 2 with kc = 192 by ~12% (fewer C reloads, fewer
  // broadcast streams).
  c.mr = std::min<int64_t>(c.mr, 10);
  c.mr = std::min(c.mr, shape.m);
  // K block: a B block (kc x nr) of about 1/16 of L2, at most 512 deep.
  c.kc = std::clamp<int64_t>((target.l2Bytes / 16) / (c.nr * 4), 64, 512);
  if (!blocksK || shape.k <= c.kc) {
    c.kc = shape.k;
    return c;
  }
  // As many blocks as that takes, of equal depth (a multiple of 8): every
  // block reloads and stores C, and a short last block pays that for
  // little work. Measured on Zen 3, GPT-2's 128x768x50257 logits matmul
  // (C 25 MiB, past L2), 1 thread: kc 512 (512 + 256) 164-175 ms, kc 384
  // 156-162; shapes whose C stays in cache time the same either way.
  int64_t blocks = (shape.k + c.kc - 1) / c.kc;
  c.kc = ((shape.k + blocks - 1) / blocks + 7) / 8 * 8;
  return c;
}

std::vector<ContractionConfig>
mlir::kiln::contractionCandidates(const ContractionShape &shape,
                                  const CpuTarget &target, bool blocksK) {
  int64_t lanes = std::max<unsigned>(1, target.vectorBits / 32);
  // K blocks up to 512, and deeper ones (768, 1024, all of K) while the
  // B block (kc x nr floats) stays within kMaxDeepBlockBytes: a block
  // that outgrows L1 is still read from L2 at the FMA's pace, and each
  // K block costs a load and store of the tile's C rows. Measured on Zen 3
  // (1 thread): GPT-2's 128x768x50257 logits matmul at 6x16 ran 150 ms
  // with kc 128, 128-137 with 512, 112-125 with all 768 (ORT 115).
  constexpr int64_t kMaxDeepBlockBytes = 64 * 1024;
  auto kcsFor = [&](int64_t nr) {
    if (!blocksK || shape.k <= 64)
      return std::vector<int64_t>{shape.k};
    std::vector<int64_t> kcs;
    auto fits = [&](int64_t kc) {
      return kc <= 512 || kc * nr * 4 <= kMaxDeepBlockBytes;
    };
    for (int64_t kc : {64, 128, 192, 256, 384, 512, 768, 1024})
      if (kc < shape.k && fits(kc))
        kcs.push_back(kc);
    if (fits(shape.k))
      kcs.push_back(shape.k);
    return kcs;
  };
  std::vector<ContractionConfig> out;
  int64_t maxVectors = std::max<int64_t>(1, (shape.n + lanes - 1) / lanes);
  // 1, 2 or 4 vectors: a row of the tile is one nr-wide vector, and LLVM
  // widens a 3-vector row to 4 registers, so 3 x 8 lanes on AVX2 spills
  // (measured: a 4x24 conv tile 5.7x slower than 4x16 on Zen 3).
  for (int64_t vectors = 1; vectors <= std::min<int64_t>(4, maxVectors);
       vectors *= 2) {
    // Accumulators + the B vectors + one broadcast register.
    int64_t rows = (int64_t(target.vectorRegisters) - vectors - 1) / vectors;
    std::vector<int64_t> kcs = kcsFor(vectors * lanes);
    for (int64_t mr = 1; mr <= std::min(rows, shape.m); ++mr) {
      if (mr > 4 && mr % 2 && mr != std::min(rows, shape.m))
        continue; // odd row counts past 4 add little but cost time
      for (int64_t kc : kcs)
        out.push_back({mr, vectors * lanes, kc});
    }
  }
  return out;
}

KernelDesc mlir::kiln::describeKernel(const ContractionShape &shape,
                                      KernelKind kind,
                                      const ContractionConfig &config,
                                      const CpuTarget &target) {
  KernelDesc d;
  d.kind = kind;
  d.batch = shape.batch;
  d.m = shape.m;
  d.n = shape.n;
  d.k = shape.k;
  d.mr = config.mr;
  d.nr = config.nr;
  d.kc = config.kc;
  d.vectorBits = target.vectorBits;
  d.vectorRegisters = target.vectorRegisters;
  d.l1Bytes = target.l1Bytes;
  d.l2Bytes = target.l2Bytes;
  return d;
}

ContractionChoice mlir::kiln::chooseContraction(
    const ContractionShape &shape, KernelKind kind, const CpuTarget &target,
    const KernelChoiceOptions &options) {
  if (options.forced)
    return {*options.forced, "forced"};
  if (!options.model)
    return {chooseContractionConfig(shape, target), ""};
  ContractionConfig fallback =
      chooseContractionConfig(shape, target, kind != KernelKind::Conv);
  // Beyond what a learned model was trained on its ranking is a guess;
  // the hand-written config is the better bet (unless a shared weight
  // fixed another panel width, which only the ranking below honours).
  KernelDesc handWritten = describeKernel(shape, kind, fallback, target);
  if (!options.model->covers(handWritten) &&
      (!options.nr || *options.nr == fallback.nr)) {
    std::string why;
    llvm::raw_string_ostream os(why);
    os << options.model->name() << ": beyond the shapes it was trained on ("
       << options.model->coverage() << "); kept the hand-written "
       << fallback.mr << "x" << fallback.nr << "/" << fallback.kc;
    return {fallback, why};
  }
  std::vector<ContractionConfig> candidates =
      contractionCandidates(shape, target, kind != KernelKind::Conv);
  if (options.nr) {
    std::vector<ContractionConfig> sameWidth;
    for (const ContractionConfig &c : candidates)
      if (c.nr == *options.nr)
        sameWidth.push_back(c);
    if (!sameWidth.empty())
      candidates.swap(sameWidth);
  }
  std::vector<KernelDesc> kernels;
  for (const ContractionConfig &c : candidates)
    kernels.push_back(describeKernel(shape, kind, c, target));
  std::vector<Estimate> cost = options.model->predictBatch(kernels);
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return cost[a].latencyNs < cost[b].latencyNs;
  });
  // The hand-written config stays unless the predicted best beats it by
  // more than the model's decision margin.
  size_t pick = order.front();
  auto isFallback = [&](const ContractionConfig &c) {
    return c.mr == fallback.mr && c.nr == fallback.nr && c.kc == fallback.kc;
  };
  auto it = std::find_if(candidates.begin(), candidates.end(), isFallback);
  bool keptFallback = false;
  if (options.model->predictsLatency() && options.model->decisionMargin() > 0 &&
      it != candidates.end()) {
    size_t f = it - candidates.begin();
    if (!marginBeats(cost[pick].latencyNs, cost[f].latencyNs,
                     options.model->decisionMargin())) {
      keptFallback = pick != f;
      pick = f;
    }
  }
  std::string summary;
  llvm::raw_string_ostream os(summary);
  os << options.model->name() << ", " << candidates.size() << " candidates"
     << (options.nr ? " of the shared weights' panel width" : "")
     << " (mr x nr / kc: predicted):";
  for (size_t i = 0; i < std::min<size_t>(5, order.size()); ++i) {
    const ContractionConfig &c = candidates[order[i]];
    os << " " << c.mr << "x" << c.nr << "/" << c.kc << ": "
       << llvm::format("%.4g", cost[order[i]].latencyNs);
  }
  if (order.size() > 5)
    os << " ...";
  if (keptFallback)
    os << "; kept the hand-written " << fallback.mr << "x" << fallback.nr
       << "/" << fallback.kc << " (predicted "
       << llvm::format("%.4g", cost[pick].latencyNs) << ", within the "
       << llvm::format("%.0f", 100 * options.model->decisionMargin())
       << "% margin)";
  return {candidates[pick], summary};
}

std::optional<ContractionConfig>
mlir::kiln::parseContractionConfig(const std::string &s) {
  ContractionConfig c;
  char tail;
  long long mr, nr, kc;
  if (std::sscanf(s.c_str(), "%lld,%lld,%lld%c", &mr, &nr, &kc, &tail) != 3 ||
      mr < 1 || nr < 1 || kc < 1)
    return std::nullopt;
  c.mr = mr;
  c.nr = nr;
  c.kc = kc;
  return c;
}

//===- KernelFeatures.cpp - what the cost model sees of a kernel ----------===//
//
// Part of kiln. Features follow the tile structure of the CPU kernels
// (codegen/cpu/LowerContractions.cpp, ConvKernel.cpp): a parallel loop over
// (batch, N panels of nr), K blocks of kc, row tiles of mr, an mr x nr
// register tile of vector FMAs. Extents enter as log2 so trees split on
// ratios, not absolute sizes.
//
//===----------------------------------------------------------------------===//

#include "costmodel/KernelFeatures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace mlir::kiln;

const char *mlir::kiln::kernelKindName(KernelKind kind) {
  switch (kind) {
  case KernelKind::MatMul: return "matmul";
  case KernelKind::MatMulRuntimeB: return "matmul_runtime_b";
  case KernelKind::BatchMatMul: return "batch_matmul";
  case KernelKind::Conv: return "conv";
  }
  return "?";
}

std::string KernelDesc::shapeKey() const {
  return std::string(kernelKindName(kind)) + " b" + std::to_string(batch) +
         " m" + std::to_string(m) + " n" + std::to_string(n) + " k" +
         std::to_string(k) + " v" + std::to_string(vectorBits) + " t" +
         std::to_string(threads);
}

void KernelExtents::include(const KernelDesc &kernel) {
  if (kernel.kind == KernelKind::Conv)
    return;
  m = std::max(m, kernel.m);
  n = std::max(n, kernel.n);
  k = std::max(k, kernel.k);
}

bool KernelExtents::contains(const KernelDesc &kernel) const {
  return kernel.kind == KernelKind::Conv ||
         (kernel.m <= m && kernel.n <= n && kernel.k <= k);
}

std::string KernelExtents::str() const {
  return std::to_string(m) + "," + std::to_string(n) + "," + std::to_string(k);
}

bool KernelExtents::parse(const std::string &text) {
  long long pm, pn, pk;
  char tail;
  if (std::sscanf(text.c_str(), "%lld,%lld,%lld%c", &pm, &pn, &pk, &tail) !=
          3 ||
      pm < 1 || pn < 1 || pk < 1)
    return false;
  m = pm, n = pn, k = pk;
  return true;
}

namespace {
float lg(double v) { return float(std::log2(std::max(1.0, v))); }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Feature {
  const char *name;
  float (*get)(const KernelDesc &);
};

/// Derived quantities of the tile structure.
struct Tiles {
  int64_t lanes, nrVec, panels, rowTiles, kBlocks, paddedN, paddedM;
  double flops, usefulShare, fmaShare, registers, aBytes, bBytes, cBytes,
      packedBBlock, aBlock, cReloads, chunks;
  explicit Tiles(const KernelDesc &d) {
    lanes = std::max<int64_t>(1, d.vectorBits / 32);
    nrVec = std::max<int64_t>(1, d.nr / lanes);
    panels = ceilDiv(d.n, d.nr);
    rowTiles = ceilDiv(d.m, d.mr);
    kBlocks = ceilDiv(d.k, d.kc);
    paddedN = panels * d.nr;
    paddedM = rowTiles * d.mr;
    flops = 2.0 * d.batch * d.m * d.n * d.k;
    // Lanes doing useful work in ragged tiles.
    usefulShare = double(d.m * d.n) / double(paddedM * paddedN);
    // Per K step: mr broadcasts + nrVec loads feed mr * nrVec FMAs.
    double fmas = double(d.mr * nrVec);
    fmaShare = fmas / (fmas + d.mr + nrVec);
    registers = double(d.mr * nrVec + nrVec + 1);
    aBytes = 4.0 * d.batch * d.m * d.k;
    bBytes = 4.0 * d.batch * d.k * d.n;
    cBytes = 4.0 * d.batch * d.m * d.n;
    packedBBlock = 4.0 * d.kc * d.nr;   // one B panel block, reused by rows
    aBlock = 4.0 * d.kc * d.mr;         // one A row tile block
    cReloads = double(kBlocks);         // C tiles are revisited per K block
    chunks = double(d.batch * panels);  // parallel work items
  }
};

const std::vector<Feature> &features() {
  static const std::vector<Feature> list = {
      {"kind_matmul", [](const KernelDesc &d) { return float(d.kind == KernelKind::MatMul); }},
      {"kind_matmul_runtime_b", [](const KernelDesc &d) { return float(d.kind == KernelKind::MatMulRuntimeB); }},
      {"kind_batch_matmul", [](const KernelDesc &d) { return float(d.kind == KernelKind::BatchMatMul); }},
      {"kind_conv", [](const KernelDesc &d) { return float(d.kind == KernelKind::Conv); }},
      {"log2_batch", [](const KernelDesc &d) { return lg(d.batch); }},
      {"log2_m", [](const KernelDesc &d) { return lg(d.m); }},
      {"log2_n", [](const KernelDesc &d) { return lg(d.n); }},
      {"log2_k", [](const KernelDesc &d) { return lg(d.k); }},
      {"log2_flops", [](const KernelDesc &d) { return lg(Tiles(d).flops); }},
      {"mr", [](const KernelDesc &d) { return float(d.mr); }},
      {"nr_vectors", [](const KernelDesc &d) { return float(Tiles(d).nrVec); }},
      {"log2_kc", [](const KernelDesc &d) { return lg(d.kc); }},
      {"vector_bits", [](const KernelDesc &d) { return float(d.vectorBits); }},
      {"vector_registers", [](const KernelDesc &d) { return float(d.vectorRegisters); }},
      {"registers_used_share", [](const KernelDesc &d) { return float(Tiles(d).registers / std::max(1u, d.vectorRegisters)); }},
      {"register_spill", [](const KernelDesc &d) { return float(Tiles(d).registers > d.vectorRegisters); }},
      {"fma_share", [](const KernelDesc &d) { return float(Tiles(d).fmaShare); }},
      {"useful_lane_share", [](const KernelDesc &d) { return float(Tiles(d).usefulShare); }},
      {"m_remainder_share", [](const KernelDesc &d) { return float(d.m % d.mr) / float(d.mr); }},
      {"n_remainder_share", [](const KernelDesc &d) { return float(d.n % d.nr) / float(d.nr); }},
      {"k_remainder_share", [](const KernelDesc &d) { return float(d.k % d.kc) / float(d.kc); }},
      {"log2_row_tiles", [](const KernelDesc &d) { return lg(Tiles(d).rowTiles); }},
      {"log2_panels", [](const KernelDesc &d) { return lg(Tiles(d).panels); }},
      {"log2_k_blocks", [](const KernelDesc &d) { return lg(Tiles(d).kBlocks); }},
      {"log2_a_bytes", [](const KernelDesc &d) { return lg(Tiles(d).aBytes); }},
      {"log2_b_bytes", [](const KernelDesc &d) { return lg(Tiles(d).bBytes); }},
      {"log2_c_bytes", [](const KernelDesc &d) { return lg(Tiles(d).cBytes); }},
      {"b_block_l1_share", [](const KernelDesc &d) { return float(Tiles(d).packedBBlock / double(d.l1Bytes)); }},
      {"a_block_l1_share", [](const KernelDesc &d) { return float(Tiles(d).aBlock / double(d.l1Bytes)); }},
      {"b_fits_l2", [](const KernelDesc &d) { return float(Tiles(d).bBytes / std::max(1.0, double(d.batch)) <= double(d.l2Bytes)); }},
      {"a_fits_l2", [](const KernelDesc &d) { return float(Tiles(d).aBytes / std::max(1.0, double(d.batch)) <= double(d.l2Bytes)); }},
      {"log2_c_traffic", [](const KernelDesc &d) { Tiles t(d); return lg(t.cBytes * 2 * t.cReloads); }},
      {"log2_a_traffic", [](const KernelDesc &d) { Tiles t(d); return lg(t.aBytes * t.panels); }},
      {"arithmetic_intensity", [](const KernelDesc &d) { Tiles t(d); return float(t.flops / (t.aBytes + t.bBytes + t.cBytes)); }},
      {"log2_parallel_chunks", [](const KernelDesc &d) { return lg(Tiles(d).chunks); }},
      {"threads", [](const KernelDesc &d) { return float(d.threads); }},
      {"fused_ops", [](const KernelDesc &d) { return float(d.fusedOps); }},
      {"element_bits", [](const KernelDesc &d) { return float(d.elementBits); }},
  };
  return list;
}
} // namespace

std::vector<float> mlir::kiln::kernelFeatures(const KernelDesc &kernel) {
  std::vector<float> v;
  for (const Feature &f : features())
    v.push_back(f.get(kernel));
  return v;
}

const std::vector<std::string> &mlir::kiln::kernelFeatureNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const Feature &f : features())
      n.push_back(f.name);
    return n;
  }();
  return names;
}

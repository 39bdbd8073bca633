//===- KVCacheCost.cpp - choosing a KV-cache layout under a budget --------===//
//
// Part of kiln. Byte counts follow kiln-kv-layout's states exactly (per
// token and head: f32 4 D per tensor; int8 D + 4; 4-bit values D / 2 + 8
// per group; QJL keys m / 8 + 4 plus, fixed, the window of W whole keys
// and its W 8-byte tags per layer). The
// attention's cycles are a roofline of the step at max-seq-len: the cache
// bytes at DRAM rate against the lane-ops of codegen/KilnToLinalg/
// Attention.cpp (a key: D multiply-adds, 2 D with int8's convert, 2 m for
// QJL's select and add per sign bit; a value: D, 2 D for int8, 4 D for
// 4-bit codes' unpacking).
//
//===----------------------------------------------------------------------===//

#include "costmodel/KVCacheCost.h"

#include <algorithm>
#include <sstream>

using namespace mlir::kiln;

std::string KVLayoutCandidate::describe() const {
  std::ostringstream os;
  os << layout;
  if (layout == "qjl")
    os << " m=" << qjlSketch;
  if (valueBits != 8 && layout != "f32")
    os << " values " << valueBits << "-bit";
  os << ": " << bytesPerToken << " B/token";
  if (fixedBytes)
    os << " + " << fixedBytes << " B fixed";
  os << ", " << totalBytes << " B in all, attention ~" << int64_t(stepCycles)
     << " cycles/step";
  return os.str();
}

std::vector<KVLayoutCandidate>
mlir::kiln::kvLayoutCandidates(const KVCacheShape &s,
                               const CpuThroughput &cpu) {
  int64_t d = s.headDim;
  int64_t groups = d % s.valueGroup == 0 ? d / s.valueGroup : 1;
  auto make = [&](std::string layout, int64_t sketch, int64_t valueBits) {
    KVLayoutCandidate c;
    c.layout = std::move(layout);
    c.qjlSketch = sketch;
    c.valueBits = valueBits;
    int64_t keyRow, valueRow;
    double keyOps, valueOps;
    if (c.layout == "f32") {
      keyRow = valueRow = 4 * d;
      keyOps = valueOps = d;
    } else {
      valueRow = valueBits == 8 ? d + 4 : d * valueBits / 8 + 8 * groups;
      valueOps = valueBits == 8 ? 2 * d : 4 * d;
      keyRow = sketch ? sketch / 8 + 4 : d + 4;
      keyOps = sketch ? 2 * sketch : 2 * d;
    }
    c.bytesPerToken = uint64_t(s.layers * s.kvHeads * (keyRow + valueRow));
    if (sketch)
      c.fixedBytes =
          uint64_t(s.layers * (s.kvHeads * s.qjlRecent * d * 4 + s.qjlRecent * 8));
    c.totalBytes = c.bytesPerToken * uint64_t(s.maxSeqLen) + c.fixedBytes;
    double memory = double(c.bytesPerToken * s.maxSeqLen) / cpu.memoryBytes;
    double compute = double(s.layers * s.queryHeads * s.maxSeqLen) *
                     (keyOps + valueOps) / cpu.fmaLanes;
    c.stepCycles = std::max(memory, compute);
    return c;
  };
  std::vector<KVLayoutCandidate> out = {make("f32", 0, 8), make("int8", 0, 8)};
  if ((4 * d) % 8 == 0)
    out.push_back(make("qjl", 4 * d, 8));
  if (d % 2 == 0)
    out.push_back(make("int8", 0, 4));
  for (int64_t bitsPerCoord : {4, 2, 1})
    if ((bitsPerCoord * d) % 8 == 0 && d % 2 == 0)
      out.push_back(make("qjl", bitsPerCoord * d, 4));
  return out;
}

int mlir::kiln::pickKVLayout(const std::vector<KVLayoutCandidate> &candidates,
                             uint64_t budget) {
  for (size_t i = 0; i < candidates.size(); ++i)
    if (candidates[i].totalBytes <= budget)
      return int(i);
  return -1;
}

//===- KVCacheCost.h - choosing a KV-cache layout under a budget --*- C++ -*-===//
//
// Part of kiln. Behind `kiln compile --kv auto --kv-budget BYTES`: the
// bytes each cache layout stores and the roofline cycles of the attention
// reading it at a context length, for a decoder whose layers each hold
// keys and values of `kvHeads` heads of `headDim`.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_KVCACHECOST_H
#define KILN_COSTMODEL_KVCACHECOST_H

#include "costmodel/LMulCost.h"

#include <string>
#include <vector>

namespace mlir::kiln {

struct KVCacheShape {
  int64_t layers = 1, queryHeads = 1, kvHeads = 1, headDim = 1;
  int64_t maxSeqLen = 1;
  int64_t qjlRecent = 32; // whole keys a QJL window keeps
};

struct KVLayoutCandidate {
  std::string layout;    // "f32", "int8" or "qjl"
  int64_t qjlSketch = 0; // sign bits per key (qjl)
  uint64_t bytesPerToken = 0, fixedBytes = 0, totalBytes = 0;
  double stepCycles = 0; // the attention of one decode step at max-seq-len
  std::string describe() const;
};

/// The layouts kiln offers, most faithful first: f32, int8, then QJL keys
/// with 4, 2 and 1 sign bits per head-dim coordinate (int8 values).
std::vector<KVLayoutCandidate> kvLayoutCandidates(const KVCacheShape &shape,
                                                  const CpuThroughput &cpu);

/// The most faithful candidate whose total bytes fit `budget`, or -1.
int pickKVLayout(const std::vector<KVLayoutCandidate> &candidates,
                 uint64_t budget);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_KVCACHECOST_H

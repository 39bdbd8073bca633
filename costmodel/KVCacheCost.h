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
  int64_t valueGroup = 32; // channels per group of low-bit values
};

struct KVLayoutCandidate {
  std::string layout;    // "f32", "int8" or "qjl"
  int64_t qjlSketch = 0; // sign bits per key (qjl)
  int64_t valueBits = 8; // int8 and qjl: 8, or 4 (grouped)
  uint64_t bytesPerToken = 0, fixedBytes = 0, totalBytes = 0;
  double stepCycles = 0; // the attention of one decode step at max-seq-len
  std::string describe() const;
};

/// The layouts kiln offers, most faithful first (the order measured on
/// GPT-2 small, bench/perf/kv_accuracy.py): f32; int8; QJL keys with 4
/// sign bits per coordinate and int8 values; int8 keys with 4-bit values;
/// QJL keys with 4, 2 and 1 sign bits per coordinate and 4-bit values.
/// (2-bit values lose too much there to be offered.)
std::vector<KVLayoutCandidate> kvLayoutCandidates(const KVCacheShape &shape,
                                                  const CpuThroughput &cpu);

/// The most faithful candidate whose total bytes fit `budget`, or -1.
int pickKVLayout(const std::vector<KVLayoutCandidate> &candidates,
                 uint64_t budget);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_KVCACHECOST_H

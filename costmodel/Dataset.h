//===- Dataset.h - measured kernels, as kiln-costmodel stores them -*- C++ -*-===//
//
// Part of kiln. `kiln-costmodel collect` appends one JSON object per line:
//
//   {"version": 1, "kind": "matmul", "target": "avx512",
//    "shape": "<KernelDesc::shapeKey()>",
//    "config": {"mr": 10, "nr": 32, "kc": 384},
//    "kernel": {...every KernelDesc field...},
//    "features": [...kernelFeatures()...],
//    "latency_ns": 123456.0, "runs": 15, "heuristic": false}
//
// "version" is kFeatureVersion. Candidates of one shape share "shape";
// training and evaluation split on it, never on configurations.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_DATASET_H
#define KILN_COSTMODEL_DATASET_H

#include "costmodel/KernelFeatures.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct Sample {
  std::string kind, target, shape;
  int64_t mr = 0, nr = 0, kc = 0;
  KernelDesc kernel; // what any cost model predicts from
  std::vector<float> features;
  double latencyNs = 0;
  int runs = 0;
  bool heuristic = false; // the hand-written choice for this shape
};

/// One JSON line for `sample` (no trailing newline).
std::string sampleToJson(const Sample &sample);

/// Reads a JSONL file; lines of another feature version are an error.
/// Returns false and sets `error` (with the line number) on failure.
bool loadSamples(const std::string &path, std::vector<Sample> &out,
                 std::string &error);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_DATASET_H

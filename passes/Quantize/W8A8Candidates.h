//===- W8A8Candidates.h - the matmuls w8a8 quantizes ------------*- C++ -*-===//
//
// Part of kiln. One definition of which matmuls kiln-w8a8-quantize takes,
// shared by the passes that calibrate them (kiln-calibration-instrument,
// kiln-smooth-quant, and kiln-weight-quantize's GPTQ Hessians): their
// statistics are indexed in this walk order.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZE_W8A8CANDIDATES_H
#define KILN_PASSES_QUANTIZE_W8A8CANDIDATES_H

#include "dialects/Kiln/KilnOps.h"

#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>

namespace mlir::kiln {

/// Whether kiln-w8a8-quantize turns `op` into an int8 matmul: f32 input of
/// rank >= 2, constant f32 [K, N] weights with at least `minWeights`
/// elements, no L-Mul mode.
bool isW8A8Candidate(MatMulOp op, int64_t minWeights);

/// The candidates under `root` in walk order: statistics lists (pass
/// options activation-ranges, channel-maxima) are indexed this way.
SmallVector<MatMulOp> w8a8Candidates(Operation *root, int64_t minWeights);

/// The output name kiln-calibration-instrument gives candidate `index`'s
/// activation input.
std::string calibrationOutputName(int64_t index);

} // namespace mlir::kiln

#endif // KILN_PASSES_QUANTIZE_W8A8CANDIDATES_H

//===- QuantizedCheckpoint.h - GPTQ and AWQ checkpoint formats ----*- C++
//-*-===//
//
// Part of kiln. The int4 (GPTQ also 2/8-bit) weight-only formats that
// quantized HuggingFace checkpoints ship in, unpacked to one canonical
// layout. Formats (../shared/docs/techniques.md section 11):
//
//   GPTQ  qweight int32 [K*bits/32, N] packed along K, qzeros int32
//         [K/G, N*bits/32] packed along N, scales [K/G, N], optional g_idx
//         int32 [K] (act-order). Values sit low bits first in a word.
//         "gptq" (v1) stores zero - 1 (AutoGPTQ's pack does zeros -= 1);
//         "gptq_v2" stores the zero.
//   AWQ   (GEMM version) qweight int32 [K, N/8] and qzeros int32 [K/G, N/8]
//         packed along N in the nibble order [0, 2, 4, 6, 1, 3, 5, 7]
//         (nibble i holds column 8c + order[i]); scales [K/G, N].
//
// Both dequantize as W[k, n] = (q[k, n] - zero[g, n]) * scale[g, n] with g
// the group of input row k. Plain C++ (no MLIR), so the unit tests can
// check the unpacking against golden words.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_ONNX_QUANTIZEDCHECKPOINT_H
#define KILN_COMPILER_ONNX_QUANTIZEDCHECKPOINT_H

#include "compiler/onnx/Safetensors.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::kiln::onnx {

enum class CheckpointFormat { GptqV1, GptqV2, Awq };

/// What a checkpoint's quantization config says.
struct CheckpointConfig {
  CheckpointFormat format = CheckpointFormat::GptqV1;
  int64_t bits = 4;
  /// Rows of K per group; -1: one group spans all of K.
  int64_t groupSize = 128;

  /// "gptq v1 4-bit g128" and the like, for reports and errors.
  std::string describe() const;
};

/// Parses a quantization config: HuggingFace's config.json (its
/// `quantization_config` object) or a bare config object (AutoGPTQ's
/// quantize_config.json). `what` names the source in errors.
llvm::Expected<CheckpointConfig> parseCheckpointConfig(llvm::StringRef json,
                                                       llvm::StringRef what);

/// A quantized linear layer in kiln's canonical layout: unsigned codes,
/// scales and effective zero points (GPTQ v1's +1 applied), all with N
/// innermost.
struct UnpackedLinear {
  int64_t K = 0, N = 0, bits = 0, groupSize = 0, numGroups = 0;
  /// [K, N], values in [0, 2^bits).
  std::vector<uint8_t> q;
  /// [numGroups, N].
  std::vector<float> scales;
  /// [numGroups, N]; GPTQ v1 can give 2^bits (a stored all-ones field).
  std::vector<int32_t> zeros;
  /// [K]: the group of each input row (k / groupSize without act-order).
  std::vector<int32_t> gIdx;
};

/// The tensors of one layer (`gIdx` may be null).
struct QuantizedLinearTensors {
  const SafetensorsTensor *qweight = nullptr, *qzeros = nullptr,
                          *scales = nullptr, *gIdx = nullptr;
};

/// Unpacks one layer, checking every dtype and shape against `config`.
/// Errors say which tensor is wrong and what was expected.
llvm::Expected<UnpackedLinear>
unpackQuantizedLinear(const CheckpointConfig &config,
                      const QuantizedLinearTensors &tensors);

/// A float-typed safetensors tensor (F16, BF16, F32, F64) as floats.
llvm::Expected<std::vector<float>> readFloats(const SafetensorsTensor &t,
                                              llvm::StringRef what);

} // namespace mlir::kiln::onnx

#endif // KILN_COMPILER_ONNX_QUANTIZEDCHECKPOINT_H

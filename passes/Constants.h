//===- Constants.h - reading and making kiln.constant values ------*- C++ -*-===//
//
// Part of kiln. Graph passes that rewrite weights (batch-norm folding,
// weight quantization) read constants as host arrays and write new ones.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CONSTANTS_H
#define KILN_PASSES_CONSTANTS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::kiln {

/// The f32 values of a kiln.constant (dense or resource blob), or nullopt.
std::optional<std::vector<float>> constantF32Values(Value v);
/// The values of a signless i8 kiln.constant, or nullopt.
std::optional<std::vector<int8_t>> constantI8Values(Value v);

/// A kiln.constant of `type` holding the raw little-endian `bytes` (one
/// element after another; for f32 and 8-bit types alike). Small constants
/// stay inline (dense), larger ones become resource blobs named `name`.
Value createConstant(OpBuilder &b, Location loc, RankedTensorType type,
                     ArrayRef<char> bytes, StringRef name);

template <typename T>
Value createConstant(OpBuilder &b, Location loc, RankedTensorType type,
                     const std::vector<T> &data, StringRef name) {
  return createConstant(
      b, loc, type,
      ArrayRef<char>(reinterpret_cast<const char *>(data.data()),
                     data.size() * sizeof(T)),
      name);
}

} // namespace mlir::kiln

#endif // KILN_PASSES_CONSTANTS_H

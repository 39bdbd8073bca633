//===- HalfFloat.h - fp16 and bf16 bit patterns to float ----------*- C++
//-*-===//
//
// Part of kiln. Exact conversions of 16-bit float bit patterns (IEEE half,
// bfloat16) to float, for readers of tensor files (safetensors checkpoints,
// ONNX backend test data). Header-only, no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_ONNX_HALFFLOAT_H
#define KILN_COMPILER_ONNX_HALFFLOAT_H

#include <cstdint>
#include <cstring>

namespace mlir::kiln::onnx {

inline float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float bf16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

} // namespace mlir::kiln::onnx

#endif // KILN_COMPILER_ONNX_HALFFLOAT_H

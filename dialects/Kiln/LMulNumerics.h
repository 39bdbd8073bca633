//===- LMulNumerics.h - L-Mul formats and scalar reference --------*- C++ -*-===//
//
// Part of kiln. The numerics of L-Mul (Luo & Sun 2024, "Addition is All You
// Need for Energy-efficient Language Models"): a float product replaced by
// one integer add of the operands' exponent|mantissa bits minus a constant.
// This header is the single definition of the semantics the `#kiln.lmul`
// attribute stands for; the linalg lowering (codegen/KilnToLinalg/LMul.cpp)
// emits exactly these steps as arith ops on i32, and the unit tests check
// this scalar reference against the golden vectors of docs/techniques.md.
// Plain C++17, no LLVM: the unit tests include it alone.
//
// Semantics, every format emulated inside an fp32 bit pattern (container):
//  1. operand x: |x| rounded to k mantissa bits (round-to-nearest-even or
//     truncation), saturated to the format's largest finite value, flushed
//     to zero below the format's smallest normal (FTZ);
//  2. t = |x'| + |y'| as u32 (no overflow: both <= 0x7F7FFFFF);
//     C = (127 << 23) - (1 << (23 - l(k))), l(k) = k (k<=3), 3 (k=4), 4 (k>4);
//     a zero operand or t < C + minNormal gives 0 (underflow),
//     t > C + maxFinite gives maxFinite (overflow saturates), else t - C
//     (the mantissa carry into the exponent is kept);
//  3. sign = sign(x) xor sign(y);
//  4. NaN operand, or Inf times (flushed) zero -> NaN; else an Inf operand
//     -> signed Inf.
// For a format with e exponent and m mantissa bits this equals the
// bit-level add in the format's own code space, (x & abs) + (y & abs) - C_f
// with C_f = (bias << m) - (2^m >> l(m)) (0x37 for e4m3, 0x3F78 for bf16),
// shifted into the container: fp32 C = 0x3F780000.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_LMULNUMERICS_H
#define KILN_DIALECTS_KILN_LMULNUMERICS_H

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace mlir::kiln::lmul {

/// An operand format: exponent and mantissa widths; `finiteOnly` formats
/// (OCP e4m3fn) have no Inf and spend the top code on NaN.
struct Format {
  std::string_view name;
  unsigned exponentBits;
  unsigned mantissaBits;
  bool finiteOnly;
};

inline constexpr Format kFormats[] = {
    {"fp32", 8, 23, false}, {"bf16", 8, 7, false}, {"fp16", 5, 10, false},
    {"e4m3", 4, 3, true},   {"e5m2", 5, 2, false},
};

/// "fp32|bf16|fp16|e4m3|e5m2", for messages.
inline constexpr std::string_view kFormatList = "fp32, bf16, fp16, e4m3, e5m2";

inline std::optional<Format> lookupFormat(std::string_view name) {
  for (const Format &f : kFormats)
    if (f.name == name)
      return f;
  return std::nullopt;
}

enum class Rounding { Nearest, Truncate };

inline std::optional<Rounding> parseRounding(std::string_view name) {
  if (name == "nearest")
    return Rounding::Nearest;
  if (name == "truncate")
    return Rounding::Truncate;
  return std::nullopt;
}

/// The paper's offset exponent: L-Mul adds 2^-l(k) in place of x_m * y_m.
constexpr unsigned offsetExponent(unsigned k) {
  return k <= 3 ? k : (k == 4 ? 3 : 4);
}

constexpr uint32_t kSignMask = 0x80000000u;
constexpr uint32_t kAbsMask = 0x7FFFFFFFu;
constexpr uint32_t kInfBits = 0x7F800000u;
constexpr uint32_t kNaNBits = 0x7FC00000u;

/// Everything the kernel needs, as fp32-container constants.
struct Params {
  unsigned mantissa = 23;  // k: operand mantissa bits (1..format's)
  Rounding rounding = Rounding::Nearest;
  uint32_t offset = 0;     // C
  uint32_t minNormal = 0;  // smallest normal of the format (bits)
  uint32_t maxFinite = 0;  // largest finite k-bit value of the format (bits)
  /// Low container mantissa bits that k-bit operands have zero.
  uint32_t dropMask() const {
    return mantissa >= 23 ? 0u : (uint32_t(1) << (23 - mantissa)) - 1;
  }
};

/// Parameters for `format` with operands rounded to `mantissa` bits
/// (0: the format's own). Returns nullopt when the mantissa is out of
/// range (1..format.mantissaBits).
inline std::optional<Params> makeParams(const Format &format,
                                        unsigned mantissa = 0,
                                        Rounding rounding = Rounding::Nearest) {
  unsigned k = mantissa ? mantissa : format.mantissaBits;
  if (k < 1 || k > format.mantissaBits)
    return std::nullopt;
  Params p;
  p.mantissa = k;
  p.rounding = rounding;
  p.offset = (uint32_t(127) << 23) - (uint32_t(1) << (23 - offsetExponent(k)));
  int bias = (1 << (format.exponentBits - 1)) - 1;
  int maxExp = (1 << format.exponentBits) - (format.finiteOnly ? 1 : 2) - bias;
  p.minNormal = uint32_t(1 - bias + 127) << 23;
  // All-ones mantissa, except finite-only formats whose top code (all ones
  // at the top exponent) is NaN: their largest mantissa ends in 0.
  uint32_t fieldOnes = (uint32_t(1) << format.mantissaBits) - 1;
  uint32_t field = format.finiteOnly ? fieldOnes - 1 : fieldOnes;
  uint32_t mant = field << (23 - format.mantissaBits);
  mant &= ~p.dropMask();
  p.maxFinite = (uint32_t(maxExp + 127) << 23) | mant;
  return p;
}

/// Step 1 on a finite magnitude (sign cleared): round to k bits, saturate,
/// flush subnormals to zero.
inline uint32_t prepareOperand(uint32_t magnitude, const Params &p) {
  uint32_t a = magnitude;
  if (p.mantissa < 23) {
    unsigned shift = 23 - p.mantissa;
    if (p.rounding == Rounding::Nearest)
      a += ((uint32_t(1) << (shift - 1)) - 1) + ((a >> shift) & 1);
    a &= ~p.dropMask();
  }
  if (a > p.maxFinite)
    a = p.maxFinite;
  return a < p.minNormal ? 0 : a;
}

/// L-Mul on fp32 bit patterns.
inline uint32_t lmulBits(uint32_t x, uint32_t y, const Params &p) {
  uint32_t sign = (x ^ y) & kSignMask;
  uint32_t ax = x & kAbsMask, ay = y & kAbsMask;
  uint32_t a = prepareOperand(ax, p), b = prepareOperand(ay, p);
  uint32_t t = a + b;
  uint32_t magnitude;
  if (a == 0 || b == 0 || t < p.offset + p.minNormal)
    magnitude = 0;
  else if (t > p.offset + p.maxFinite)
    magnitude = p.maxFinite;
  else
    magnitude = t - p.offset;
  bool nan = ax > kInfBits || ay > kInfBits ||
             (ax == kInfBits && b == 0) || (ay == kInfBits && a == 0);
  bool inf = ax == kInfBits || ay == kInfBits;
  if (nan)
    magnitude = kNaNBits;
  else if (inf)
    magnitude = kInfBits;
  return magnitude | sign;
}

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// L-Mul on floats: the scalar reference of the compiled kernels.
inline float lmul(float x, float y, const Params &p) {
  return bitsFloat(lmulBits(floatBits(x), floatBits(y), p));
}

} // namespace mlir::kiln::lmul

#endif // KILN_DIALECTS_KILN_LMULNUMERICS_H

//===- lmul_numerics_test.cpp - L-Mul scalar reference --------------------===//
//
// Part of kiln. Checks dialects/Kiln/LMulNumerics.h against the golden
// vectors and error tables of docs/techniques.md section 1 (computed by
// docs/reference-sims/lmul_golden.py and lmul_error.py), and the fp32
// container emulation against the format's own code-space integer add.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/LMulNumerics.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir::kiln::lmul;

namespace {

Params params(const char *format, unsigned mantissa = 0,
              Rounding rounding = Rounding::Nearest) {
  std::optional<Params> p =
      makeParams(*lookupFormat(format), mantissa, rounding);
  EXPECT_TRUE(p.has_value());
  return *p;
}

/// Decodes a code of a (1, e, m) format (subnormals included).
double decode(uint32_t code, unsigned e, unsigned m) {
  int bias = (1 << (e - 1)) - 1;
  double sign = (code >> (e + m)) & 1 ? -1.0 : 1.0;
  uint32_t exp = (code >> m) & ((1u << e) - 1);
  uint32_t mant = code & ((1u << m) - 1);
  if (exp == 0)
    return sign * std::ldexp(double(mant) / (1 << m), 1 - bias);
  return sign * std::ldexp(1.0 + double(mant) / (1 << m), int(exp) - bias);
}

TEST(LMulNumerics, Constants) {
  EXPECT_EQ(params("fp32").offset, 0x3F780000u);
  // Container offsets equal the format offsets of techniques.md shifted into
  // fp32 position: bf16 0x3F78, e4m3 0x37 (l = 3), e5m2 0x3B (l = 2).
  EXPECT_EQ(params("bf16").offset, 0x3F780000u);
  EXPECT_EQ(params("e4m3").offset, (127u << 23) - (1u << 20));
  EXPECT_EQ(params("e5m2").offset, (127u << 23) - (1u << 21));
  EXPECT_EQ(offsetExponent(2), 2u);
  EXPECT_EQ(offsetExponent(3), 3u);
  EXPECT_EQ(offsetExponent(4), 3u);
  EXPECT_EQ(offsetExponent(5), 4u);
  EXPECT_EQ(offsetExponent(23), 4u);
  EXPECT_EQ(bitsFloat(params("e4m3").maxFinite), 448.0f);
  EXPECT_EQ(bitsFloat(params("e5m2").maxFinite), 57344.0f);
  EXPECT_EQ(bitsFloat(params("fp16").maxFinite), 65504.0f);
  EXPECT_EQ(params("fp32").maxFinite, 0x7F7FFFFFu);
  EXPECT_EQ(params("bf16").maxFinite, 0x7F7F0000u);
  EXPECT_EQ(bitsFloat(params("e4m3").minNormal), std::ldexp(1.0f, -6));
  EXPECT_FALSE(makeParams(*lookupFormat("e4m3"), 4).has_value());
  EXPECT_FALSE(lookupFormat("fp8").has_value());
}

TEST(LMulNumerics, GoldenFp32) {
  Params p = params("fp32");
  EXPECT_EQ(floatBits(lmul(3.6f, 2.1f, p)), 0x40F4CCCCu);
  EXPECT_EQ(floatBits(lmul(1.0f, 1.0f, p)), 0x3F880000u);
  EXPECT_EQ(floatBits(lmul(1.5f, 1.5f, p)), 0x40080000u); // carry case
  EXPECT_EQ(floatBits(lmul(-0.75f, 2.5f, p)), 0xBFE80000u);
  EXPECT_EQ(lmul(1.875f, 1.875f, p), 3.625f);
}

TEST(LMulNumerics, GoldenE4M3) {
  Params p = params("e4m3");
  auto e4m3 = [](uint32_t code) { return float(decode(code, 4, 3)); };
  EXPECT_EQ(lmul(e4m3(0x3C), e4m3(0x3C), p), e4m3(0x41)); // 1.5 * 1.5
  EXPECT_EQ(lmul(e4m3(0x38), e4m3(0x38), p), e4m3(0x39)); // 1 * 1
  EXPECT_EQ(lmul(e4m3(0x44), e4m3(0x3A), p), e4m3(0x47)); // 3 * 1.25
}

TEST(LMulNumerics, SpecialValues) {
  Params p = params("fp32");
  float inf = INFINITY, nan = NAN;
  EXPECT_TRUE(std::isnan(lmul(nan, 1.0f, p)));
  EXPECT_TRUE(std::isnan(lmul(inf, 0.0f, p)));
  EXPECT_TRUE(std::isnan(lmul(1e-40f, inf, p))); // subnormal flushes
  EXPECT_EQ(lmul(-inf, 2.0f, p), -inf);
  EXPECT_EQ(floatBits(lmul(-0.0f, 2.0f, p)), 0x80000000u);
  EXPECT_EQ(lmul(1e-40f, 2.0f, p), 0.0f);            // FTZ operand
  EXPECT_EQ(lmul(1e-20f, 1e-20f, p), 0.0f);          // underflow
  EXPECT_EQ(floatBits(lmul(1e30f, -1e30f, p)), 0xFF7FFFFFu); // saturates
  Params e4m3 = params("e4m3");
  // 1000 saturates to 448 = 1.75 * 2^8; 448 (*) 1 = 1.875 * 2^8 saturates.
  EXPECT_EQ(lmul(1000.0f, 1.0f, e4m3), 448.0f);
  EXPECT_EQ(lmul(30.0f, 30.0f, e4m3), 448.0f);
  EXPECT_EQ(lmul(0.001f, 1.0f, e4m3), 0.0f); // below 2^-6: flushed
}

/// The fp32-container emulation equals the format's own bit-level L-Mul
/// (techniques.md: r = (x & abs) + (y & abs) - C_f) on every pair of normal
/// codes, with underflow to zero and saturation at the largest finite code.
void checkCodeSpace(const char *name, unsigned e, unsigned m, bool finiteOnly) {
  Params p = params(name);
  unsigned l = offsetExponent(m);
  uint32_t bias = (1u << (e - 1)) - 1;
  uint32_t cf = (bias << m) - ((1u << m) >> l);
  uint32_t expMask = ((1u << e) - 1) << m;
  uint32_t maxCode = finiteOnly ? (1u << (e + m)) - 2 : expMask - 1;
  for (uint32_t x = 0; x < (1u << (e + m + 1)); ++x)
    for (uint32_t y = 0; y < (1u << (e + m + 1)); ++y) {
      uint32_t ax = x & ((1u << (e + m)) - 1), ay = y & ((1u << (e + m)) - 1);
      // Normal finite codes only (zero/subnormal/special tested above).
      if ((ax & expMask) == 0 || (ay & expMask) == 0 || ax > maxCode ||
          ay > maxCode)
        continue;
      int64_t r = int64_t(ax) + ay - cf;
      double expected;
      if (r < int64_t(1u << m))
        expected = 0.0;
      else if (r > int64_t(maxCode))
        expected = decode(maxCode, e, m);
      else
        expected = decode(uint32_t(r), e, m);
      if (((x ^ y) >> (e + m)) & 1)
        expected = -expected;
      float got = lmul(float(decode(x, e, m)), float(decode(y, e, m)), p);
      ASSERT_EQ(double(got), expected)
          << name << " codes 0x" << std::hex << x << " 0x" << y;
    }
}

TEST(LMulNumerics, CodeSpaceE4M3) { checkCodeSpace("e4m3", 4, 3, true); }
TEST(LMulNumerics, CodeSpaceE5M2) { checkCodeSpace("e5m2", 5, 2, false); }

/// Table 1.2-B(i): all mantissa pairs of the k-bit grid, exponent 0.
TEST(LMulNumerics, ExhaustiveErrorTable) {
  struct Row {
    unsigned k;
    double mean, max; // percent, from lmul_error.out
  } rows[] = {{2, 14.6736, 25.0},   {3, 5.2412, 12.5},   {4, 5.1408, 12.5},
              {5, 2.6659, 7.2884},  {6, 2.6574, 7.2884}, {7, 2.6555, 7.2884},
              {8, 2.6550, 7.2884}};
  for (const Row &row : rows) {
    Params p = params("fp32", row.k);
    unsigned n = 1u << row.k;
    double sum = 0, worst = 0;
    for (unsigned i = 0; i < n; ++i)
      for (unsigned j = 0; j < n; ++j) {
        double x = 1.0 + double(i) / n, y = 1.0 + double(j) / n;
        double err = std::fabs(lmul(float(x), float(y), p) - x * y) / (x * y);
        sum += err;
        worst = std::max(worst, err);
      }
    EXPECT_NEAR(100 * sum / (n * n), row.mean, 5e-4) << "k=" << row.k;
    EXPECT_NEAR(100 * worst, row.max, 5e-4) << "k=" << row.k;
  }
}

TEST(LMulNumerics, RoundingModes) {
  // 1.45 = 1.0111001..b: 3-bit nearest -> 1.5, truncate -> 1.375.
  Params nearest = params("fp32", 3), trunc = params("fp32", 3,
                                                     Rounding::Truncate);
  EXPECT_EQ(prepareOperand(floatBits(1.45f), nearest), floatBits(1.5f));
  EXPECT_EQ(prepareOperand(floatBits(1.45f), trunc), floatBits(1.375f));
  // Ties to even: 1.0625 (1.0001) -> 1.0; 1.1875 (1.0011) -> 1.25.
  EXPECT_EQ(prepareOperand(floatBits(1.0625f), nearest), floatBits(1.0f));
  EXPECT_EQ(prepareOperand(floatBits(1.1875f), nearest), floatBits(1.25f));
  // bf16 is fp32 with 7 mantissa bits.
  Params bf16 = params("bf16"), fp32k7 = params("fp32", 7);
  for (float x : {3.14159f, -2.71828f, 1e-3f, 6.5e4f})
    EXPECT_EQ(lmul(x, 1.7f, bf16), lmul(x, 1.7f, fp32k7));
}

} // namespace

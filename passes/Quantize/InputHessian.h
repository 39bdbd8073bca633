//===- InputHessian.h - second moments of a matmul's input -------*- C++ -*-===//
//
// Part of kiln. What GPTQ needs to know about the float model (plain C++,
// no MLIR): per matmul, H = sum over calibration rows x of x x^T, the
// Hessian of the layer's squared output error. kiln compile --calibration
// accumulates them and hands them to kiln-weight-quantize in a file.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZE_INPUTHESSIAN_H
#define KILN_PASSES_QUANTIZE_INPUTHESSIAN_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace mlir::kiln {

class InputHessian {
public:
  explicit InputHessian(int64_t k = 0);

  /// Adds `rows` rows of k values (NaNs count as 0).
  void observe(const float *x, int64_t rows);

  int64_t k() const { return k_; }
  uint64_t rows() const { return rows_; }
  /// H[a][b] for b <= a (the lower triangle, row-major packed).
  double at(int64_t a, int64_t b) const { return lower_[a * (a + 1) / 2 + b]; }
  /// The full symmetric K x K matrix, row-major.
  std::vector<double> matrix() const;

  bool write(std::FILE *file) const;
  bool read(std::FILE *file);

private:
  int64_t k_;
  uint64_t rows_ = 0;
  std::vector<double> lower_; // k (k + 1) / 2
};

/// A file of Hessians, one per calibrated matmul in walk order (see
/// W8A8Candidates.h): "KILNHES1", the count, then each (k, rows, lower
/// triangle), little-endian as the host writes it. Read one at a time.
bool writeHessians(const std::string &path,
                   const std::vector<InputHessian> &hessians,
                   std::string &error);

class HessianReader {
public:
  /// Opens `path`; false with `error` set when it is not such a file.
  bool open(const std::string &path, std::string &error);
  ~HessianReader();
  uint64_t count() const { return count_; }
  /// The next Hessian; false with `error` set past the end or on a
  /// truncated file.
  bool next(InputHessian &h, std::string &error);

private:
  std::FILE *file_ = nullptr;
  std::string path_;
  uint64_t count_ = 0, read_ = 0;
};

} // namespace mlir::kiln

#endif // KILN_PASSES_QUANTIZE_INPUTHESSIAN_H

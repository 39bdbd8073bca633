//===- InputHessian.cpp - second moments of a matmul's input --------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/InputHessian.h"

#include <cerrno>
#include <cmath>
#include <cstring>

using namespace mlir::kiln;

namespace {
constexpr char kMagic[8] = {'K', 'I', 'L', 'N', 'H', 'E', 'S', '1'};
// A bound on K when reading, so that a corrupt header cannot ask for an
// absurd allocation (K = 2^20 is 4 TiB of doubles already).
constexpr int64_t kMaxK = int64_t(1) << 20;
} // namespace

InputHessian::InputHessian(int64_t k) : k_(k), lower_(k * (k + 1) / 2, 0.0) {}

void InputHessian::observe(const float *x, int64_t rows) {
  std::vector<double> row(k_);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t a = 0; a < k_; ++a) {
      float v = x[r * k_ + a];
      row[a] = std::isnan(v) ? 0.0 : double(v);
    }
    for (int64_t a = 0; a < k_; ++a) {
      double xa = row[a];
      if (xa == 0.0)
        continue;
      double *dst = &lower_[a * (a + 1) / 2];
      for (int64_t b = 0; b <= a; ++b)
        dst[b] += xa * row[b];
    }
  }
  rows_ += uint64_t(rows);
}

std::vector<double> InputHessian::matrix() const {
  std::vector<double> h(k_ * k_);
  for (int64_t a = 0; a < k_; ++a)
    for (int64_t b = 0; b <= a; ++b)
      h[a * k_ + b] = h[b * k_ + a] = at(a, b);
  return h;
}

bool InputHessian::write(std::FILE *file) const {
  return std::fwrite(&k_, sizeof k_, 1, file) == 1 &&
         std::fwrite(&rows_, sizeof rows_, 1, file) == 1 &&
         std::fwrite(lower_.data(), sizeof(double), lower_.size(), file) ==
             lower_.size();
}

bool InputHessian::read(std::FILE *file) {
  int64_t k;
  uint64_t rows;
  if (std::fread(&k, sizeof k, 1, file) != 1 ||
      std::fread(&rows, sizeof rows, 1, file) != 1 || k < 0 || k > kMaxK)
    return false;
  *this = InputHessian(k);
  rows_ = rows;
  return std::fread(lower_.data(), sizeof(double), lower_.size(), file) ==
         lower_.size();
}

bool mlir::kiln::writeHessians(const std::string &path,
                               const std::vector<InputHessian> &hessians,
                               std::string &error) {
  std::FILE *file = std::fopen(path.c_str(), "wb");
  if (!file) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  uint64_t count = hessians.size();
  bool ok = std::fwrite(kMagic, 1, sizeof kMagic, file) == sizeof kMagic &&
            std::fwrite(&count, sizeof count, 1, file) == 1;
  for (const InputHessian &h : hessians)
    ok = ok && h.write(file);
  ok = (std::fclose(file) == 0) && ok;
  if (!ok)
    error = "cannot write '" + path + "' (disk full?)";
  return ok;
}

bool HessianReader::open(const std::string &path, std::string &error) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return false;
  }
  char magic[sizeof kMagic];
  if (std::fread(magic, 1, sizeof magic, file_) != sizeof magic ||
      std::memcmp(magic, kMagic, sizeof magic) != 0 ||
      std::fread(&count_, sizeof count_, 1, file_) != 1) {
    error = "'" + path + "' is not a kiln Hessian file";
    return false;
  }
  return true;
}

HessianReader::~HessianReader() {
  if (file_)
    std::fclose(file_);
}

bool HessianReader::next(InputHessian &h, std::string &error) {
  if (read_ >= count_) {
    error = "'" + path_ + "' holds " + std::to_string(count_) +
            " Hessians, fewer than the model's calibrated matmuls";
    return false;
  }
  if (!h.read(file_)) {
    error = "'" + path_ + "' is truncated or corrupt (Hessian " +
            std::to_string(read_) + ")";
    return false;
  }
  ++read_;
  return true;
}

//===- KernelFeatures.h - what the cost model sees of a kernel ----*- C++ -*-===//
//
// Part of kiln. A kernel after its configuration decision (shape, register
// tile, cache blocking, target, threads) and the one function that turns it
// into the feature vector every cost model reads. The feature list is
// versioned: a model trained on one version is refused by another.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_KERNELFEATURES_H
#define KILN_COSTMODEL_KERNELFEATURES_H

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::kiln {

/// Bumped whenever kernelFeatures() changes meaning or order.
constexpr int kFeatureVersion = 1;

enum class KernelKind {
  MatMul,       // C[m,n] (+)= A[m,k] B[k,n], B constant (packed at compile time)
  MatMulRuntimeB, // the same with B an activation (read in place or stack-packed)
  BatchMatMul,  // batch > 1 independent products (attention)
  Conv,         // direct NCHW conv: m = filters, n = output columns, k = C*KH*KW
};
const char *kernelKindName(KernelKind kind);

/// One kernel as the codegen will emit it.
struct KernelDesc {
  KernelKind kind = KernelKind::MatMul;
  // Contraction extents (conv mapped as in ConvKernel.cpp).
  int64_t batch = 1, m = 1, n = 1, k = 1;
  // Configuration: mr x nr register tile, K blocks of kc.
  int64_t mr = 1, nr = 8, kc = 256;
  // Target core.
  unsigned vectorBits = 256, vectorRegisters = 16;
  uint64_t l1Bytes = 32 * 1024, l2Bytes = 1024 * 1024;
  int threads = 1;
  int fusedOps = 0; // elementwise ops absorbed into the epilogue
  int elementBits = 32;

  /// "matmul b1 m128 n768 k768": the shape without the configuration
  /// (candidates of one shape share it; datasets split on it).
  std::string shapeKey() const;
};

/// The largest m, n and k among the matmul kernels of a data set: the box
/// a model trained on it can judge (CostModel::covers). Convs are left
/// out on both sides: their extents are image sizes, not layer widths.
struct KernelExtents {
  int64_t m = 0, n = 0, k = 0;
  /// Widens the box to `kernel` (a conv leaves it as it is).
  void include(const KernelDesc &kernel);
  /// Whether `kernel` is a conv or its m, n and k all lie within the box.
  bool contains(const KernelDesc &kernel) const;
  /// "m,n,k", and back; parse() returns false on anything else.
  std::string str() const;
  bool parse(const std::string &text);
};

/// What `kiln-costmodel collect` draws (its real-model layers: m 4096 in
/// 4096x4096x64, n 4096, k 4608 in ResNet-50's 7x7 stage as a GEMM; its
/// random shapes stay inside), the box of models trained before they
/// recorded their own.
constexpr KernelExtents kCollectedMaxExtents{4096, 4096, 4608};

/// The feature vector (kFeatureVersion), see kernelFeatureNames().
std::vector<float> kernelFeatures(const KernelDesc &kernel);

/// Names of kernelFeatures()'s entries, in order.
const std::vector<std::string> &kernelFeatureNames();

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_KERNELFEATURES_H

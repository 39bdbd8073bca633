//===- KernelConfig.h - tile sizes for CPU kernels ----------------*- C++ -*-===//
//
// Part of kiln. The one place that turns a kernel's shape and the target
// into a configuration (register tile, cache blocking). Analytic for now;
// the learned cost model plugs in here.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_KERNELCONFIG_H
#define KILN_CODEGEN_CPU_KERNELCONFIG_H

#include <cstdint>

namespace mlir::kiln {

/// What the kernels need to know about the CPU.
struct CpuTarget {
  unsigned vectorBits = 128;     // widest float vector register
  unsigned vectorRegisters = 16; // architectural vector registers
  unsigned l1Bytes = 32 * 1024;  // data cache per core
  unsigned l2Bytes = 1024 * 1024;
  // Filled from the LLVM target machine by describeCpuTarget (ObjectEmitter).
};

/// C[m, n] += A[m, k] * B[k, n] with `batch` independent products.
struct ContractionShape {
  int64_t batch = 1, m = 1, n = 1, k = 1;
};

/// A register tile of `mr` rows (A broadcasts) by `nr` columns (B vectors,
/// `nr` a multiple of the vector width), over K blocks of `kc`.
struct ContractionConfig {
  int64_t mr = 1, nr = 4, kc = 256;
};

ContractionConfig chooseContractionConfig(const ContractionShape &shape,
                                          const CpuTarget &target);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_KERNELCONFIG_H

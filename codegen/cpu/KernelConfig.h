//===- KernelConfig.h - tile sizes for CPU kernels ----------------*- C++ -*-===//
//
// Part of kiln. The one place that turns a kernel's shape and the target
// into a configuration (register tile, cache blocking). Analytic for now;
// the learned cost model plugs in here.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_KERNELCONFIG_H
#define KILN_CODEGEN_CPU_KERNELCONFIG_H

#include "costmodel/CostModel.h"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::kiln {

/// What the kernels need to know about the CPU.
struct CpuTarget {
  unsigned vectorBits = 128;     // widest float vector register
  unsigned vectorRegisters = 16; // architectural vector registers
  unsigned l1Bytes = 32 * 1024;  // data cache per core
  unsigned l2Bytes = 1024 * 1024;
  bool hasVnni = false; // AVX-512 VNNI (vpdpbusd on 512-bit vectors)
  // Widest x86 pmaddwd (i16 pairs multiplied and added into i32): 128
  // (SSE2), 256 (AVX2), 512 (AVX-512BW); 0 when the target has none.
  unsigned pmaddwdBits = 0;
  // AVX512_BF16: vdpbf16ps (bf16 pairs multiplied and added into f32).
  bool hasBf16Dot = false;
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

/// The hand-written choice (measured on AVX-512 for 1024^3): two vectors of
/// columns, as many rows as registers allow up to 10, kc from L2 (all of K
/// for a kernel that does not block K, as contractionCandidates says).
ContractionConfig chooseContractionConfig(const ContractionShape &shape,
                                          const CpuTarget &target,
                                          bool blocksK = true);

/// Every configuration the kernels can emit for `shape` without spilling
/// the register tile: nr of 1, 2 or 4 vectors, mr up to what the register file
/// holds (at most m), kc in {64, ..., 512} and deeper blocks up to 1024 or
/// all of k while the kc x nr block of B fits 64 KiB (at most k; only k
/// when the kernel does not block K).
std::vector<ContractionConfig>
contractionCandidates(const ContractionShape &shape, const CpuTarget &target,
                      bool blocksK);

/// The kernel the cost model sees for one candidate.
KernelDesc describeKernel(const ContractionShape &shape, KernelKind kind,
                          const ContractionConfig &config,
                          const CpuTarget &target);

/// How a kernel's configuration is decided.
struct KernelChoiceOptions {
  const CostModel *model = nullptr; // null: chooseContractionConfig
  std::optional<ContractionConfig> forced; // kiln-costmodel collect
  /// The panel width is already fixed: the constant B was packed for it by
  /// another kernel (say a decoder's prefill and decode entries sharing a
  /// weight), and a second packing would store the weight twice. The model
  /// ranks only candidates of that width.
  std::optional<int64_t> nr;
  /// Constant-weight matmuls and convolutions multiply bf16 pairs with
  /// vdpbf16ps (kiln compile --precision=bf16; 512-bit AVX512_BF16).
  bool bf16 = false;
};

/// A decision and, for `kiln compile --report`, what it weighed.
struct ContractionChoice {
  ContractionConfig config;
  std::string summary; // "" when no model ranked candidates
};

ContractionChoice chooseContraction(const ContractionShape &shape,
                                    KernelKind kind, const CpuTarget &target,
                                    const KernelChoiceOptions &options);

/// "mr,nr,kc" -> config (for --force-config); nullopt if malformed.
std::optional<ContractionConfig> parseContractionConfig(const std::string &s);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_KERNELCONFIG_H

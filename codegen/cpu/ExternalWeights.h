//===- ExternalWeights.h - weights moved into a sidecar file ------*- C++ -*-===//
//
// Part of kiln. For `kiln compile --weights=external`: takes the weight
// arrays out of the LLVM module into the bytes of a file whose size and
// kiln_weights_checksum the descriptor records; the runtime verifies both
// before any kernel reads a weight (kiln_model_load_weights).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_EXTERNALWEIGHTS_H
#define KILN_CODEGEN_CPU_EXTERNALWEIGHTS_H

#include "mlir/Support/LLVM.h"
#include <cstdint>
#include <string>
#include <vector>

namespace llvm {
class GlobalVariable;
class Module;
} // namespace llvm

namespace mlir {
namespace kiln {

/// The contents of the weight file.
struct ExternalWeights {
  std::string fileName;   // recorded in the descriptor: a base name
  std::vector<char> bytes; // every weight at a KILN_ALIGNMENT multiple
  uint64_t checksum = 0;  // kiln_weights_checksum(bytes)
};

/// Default for the most weight bytes an object embeds: x86-64's default
/// code model reaches data with 32-bit PC-relative offsets, so beyond this a
/// model needs --weights=external.
constexpr uint64_t kDefaultMaxEmbeddedWeightBytes = uint64_t(3) << 29; // 1.5 GiB

/// Bytes of weight data (constant arrays of at least a cache line) that
/// `module` would embed.
uint64_t embeddedWeightBytes(const llvm::Module &module);

/// Moves the weight arrays of `module` into `out.bytes` and rewrites their
/// readers to address them through a new private pointer global (the
/// weights slot, returned). Returns null and sets `error` on failure.
llvm::GlobalVariable *moveWeightsToFile(llvm::Module &module,
                                        StringRef symbolPrefix,
                                        ExternalWeights &out,
                                        std::string &error);

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_CPU_EXTERNALWEIGHTS_H

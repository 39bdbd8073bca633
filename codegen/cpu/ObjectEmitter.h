//===- ObjectEmitter.h - LLVM dialect -> native object ------------*- C++ -*-===//
//
// Part of kiln. Translates the lowered module to LLVM IR in-process, adds
// the runtime ABI (entry wrappers and the kiln_model_desc descriptor of
// kiln/abi.h), optimizes it for the target CPU and writes an object file
// through LLVM's TargetMachine. No external tools.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_OBJECTEMITTER_H
#define KILN_CODEGEN_CPU_OBJECTEMITTER_H

#include "codegen/Artifact.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"
#include <memory>
#include <string>

#include "codegen/cpu/ExternalWeights.h"
#include "codegen/cpu/KernelConfig.h"

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir {
namespace kiln {

struct CpuTargetOptions {
  std::string triple;   // empty: the host's
  std::string cpu;      // empty: the host's ("native")
  std::string features; // empty: the host's; else "+avx2,+fma,-avx512f"
  unsigned optLevel = 3;
  /// Also export KILN_GENERIC_DESCRIPTOR_SYMBOL (for shared libraries that
  /// are loaded by path without knowing the model name).
  bool genericDescriptor = false;
  /// Embedded weights beyond this are refused (see ExternalWeights.h).
  uint64_t maxEmbeddedWeightBytes = kDefaultMaxEmbeddedWeightBytes;
};

/// Creates the target machine, or returns null and sets `error`.
std::unique_ptr<llvm::TargetMachine>
createCpuTargetMachine(const CpuTargetOptions &options, std::string &error);

/// Whether code built for `options` can run on this machine: the host's
/// architecture, and no instruction-set feature the host lacks. If not,
/// `why` says what differs (a cross-compile: nothing built for it may be
/// run here, e.g. by --report's timing or calibration).
bool targetRunsOnHost(const CpuTargetOptions &options, std::string &why);

/// The vector width, register count and caches the kernels are tuned for.
CpuTarget describeCpuTarget(const llvm::TargetMachine &tm);

/// Translates an LLVM-dialect `module` into LLVM IR for `tm` and adds the
/// entry wrappers and descriptor described by `model`. With `external`
/// (its fileName set), the weights go into `external->bytes` instead of the
/// module; otherwise more than options.maxEmbeddedWeightBytes is an error.
FailureOr<std::unique_ptr<llvm::Module>>
buildLLVMModule(ModuleOp module, const ModelSignature &model,
                llvm::TargetMachine &tm, const CpuTargetOptions &options,
                llvm::LLVMContext &llvmContext,
                ExternalWeights *external = nullptr);

/// Runs LLVM's optimization pipeline at `optLevel`.
void optimizeLLVMModule(llvm::Module &module, llvm::TargetMachine &tm,
                        unsigned optLevel);

/// Emits `module` as a relocatable object into `out`.
LogicalResult emitObjectFile(llvm::Module &module, llvm::TargetMachine &tm,
                             SmallVectorImpl<char> &out, std::string &error);

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_CPU_OBJECTEMITTER_H

//===- CpuPipeline.h - kiln -> LLVM dialect for CPUs --------------*- C++ -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_CPUPIPELINE_H
#define KILN_CODEGEN_CPU_CPUPIPELINE_H

#include "codegen/cpu/KernelConfig.h"

#include <cstdint>
#include <functional>
#include <optional>

namespace mlir {
class OpPassManager;
namespace kiln {

struct CpuPipelineOptions {
  /// The CPU the kernels are tuned for (vector width, registers, caches).
  CpuTarget target;
  /// Plugin insertion point "before-llvm": runs on the module after
  /// bufferization and memory planning, before conversion to the LLVM
  /// dialect.
  std::function<void(OpPassManager &)> beforeLLVM;
  /// kiln-outline-parallel's min-parallel-work (unset: the pass default):
  /// estimated ops below which a parallel loop stays on one thread.
  std::optional<int64_t> minParallelWork;
  /// Its min-parallel-weight-bytes (unset: the pass default).
  std::optional<int64_t> minParallelWeightBytes;
  /// Kernel configurations: a cost model spec for kiln-lower-contractions
  /// (learned, analytic, stub, a model file; empty: the hand-written
  /// choice) and a configuration forced on every kernel ("mr,nr,kc").
  std::string costModel;
  std::string forceConfig;
  /// Constant-weight matmuls and ungrouped convs multiply in bf16 with
  /// vdpbf16ps (f32 accumulation); needs target.hasBf16Dot (kiln compile
  /// --precision=bf16).
  bool bf16 = false;
};

/// Lowers a module of kiln (and linalg/tensor) ops to the LLVM dialect:
/// kiln -> linalg on tensors -> elementwise fusion -> bufferization with
/// outputs as out-params -> static memory plan (one workspace) -> loops ->
/// LLVM dialect with bare-pointer calling convention. Entry functions keep
/// the signature (inputs..., outputs..., workspace, exec) as plain pointers;
/// exec is the runtime's handle that parallel loops are dispatched through.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_CPU_CPUPIPELINE_H

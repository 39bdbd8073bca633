//===- ContractionUtils.h - shared pieces of the CPU kernels ------*- C++ -*-===//
//
// Part of kiln. Matching and constant-packing helpers shared by the matmul
// (LowerContractions.cpp) and convolution (ConvKernel.cpp) kernels.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_CONTRACTIONUTILS_H
#define KILN_CODEGEN_CPU_CONTRACTIONUTILS_H

#include "codegen/cpu/KernelConfig.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::kiln {

/// The body is `out + in0 * in1` in f32 (either operand order).
bool isMultiplyAccumulate(linalg::GenericOp op);

/// The f32 values of a constant global, or nullopt.
std::optional<std::vector<float>> readF32Global(memref::GlobalOp global);

/// The constant global `value` reads (through memref.get_global), or null.
memref::GlobalOp constantGlobalOf(Value value);

/// A new private constant f32 global next to `near`, 64-byte aligned,
/// holding `data` (row-major, `shape`); the name is made unique.
memref::GlobalOp createConstantGlobal(memref::GlobalOp near, StringRef name,
                                      ArrayRef<int64_t> shape,
                                      ArrayRef<float> data);

/// Lowers an f32 NCHW 2-D convolution generic (constant weights, group 1)
/// to a register-tiled vector kernel; returns false (IR untouched) when
/// `op` is not one. Erases `op` on success; `packedSources` collects the
/// weight globals that may now be dead.
bool lowerConv2D(linalg::GenericOp op, const CpuTarget &target,
                 SmallVectorImpl<memref::GlobalOp> &packedSources);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_CONTRACTIONUTILS_H

//===- Passes.td - kiln code generation passes --------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalgPass : Pass<"convert-kiln-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lowers kiln ops to linalg/tensor/arith/math on tensors.";
  let description = [{
    Every kiln op becomes destination-style linalg ops (mostly
    `linalg.generic`) plus tensor/arith/math ops, still on tensors, ready for
    fusion, tiling and bufferization. Constants become `arith.constant`
    with the same elements attribute (dense_resource blobs stay blobs).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def KilnPlanMemoryPass : Pass<"kiln-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Places every intermediate buffer in one static workspace.";
  let description = [{
    After bufferization, replaces each statically shaped `memref.alloc` in a
    function marked `kiln.entry` with a `memref.view` into a new trailing
    workspace argument (`memref<Nxi8>`). Offsets come from a first-fit plan
    over buffer live ranges, aligned to 64 bytes; buffers whose live ranges
    do not overlap share bytes. The total is recorded in the function's
    `kiln.workspace_bytes` attribute. Deallocations are removed: the run path
    never calls malloc or free.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // KILN_CODEGEN_PASSES

//===- CpuPipeline.cpp - kiln -> LLVM dialect for CPUs --------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/CpuPipeline.h"

#include "codegen/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::kiln::buildCpuPipeline(OpPassManager &pm,
                                  const CpuPipelineOptions &options) {
  // Tensors: kiln -> linalg, then fuse elementwise chains so fewer
  // intermediates exist at all.
  ConvertKilnToLinalgPassOptions toLinalg;
  // bf16 convs run in the channel-vector kernel, strided ones too.
  toLinalg.columnPhases = !options.bf16;
  pm.addPass(createConvertKilnToLinalgPass(toLinalg));
  pm.addPass(createKilnEmptyTensorBoundaryPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  KilnFuseElementwisePassOptions fusion;
  fusion.costModel = options.costModel;
  fusion.vectorBits = options.target.vectorBits;
  fusion.l2Bytes = options.target.l2Bytes;
  pm.addPass(createKilnFuseElementwisePass(fusion));
  pm.addPass(createCanonicalizerPass());
  // Named ops (linalg.matmul, ...) become generics so the interchange
  // below sees them too.
  pm.addPass(createLinalgGeneralizeNamedOpsPass());
  pm.addPass(createKilnInterchangeReductionsPass());

  // Buffers: inputs are the caller's (read-only), outputs become out-params
  // written in place, every other buffer lands in the planned workspace.
  pm.addPass(createKilnUnshareFillsPass());
  pm.addPass(createKilnProtectInputsPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.bufferAlignment = 64;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createKilnFillPadBordersPass());
  // Matmul-like ops become register-tiled vector kernels (constant weights
  // packed now) before the workspace is planned.
  KilnLowerContractionsPassOptions contractions;
  contractions.vectorBits = options.target.vectorBits;
  contractions.vectorRegisters = options.target.vectorRegisters;
  contractions.l1Bytes = options.target.l1Bytes;
  contractions.l2Bytes = options.target.l2Bytes;
  contractions.costModel = options.costModel;
  contractions.forceConfig = options.forceConfig;
  contractions.vnni = options.target.hasVnni;
  contractions.pmaddwdBits = options.target.pmaddwdBits;
  contractions.bf16 = options.bf16;
  pm.addPass(createKilnLowerContractionsPass(contractions));
  pm.addPass(createKilnDedupeGlobalsPass());
  pm.addPass(createKilnPlanMemoryPass());
  pm.addPass(createKilnFlattenGlobalsPass());

  if (options.beforeLLVM)
    options.beforeLLVM(pm);

  // Loops and LLVM.
  pm.addPass(createKilnLowerStridedCopiesPass());
  // Parallel dims of linalg ops become scf.parallel; the outermost ones of
  // the entry kernel then run on the runtime's thread pool through the
  // kernel's exec argument (small ones stay serial).
  pm.addNestedPass<func::FuncOp>(createKilnLinalgToLoopsPass());
  // scf.forall (the cached attention's heads) joins the parallel loops.
  pm.addPass(createForallToParallelLoopPass());
  KilnOutlineParallelPassOptions outline;
  if (options.minParallelWork)
    outline.minParallelWork = *options.minParallelWork;
  if (options.minParallelWeightBytes)
    outline.minParallelWeightBytes = *options.minParallelWeightBytes;
  pm.addPass(createKilnOutlineParallelPass(outline));
  // bf16 arithmetic runs in f32, rounded after each op (LLVM's own
  // promotion would call __truncsfbf2, which the artifact cannot link; the
  // conversions themselves are expanded by kiln-approximate-math).
  arith::ArithEmulateUnsupportedFloatsOptions bf16InF32;
  bf16InF32.sourceTypeStrs = {"bf16"};
  bf16InF32.targetTypeStr = "f32";
  pm.addPass(arith::createArithEmulateUnsupportedFloats(bf16InF32));
  KilnSimplifyRequantizePassOptions requantize;
  requantize.x86Avx512 =
      options.target.pmaddwdBits != 0 && options.target.vectorBits >= 512;
  pm.addPass(createKilnSimplifyRequantizePass(requantize));
  pm.addPass(createKilnApproximateMathPass());
  pm.addPass(createConvertMathToFuncs()); // integer powers (math.ipowi)
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Math before vectors: math-to-libm scalarizes a vector op it has no
  // intrinsic for (acoshf on a vector<8xf32>) into vector.extract and
  // vector.from_elements, which vector-to-llvm must still see.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  ConvertFuncToLLVMPassOptions funcToLLVM;
  funcToLLVM.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcToLLVM));
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

//===- Pipeline.cpp - kiln's pass pipelines and insertion points ----------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipeline.h"

#include "mlir/Pass/PassManager.h"
#include "passes/Conv/Passes.h"
#include "passes/Fusion/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
struct PointName {
  InsertionPoint point;
  const char *name;
};
constexpr PointName kPoints[] = {
    {InsertionPoint::AfterImport, "after-import"},
    {InsertionPoint::BeforeQuantize, "before-quantize"},
    {InsertionPoint::AfterFusion, "after-fusion"},
    {InsertionPoint::BeforeLowering, "before-lowering"},
    {InsertionPoint::BeforeLLVM, "before-llvm"},
};
} // namespace

StringRef mlir::kiln::insertionPointName(InsertionPoint point) {
  for (const PointName &p : kPoints)
    if (p.point == point)
      return p.name;
  return "unknown";
}

std::optional<InsertionPoint> mlir::kiln::parseInsertionPoint(StringRef name) {
  for (const PointName &p : kPoints)
    if (name == p.name)
      return p.point;
  return std::nullopt;
}

std::string mlir::kiln::insertionPointList() {
  std::string list;
  for (const PointName &p : kPoints)
    list += (list.empty() ? "" : ", ") + std::string(p.name);
  return list;
}

void mlir::kiln::buildGraphPipeline(OpPassManager &pm,
                                    const GraphPipelineOptions &options) {
  auto hook = [&](InsertionPoint point) {
    if (options.hook)
      options.hook(point, pm);
  };
  hook(InsertionPoint::AfterImport);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  hook(InsertionPoint::BeforeQuantize);
  // QDQ models' dequantized matmuls: integer products (before kiln's own
  // quantization modes, which leave integer matmuls alone).
  pm.addPass(createKilnFoldQDQPass());
  // Their integer convs in NHWC, transposes only at the chain's ends.
  pm.addPass(createKilnChannelsLastConvPass());
  if (options.weightQuantize)
    pm.addPass(createKilnWeightQuantizePass(*options.weightQuantize));
  if (options.smoothQuant)
    pm.addPass(createKilnSmoothQuantPass(*options.smoothQuant));
  if (options.w8a8Quantize)
    pm.addPass(createKilnW8A8QuantizePass(*options.w8a8Quantize));
  if (options.lmul)
    pm.addPass(createKilnLMulPass(*options.lmul));
  // Fusion: batch norms into the convs before them (after L-Mul, which
  // keeps its convs' original weights); attention written op by op into
  // kiln.attention (after quantization and L-Mul, which keep the matmuls
  // they changed, and before kv-layout, which looks for kiln.attention).
  pm.addPass(createKilnFoldBatchNormPass());
  // Winograd marks convs by their final (batch-norm folded) weights.
  if (options.winograd)
    pm.addPass(createKilnWinogradPass(*options.winograd));
  pm.addPass(createKilnFuseAttentionPass());
  pm.addPass(createCanonicalizerPass());
  hook(InsertionPoint::AfterFusion);
  if (options.kvLayout)
    pm.addPass(createKilnKVLayoutPass(*options.kvLayout));
  hook(InsertionPoint::BeforeLowering);
}

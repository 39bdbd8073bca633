//===- TestPlugin.cpp - a pass plugin for kiln's plugin tests -------------===//
//
// Part of kiln. Built as a loadable module; registers one pass,
// `kiln-test-relu-to-clip`, that rewrites kiln.relu as kiln.clip [0, inf),
// an effect lit tests can see in --emit=mlir.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnDialect.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include <limits>

using namespace mlir;

namespace {
struct ReluToClipPass
    : PassWrapper<ReluToClipPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ReluToClipPass)
  StringRef getArgument() const final { return "kiln-test-relu-to-clip"; }
  StringRef getDescription() const final {
    return "Rewrites kiln.relu as kiln.clip (plugin test)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<kiln::KilnDialect>();
  }
  void runOnOperation() override {
    getOperation().walk([](kiln::ReluOp relu) {
      OpBuilder b(relu);
      auto clip = kiln::ClipOp::create(
          b, relu.getLoc(), relu.getType(), relu.getInput(),
          b.getF64FloatAttr(0.0),
          b.getF64FloatAttr(std::numeric_limits<double>::infinity()));
      relu.replaceAllUsesWith(clip.getResult());
      relu.erase();
    });
  }
};
} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "KilnTestPlugin", "v1",
          []() { PassRegistration<ReluToClipPass>(); }};
}

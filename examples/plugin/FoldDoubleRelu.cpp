//===- FoldDoubleRelu.cpp - an example kiln pass plugin --------------------===//
//
// Part of kiln's examples. A pass plugin built out of tree against an
// installed kiln (see CMakeLists.txt). It registers one pass,
// `kiln-fold-double-relu`, that rewrites kiln.relu(kiln.relu(x)) as
// kiln.relu(x): relu is idempotent. With `{report=true}` it prints how many
// it folded to stderr.
//
// kiln and kiln-opt load it with --load-pass-plugin, through MLIR's plugin
// ABI: the exported function mlirGetPassPluginInfo() returns the API version
// it was compiled against and a callback that registers the passes.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnDialect.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {
struct FoldDoubleReluPass
    : PassWrapper<FoldDoubleReluPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(FoldDoubleReluPass)

  FoldDoubleReluPass() = default;
  FoldDoubleReluPass(const FoldDoubleReluPass &other) : PassWrapper(other) {}

  StringRef getArgument() const final { return "kiln-fold-double-relu"; }
  StringRef getDescription() const final {
    return "Folds kiln.relu(kiln.relu(x)) into kiln.relu(x) (example plugin)";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<kiln::KilnDialect>();
  }

  void runOnOperation() override {
    unsigned count = 0;
    // Post-order walk: erasing the visited op is allowed.
    getOperation().walk([&](kiln::ReluOp outer) {
      auto inner = outer.getInput().getDefiningOp<kiln::ReluOp>();
      if (!inner)
        return;
      outer.getResult().replaceAllUsesWith(inner.getResult());
      outer.erase();
      ++count;
    });
    folded += count;
    if (report)
      llvm::errs() << "kiln-fold-double-relu: folded " << count
                   << " kiln.relu\n";
  }

  Option<bool> report{*this, "report",
                      llvm::cl::desc("Print how many kiln.relu were folded"),
                      llvm::cl::init(false)};
  Statistic folded{this, "folded", "kiln.relu folded into their operand"};
};
} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "KilnFoldDoubleRelu", "0.1",
          []() { PassRegistration<FoldDoubleReluPass>(); }};
}

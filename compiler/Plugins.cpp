//===- Plugins.cpp - pass plugins at the pipeline's insertion points ------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "compiler/Plugins.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"
#include <memory>
#include <utility>
#include <vector>

using namespace mlir;
using namespace mlir::kiln;

bool mlir::kiln::loadPassPlugins(llvm::ArrayRef<std::string> paths,
                                 std::string &error) {
  for (const std::string &path : paths) {
    llvm::Expected<PassPlugin> plugin = PassPlugin::load(path);
    if (!plugin) {
      error = "cannot load pass plugin '" + path +
              "': " + llvm::toString(plugin.takeError()) +
              " (plugins must be built against MLIR " LLVM_VERSION_STRING
              " and export mlirGetPassPluginInfo)";
      return false;
    }
    plugin->registerPassRegistryCallbacks();
  }
  return true;
}

bool mlir::kiln::parsePluginPipelines(llvm::ArrayRef<std::string> specs,
                                      PipelineHook &hook, std::string &error) {
  auto pipelines =
      std::make_shared<std::vector<std::pair<InsertionPoint, std::string>>>();
  for (const std::string &spec : specs) {
    auto [pointName, pipeline] = llvm::StringRef(spec).split(':');
    std::optional<InsertionPoint> point = parseInsertionPoint(pointName.trim());
    if (!point || pipeline.trim().empty()) {
      error = "--plugin-pipeline '" + spec +
              "': expected POINT:PIPELINE with POINT one of " +
              insertionPointList();
      return false;
    }
    // Parse once now, into a throwaway pass manager, to report mistakes.
    OpPassManager probe(ModuleOp::getOperationName());
    std::string message;
    llvm::raw_string_ostream os(message);
    if (failed(parsePassPipeline(pipeline.trim(), probe, os))) {
      error = "--plugin-pipeline '" + spec + "': " + message;
      return false;
    }
    pipelines->push_back({*point, pipeline.trim().str()});
  }
  if (pipelines->empty())
    return true;
  PipelineHook previous = hook;
  hook = [pipelines, previous](InsertionPoint point, OpPassManager &pm) {
    if (previous)
      previous(point, pm);
    for (const auto &[at, pipeline] : *pipelines)
      if (at == point)
        (void)parsePassPipeline(pipeline, pm); // validated above
  };
  return true;
}

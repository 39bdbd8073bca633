//===- BadPlugin.cpp - broken pass plugins for kiln's plugin tests --------===//
//
// Part of kiln. Built twice (test/Plugins/CMakeLists.txt):
//  - KILN_BAD_PLUGIN_API_VERSION: exports mlirGetPassPluginInfo with another
//    plugin API version, as a plugin built against another MLIR would;
//  - otherwise: a shared library without mlirGetPassPluginInfo at all.
// kiln and kiln-opt must refuse both with a message, not crash.
//
//===----------------------------------------------------------------------===//

#include "mlir/Tools/Plugins/PassPlugin.h"

#ifdef KILN_BAD_PLUGIN_API_VERSION
extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION + 1, "KilnTestPluginBadVersion", "v1",
          []() {}};
}
#else
extern "C" int kilnTestPluginWithoutEntryPoint() { return 0; }
#endif

//===- kiln-opt.cpp - MlirOptMain with every kiln dialect and pass ---------===//
//
// Part of kiln. The driver lit tests use to run single passes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Plugins.h"
#include "compiler/Registration.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"
#include <string>
#include <vector>

int main(int argc, char **argv) {
  // Pass plugins are loaded here, before MlirOptMain parses the command
  // line: MlirOptMain's own --load-pass-plugin only warns ("Request
  // ignored") and carries on when a plugin cannot be loaded, and the passes
  // it loads cannot be named as --PASS flags (those are fixed before it
  // runs). Loaded here, a bad plugin is an error with the loader's reason,
  // and `kiln-opt --load-pass-plugin=p.so --my-pass` works.
  std::vector<std::string> plugins;
  std::vector<char *> args;
  bool options = true; // false after "--": the rest is passed on as is
  for (int i = 0; i < argc; ++i) {
    llvm::StringRef arg(argv[i]);
    if (i > 0 && options) {
      if (arg == "--")
        options = false;
      if (arg.consume_front("--load-pass-plugin=") ||
          arg.consume_front("-load-pass-plugin=")) {
        plugins.push_back(arg.str());
        continue;
      }
      if ((arg == "--load-pass-plugin" || arg == "-load-pass-plugin") &&
          i + 1 < argc) {
        plugins.push_back(argv[++i]);
        continue;
      }
    }
    args.push_back(argv[i]);
  }
  std::string error;
  if (!mlir::kiln::loadPassPlugins(plugins, error)) {
    llvm::errs() << "kiln-opt: error: " << error << "\n";
    return 1;
  }

  mlir::DialectRegistry registry;
  mlir::kiln::registerAllDialects(registry);
  mlir::kiln::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      static_cast<int>(args.size()), args.data(), "kiln optimizer driver\n",
      registry));
}

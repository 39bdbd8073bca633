//===- OnnxImportFuzzer.cpp - libFuzzer target for the ONNX importer -------===//
//
// Part of kiln. Feeds arbitrary bytes to the ONNX importer as a model file
// (importOnnxFile, the path `kiln compile` takes) and checks that it either
// fails with a diagnostic or returns a module that verifies. A crash, a
// sanitizer report, a leak or an unverifiable module is a finding.
//
// Built by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined);
// crashes it found are kept in test/fuzz/regressions/ and replayed by
// the fuzz run and by test/fuzz/regressions.test.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/Importer.h"
#include "dialects/Kiln/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace mlir;

namespace {
/// A private folder holding the one model file each input is written to.
/// External-data locations in an input resolve inside it (and must not
/// leave it), where nothing else lies.
std::string &modelPath() {
  static std::string path;
  return path;
}

void removeWorkFolder() {
  if (modelPath().empty())
    return;
  llvm::sys::fs::remove(modelPath());
  llvm::sys::fs::remove(llvm::sys::path::parent_path(modelPath()));
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("kiln-onnx-fuzz", dir)) {
    std::fprintf(stderr, "kiln-onnx-fuzz: cannot create a temporary folder: %s\n",
                 ec.message().c_str());
    std::abort();
  }
  llvm::sys::path::append(dir, "model.onnx");
  modelPath() = dir.str().str();
  std::atexit(removeWorkFolder);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(modelPath(), ec);
    if (ec) {
      std::fprintf(stderr, "kiln-onnx-fuzz: cannot write '%s': %s\n",
                   modelPath().c_str(), ec.message().c_str());
      std::abort();
    }
    os.write(reinterpret_cast<const char *>(data), size);
  }

  MLIRContext ctx(MLIRContext::Threading::DISABLED);
  ctx.loadDialect<kiln::KilnDialect, func::FuncDialect>();
  // Errors are the expected outcome for most inputs: count, do not print.
  unsigned errors = 0;
  ctx.getDiagEngine().registerHandler([&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      ++errors;
    return success();
  });

  kiln::onnx::ImportOptions options;
  FailureOr<OwningOpRef<ModuleOp>> module =
      kiln::onnx::importOnnxFile(ctx, modelPath(), options);
  if (failed(module)) {
    if (errors == 0) {
      std::fprintf(stderr, "kiln-onnx-fuzz: import failed without an error "
                           "message\n");
      std::abort();
    }
    return 0;
  }
  if (failed(verify(module->get()))) {
    std::fprintf(stderr,
                 "kiln-onnx-fuzz: the importer returned a module that does "
                 "not verify\n");
    std::abort();
  }
  return 0;
}

//===- Compiler.cpp - the C++ API the kiln tools call ---------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"

#include "codegen/Artifact.h"
#include "codegen/HeaderEmitter.h"
#include "codegen/cpu/CpuPipeline.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include <chrono>

using namespace mlir;
using namespace mlir::kiln;

std::string mlir::kiln::defaultModelName(StringRef outputPath) {
  StringRef stem = llvm::sys::path::stem(outputPath);
  return sanitizeIdentifier(stem.empty() ? "model" : stem);
}

namespace {
/// Times the stages of one compile for --timings.
class StageTimer {
public:
  explicit StageTimer(llvm::raw_ostream *os) : os(os) {}
  void done(StringRef stage) {
    auto now = std::chrono::steady_clock::now();
    if (os)
      *os << llvm::format("kiln: %-12s %8.1f ms\n", stage.str().c_str(),
                          std::chrono::duration<double, std::milli>(now - last)
                              .count());
    last = now;
  }

private:
  llvm::raw_ostream *os;
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
};

/// Writes `contents` to `path` through a temporary file, so a failed
/// compile never leaves a half-written artifact behind.
LogicalResult writeFile(MLIRContext &ctx, StringRef path,
                        llvm::function_ref<void(llvm::raw_ostream &)> write,
                        CompileResult &result) {
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return emitError(UnknownLoc::get(&ctx))
           << "cannot write '" << path << "': " << ec.message();
  write(out.os());
  out.os().flush();
  if (out.os().has_error())
    return emitError(UnknownLoc::get(&ctx))
           << "cannot write '" << path << "': " << out.os().error().message();
  out.keep();
  result.files.push_back(path.str());
  return success();
}

LogicalResult printModule(MLIRContext &ctx, ModuleOp module, StringRef path,
                          CompileResult &result) {
  return writeFile(
      ctx, path,
      [&](llvm::raw_ostream &os) {
        OpPrintingFlags flags;
        flags.elideLargeResourceString(64);
        module->print(os, flags);
        os << "\n";
      },
      result);
}

LogicalResult runPasses(ModuleOp module, PassManager &pm) {
  pm.enableVerifier(true);
  return pm.run(module);
}

/// Links an object into a shared library with the system C compiler
/// driver (the platform's linker; nothing else of the toolchain is used).
LogicalResult linkSharedLibrary(MLIRContext &ctx, StringRef object,
                                StringRef output) {
  std::string linker;
  for (const char *candidate : {"cc", "gcc", "clang"})
    if (auto path = llvm::sys::findProgramByName(candidate)) {
      linker = *path;
      break;
    }
  if (linker.empty())
    return emitError(UnknownLoc::get(&ctx))
           << "cannot produce a shared library: no system linker driver (cc, "
              "gcc or clang) on PATH; emit an object with -o model.o instead";
  SmallString<128> temp(output);
  temp += ".tmp";
  std::string tempStr = temp.str().str();
  SmallVector<StringRef> args = {linker, "-shared", "-o", tempStr, object,
                                 "-lm", "-Wl,-z,noexecstack"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    llvm::sys::fs::remove(temp);
    return emitError(UnknownLoc::get(&ctx))
           << "linking '" << output << "' failed (" << linker << " exited with "
           << rc << (message.empty() ? "" : ": " + message) << ")";
  }
  if (std::error_code ec = llvm::sys::fs::rename(temp, output))
    return emitError(UnknownLoc::get(&ctx))
           << "cannot write '" << output << "': " << ec.message();
  return success();
}
} // namespace

LogicalResult mlir::kiln::compileModel(MLIRContext &context,
                                       const CompileOptions &options,
                                       CompileResult &result) {
  StageTimer timer(options.timings);
  std::string name =
      options.name.empty() ? defaultModelName(options.outputPath) : options.name;
  if (name != sanitizeIdentifier(name))
    return emitError(UnknownLoc::get(&context))
           << "--name '" << name << "' is not a C identifier (try '"
           << sanitizeIdentifier(name) << "')";

  OwningOpRef<ModuleOp> module;
  if (StringRef(options.inputPath).ends_with(".mlir")) {
    // kiln-dialect IR (e.g. saved with --emit=mlir) compiles like a model.
    module = parseSourceFile<ModuleOp>(options.inputPath, &context);
    if (!module)
      return failure();
  } else {
    auto imported =
        onnx::importOnnxFile(context, options.inputPath, options.import);
    if (failed(imported))
      return failure();
    module = std::move(*imported);
  }
  timer.done("import");
  if (options.emit == EmitKind::ImportedMlir)
    return printModule(context, *module, options.outputPath, result);

  PassManager graph(&context);
  buildGraphPipeline(graph, {options.hook});
  if (failed(runPasses(*module, graph)))
    return failure();
  timer.done("graph passes");
  if (options.emit == EmitKind::Mlir)
    return printModule(context, *module, options.outputPath, result);

  FailureOr<ModelSignature> model = prepareEntries(*module, name);
  if (failed(model))
    return failure();
  PassManager codegen(&context);
  CpuPipelineOptions cpu;
  if (options.hook)
    cpu.beforeLLVM = [&](OpPassManager &pm) {
      options.hook(InsertionPoint::BeforeLLVM, pm);
    };
  buildCpuPipeline(codegen, cpu);
  if (failed(runPasses(*module, codegen)))
    return failure();
  readWorkspaceSizes(*module, *model);
  result.workspaceBytes = model->entries.front().workspaceBytes;
  timer.done("codegen");
  if (options.emit == EmitKind::LoweredMlir)
    return printModule(context, *module, options.outputPath, result);

  CpuTargetOptions target = options.target;
  target.genericDescriptor = options.emit == EmitKind::SharedLibrary;
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm = createCpuTargetMachine(target, error);
  if (!tm)
    return emitError(UnknownLoc::get(&context)) << error;
  llvm::LLVMContext llvmContext;
  auto llvmModule =
      buildLLVMModule(*module, *model, *tm, target, llvmContext);
  if (failed(llvmModule))
    return failure();
  module = nullptr; // free the MLIR copy of the weights early
  timer.done("to LLVM IR");
  optimizeLLVMModule(**llvmModule, *tm, target.optLevel);
  timer.done("LLVM opt");
  if (options.emit == EmitKind::LLVM)
    return writeFile(
        context, options.outputPath,
        [&](llvm::raw_ostream &os) { (*llvmModule)->print(os, nullptr); },
        result);

  SmallVector<char, 0> object;
  if (failed(emitObjectFile(**llvmModule, *tm, object, error)))
    return emitError(UnknownLoc::get(&context)) << error;
  timer.done("object");

  auto writeObject = [&](llvm::raw_ostream &os) {
    os.write(object.data(), object.size());
  };
  if (options.emit == EmitKind::SharedLibrary) {
    // The object only feeds the linker: keep it in a temporary file.
    SmallString<128> objectPath;
    int fd;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "kiln-" + name, "o", fd, objectPath))
      return emitError(UnknownLoc::get(&context))
             << "cannot create a temporary file: " << ec.message();
    {
      llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
      writeObject(os);
    }
    LogicalResult linked =
        linkSharedLibrary(context, objectPath, options.outputPath);
    llvm::sys::fs::remove(objectPath);
    if (failed(linked))
      return failure();
    result.files.push_back(options.outputPath);
    timer.done("link");
  } else if (failed(writeFile(context, options.outputPath, writeObject,
                              result))) {
    return failure();
  }

  SmallString<128> headerPath(options.outputPath);
  llvm::sys::path::replace_extension(headerPath, ".h");
  return writeFile(
      context, headerPath,
      [&](llvm::raw_ostream &os) {
        emitCHeader(*model, llvm::sys::path::filename(options.inputPath), os);
      },
      result);
}

//===- Compiler.cpp - the C++ API the kiln tools call ---------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "compiler/Compiler.h"

#include "codegen/Artifact.h"
#include "codegen/HeaderEmitter.h"
#include "codegen/cpu/CpuPipeline.h"
#include "costmodel/CostModel.h"
#include "kiln/abi.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "passes/KVLayout/QJLSketch.h"
#include "passes/LMul/EnergyReport.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
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

/// The files of one compile. Each is written under a temporary name next
/// to its final path; commit() renames them all into place once every one
/// is complete, so a failed compile leaves nothing behind.
class PendingOutputs {
public:
  explicit PendingOutputs(MLIRContext &ctx) : ctx(ctx) {}
  ~PendingOutputs() {
    for (const File &f : files)
      llvm::sys::fs::remove(f.temp);
  }

  /// Reserves `path`; returns the temporary path to write instead.
  FailureOr<std::string> reserve(StringRef path) {
    for (const File &f : files)
      if (f.path == path)
        return emitError(UnknownLoc::get(&ctx))
               << "two outputs of this compile would be '" << path
               << "'; choose another -o";
    if (llvm::sys::fs::is_directory(path))
      return emitError(UnknownLoc::get(&ctx))
             << "cannot write '" << path << "': it is a directory";
    SmallString<128> temp;
    int fd;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(
            path + ".tmp-%%%%%%", fd, temp))
      return emitError(UnknownLoc::get(&ctx))
             << "cannot write '" << path << "': " << ec.message();
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
    files.push_back({path.str(), temp.str().str()});
    return temp.str().str();
  }

  LogicalResult write(StringRef path,
                      llvm::function_ref<void(llvm::raw_ostream &)> write) {
    FailureOr<std::string> temp = reserve(path);
    if (failed(temp))
      return failure();
    std::error_code ec;
    llvm::raw_fd_ostream os(*temp, ec, llvm::sys::fs::OF_None);
    if (!ec) {
      write(os);
      os.close();
      ec = os.error();
    }
    if (ec)
      return emitError(UnknownLoc::get(&ctx))
             << "cannot write '" << path << "': " << ec.message();
    return success();
  }

  LogicalResult commit(CompileResult &result) {
    for (File &f : files) {
      if (std::error_code ec = llvm::sys::fs::rename(f.temp, f.path))
        return emitError(UnknownLoc::get(&ctx))
               << "cannot write '" << f.path << "': " << ec.message();
      f.temp.clear();
      result.files.push_back(f.path);
    }
    return success();
  }

private:
  struct File {
    std::string path, temp;
  };
  MLIRContext &ctx;
  std::vector<File> files;
};

LogicalResult printModule(ModuleOp module, StringRef path,
                          PendingOutputs &outputs) {
  return outputs.write(path, [&](llvm::raw_ostream &os) {
    OpPrintingFlags flags;
    flags.elideLargeResourceString(64);
    module->print(os, flags);
    os << "\n";
  });
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
  SmallVector<StringRef> args = {linker, "-shared", "-o", output, object,
                                 "-lm", "-Wl,-z,noexecstack"};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(linker, args, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0)
    return emitError(UnknownLoc::get(&ctx))
           << "linking the shared library failed (" << linker
           << " exited with " << rc << (message.empty() ? "" : ": " + message)
           << ")";
  return success();
}

/// Prints the kernels kiln-lower-contractions formed (its `kiln.kernels`
/// attribute, then removed) to `os` when set; with `bf16`, warns when none
/// of them runs in bf16 (nothing the option applies to).
void printFormedKernels(ModuleOp module, llvm::raw_ostream *os, bool bf16) {
  auto kernels = module->getAttrOfType<ArrayAttr>("kiln.kernels");
  module->removeAttr("kiln.kernels");
  if (bf16 && kernels && llvm::none_of(kernels, [](Attribute line) {
        return cast<StringAttr>(line).getValue().contains("vdpbf16ps");
      }))
    emitWarning(module.getLoc())
        << "--precision=bf16: no matmul with constant weights and no "
           "ungrouped convolution to run in bf16; everything stays f32";
  if (!os || !kernels)
    return;
  *os << "kernels formed (" << (kernels.size() - 1) << "):\n";
  for (Attribute line : kernels)
    *os << "  " << cast<StringAttr>(line).getValue() << "\n";
}

/// Prints the fuse-or-not decisions kiln-fuse-elementwise made with a cost
/// model (its `kiln.fusion` attribute, then removed) to `os` when set.
void printFusionDecisions(ModuleOp module, llvm::raw_ostream *os) {
  auto decisions = module->getAttrOfType<ArrayAttr>("kiln.fusion");
  module->removeAttr("kiln.fusion");
  if (!os || !decisions)
    return;
  *os << "fusion decisions (" << decisions.size() << "):\n";
  for (Attribute line : decisions)
    *os << "  " << cast<StringAttr>(line).getValue() << "\n";
}

/// Prints the per-op decisions a graph pass recorded in `attribute` (a
/// string on each op it decided, e.g. `kiln.quantization` of
/// --quantize=auto, `kiln.winograd_choice` of --winograd) under `title`
/// to `os` when set.
void printRecordedChoices(ModuleOp module, StringRef attribute, StringRef title,
                          llvm::raw_ostream *os) {
  if (!os)
    return;
  SmallVector<std::pair<Location, StringRef>> choices;
  module.walk([&](Operation *op) {
    if (auto why = op->getAttrOfType<StringAttr>(attribute))
      choices.push_back({op->getLoc(), why.getValue()});
  });
  if (choices.empty())
    return;
  *os << title << " (" << choices.size() << "):\n";
  for (auto [loc, why] : choices) {
    std::string where;
    if (auto name = dyn_cast<NameLoc>(loc))
      where = name.getName().str() + ": ";
    *os << "  " << where << why << "\n";
  }
}

/// Prints what `--kv auto` chose and among what (the entries' recorded
/// `kiln.kv_layout_choice`; a prefill entry repeats the decode entry's).
void printKVLayoutChoice(ModuleOp module, llvm::raw_ostream *os) {
  if (!os)
    return;
  for (auto func : module.getOps<func::FuncOp>())
    if (auto why = func->getAttrOfType<StringAttr>("kiln.kv_layout_choice")) {
      *os << "kv layout: " << why.getValue() << "\n";
      return;
    }
}

/// Imports the graph again with the prefill dim fixed and moves its entry
/// function into `module`. Its weights are separate blobs with the same
/// bytes; kiln-dedupe-globals keeps one copy of each packed weight that
/// both entries lay out alike.
LogicalResult importPrefillEntry(MLIRContext &ctx,
                                 const CompileOptions &options,
                                 ModuleOp module) {
  if (!options.kvLayout)
    return emitError(UnknownLoc::get(&ctx))
           << "--prefill needs --max-seq-len (the entries share a KV cache)";
  onnx::ImportOptions prefill = options.import;
  prefill.shapes[options.prefillDim] = {options.prefillTokens};
  prefill.functionName = "prefill";
  prefill.warnUnusedCheckpointTensors = false; // the decode import warns
  auto imported = onnx::importOnnxFile(ctx, options.inputPath, prefill);
  if (failed(imported))
    return failure();
  for (auto func :
       llvm::make_early_inc_range((*imported)->getOps<func::FuncOp>())) {
    func->remove();
    module.push_back(func);
  }
  return success();
}

/// The KV cache's bytes per token for --report: the states with a row per
/// token (dim 2 of max-seq-len rows), and apart from them the fixed ones
/// (QJL's recent-key windows, ThinK's observed queries and channels).
/// ThinK keys: the bytes a pruned token keeps (T of D channels). Paged
/// caches: the pool, its blocks and the block table.
void printKVCache(const ModelSignature &model, llvm::raw_ostream &os) {
  if (model.states.empty() || model.maxSeqLen <= 0)
    return;
  uint64_t perToken = 0, fixed = 0, caches = 0;
  uint64_t prunedKeyBytes = 0, wholeKeyBytes = 0;
  int64_t kept = 0, headDim = 0;
  bool scales = false, qjl = false, grouped = false;
  // Paged: pool blocks, the pool's bytes, the table's bytes.
  int64_t poolBlocks = 0;
  uint64_t poolBytes = 0, tableBytes = 0;
  int32_t rowType = 0;
  for (const StateSignature &state : model.states) {
    StringRef name = state.name;
    if (state.flags & KILN_STATE_BLOCK_TABLE) {
      tableBytes += state.bytes();
      continue;
    }
    if (!rowType)
      rowType = state.dtype;
    if (state.flags & KILN_STATE_PAGED) {
      poolBlocks = state.shape[0];
      poolBytes += state.bytes();
      perToken += state.bytes() / uint64_t(state.shape[0] * state.shape[2]);
      scales |= name.ends_with(".scales");
      if (!name.ends_with(".scales"))
        ++caches;
      continue;
    }
    // Row scales are [B, H, M]; 2/4-bit values' group scales have a 4th dim.
    scales |= name.ends_with(".scales") && state.shape.size() == 3;
    qjl |= name.ends_with(".recent");
    grouped |= name.ends_with(".mins");
    if (state.shape.size() >= 3 && state.shape[2] == model.maxSeqLen)
      perToken += state.bytes() / uint64_t(model.maxSeqLen);
    else
      fixed += state.bytes();
    if (!name.ends_with(".scales") && !name.ends_with(".recent") &&
        !name.ends_with(".recent_positions") && !name.ends_with(".mins") &&
        !name.contains(".think_") && !name.contains(".outlier_"))
      ++caches;
  }
  // QJL keys: the bits per coordinate of the layout's formula, from the
  // first key cache's states (m sign bits and a 32-bit scale; with outlier
  // channels also m_out bits, a scale and k 8-bit channels per group).
  std::string qjlBits;
  for (const StateSignature &key : model.states) {
    auto named = [&](StringRef suffix) -> const StateSignature * {
      for (const StateSignature &st : model.states)
        if (st.name == key.name + suffix.str())
          return &st;
      return nullptr;
    };
    const StateSignature *recent = named(".recent");
    if (!recent || key.shape.size() != 4 || !qjlBits.empty())
      continue;
    int64_t d = recent->shape[3], m = key.shape[3] * 8;
    double bits = double(m + 32);
    std::string formula = "(m + 32";
    if (const StateSignature *out = named(".outlier_bits")) {
      int64_t mOut = out->shape[3] * 8;
      int64_t k = named(".outlier_channels")->shape[3];
      bits += double(mOut + 32) + 8.0 * double(k) / kQJLOutlierGroup;
      formula += " + m_out + 32 + 8 k / " + std::to_string(kQJLOutlierGroup) +
                 ") / D, m_out = " + std::to_string(mOut) +
                 ", k = " + std::to_string(k);
    } else {
      formula += ") / D";
    }
    qjlBits = formula + ", m = " + std::to_string(m) + ", D = " +
              std::to_string(d) + ": " +
              llvm::formatv("{0:F2}", bits / double(d)).str();
  }
  // A ThinK key cache [B, H, M, D] is the state named as its channels
  // [B, H, T + 1] (per head the T kept channels, then the pruned count),
  // less the suffix.
  for (const StateSignature &channels : model.states)
    if (StringRef(channels.name).ends_with(".think_channels"))
      for (const StateSignature &state : model.states)
        if (state.name + ".think_channels" == channels.name &&
            state.shape.size() == 4 && state.shape[2] == model.maxSeqLen) {
          headDim = state.shape[3];
          kept = channels.shape[2] - 1;
          wholeKeyBytes += state.bytes() / uint64_t(model.maxSeqLen);
          prunedKeyBytes +=
              uint64_t(state.shape[0] * state.shape[1] * kept) * 4;
        }
  os << "kv cache: " << model.states.size() << " state tensors ("
     << (qjl ? "QJL key sign bits" : dtypeName(rowType) + std::string(" rows"));
  if (grouped)
    os << ", 2/4-bit values + f32 group scales and mins";
  else if (qjl)
    os << ", int8 values";
  if (scales)
    os << " + f32 row scales";
  os << "), " << model.maxSeqLen << " tokens max: " << perToken
     << " bytes per token";
  if (caches >= 2)
    os << " (" << perToken / (caches / 2) << " per layer)";
  if (fixed)
    os << " + " << fixed << " bytes fixed ("
       << (prunedKeyBytes ? "observed queries, kept channels"
           : qjlBits.find("m_out") != std::string::npos
               ? "recent-key windows, outlier channels"
               : "recent-key windows")
       << ")";
  os << ", " << perToken * uint64_t(model.maxSeqLen) + fixed
     << " bytes in all\n";
  if (!qjlBits.empty())
    os << "kv cache: QJL key bits per coordinate " << qjlBits << "\n";
  if (poolBlocks)
    os << "kv cache: paged, blocks of " << model.kvBlockTokens
       << " tokens (" << perToken * uint64_t(model.kvBlockTokens)
       << " bytes each); a pool of " << poolBlocks << " blocks ("
       << poolBlocks * model.kvBlockTokens << " tokens, " << poolBytes
       << " bytes) shared by the sequences of one kiln_kv_pool; block "
       << "table: " << tableBytes << " bytes per sequence\n";
  if (prunedKeyBytes)
    os << "kv cache: ThinK keys past the recent window keep " << kept
       << " of " << headDim << " channels: " << prunedKeyBytes
       << " key bytes per pruned token instead of " << wholeKeyBytes << " (-"
       << llvm::format("%.1f", 100.0 * double(wholeKeyBytes - prunedKeyBytes) /
                                   double(wholeKeyBytes))
       << "%), " << perToken - (wholeKeyBytes - prunedKeyBytes)
       << " bytes per pruned token in all (the allocation stays "
       << perToken << " per token)\n";
}

LogicalResult checkNames(MLIRContext &ctx, StringRef name,
                         const CompileOptions &options) {
  auto error = [&]() { return emitError(UnknownLoc::get(&ctx)); };
  if (name != sanitizeIdentifier(name))
    return error() << "--name '" << name << "' is not a C identifier (try '"
                   << sanitizeIdentifier(name) << "')";
  if (name.size() > kMaxModelNameLength)
    return error() << "--name is " << name.size()
                   << " characters long; at most " << kMaxModelNameLength
                   << " are allowed";
  if (name.starts_with("kiln_") || name.starts_with("KILN_"))
    return error() << "--name '" << name
                   << "': the kiln_ prefix is reserved for the runtime";
  StringRef out = options.outputPath;
  if (out.empty() || out.ends_with("/") || llvm::sys::fs::is_directory(out))
    return error() << "-o '" << out << "' must name a file, not a directory";
  bool withHeader = options.emit == EmitKind::Object ||
                    options.emit == EmitKind::SharedLibrary;
  if (withHeader && llvm::sys::path::extension(out) == ".h")
    return error() << "-o '" << out
                   << "' would be overwritten by the generated header; "
                      "name the object .o or the library .so";
  if (options.externalWeights && !withHeader &&
      options.emit != EmitKind::LLVM)
    return error() << "--weights=external applies to objects, shared "
                      "libraries and LLVM IR (-o .o, .so or .ll)";
  return success();
}
} // namespace

LogicalResult mlir::kiln::compileModel(MLIRContext &context,
                                       const CompileOptions &options,
                                       CompileResult &result) {
  StageTimer timer(options.timings);
  std::string name =
      options.name.empty() ? defaultModelName(options.outputPath) : options.name;
  if (failed(checkNames(context, name, options)))
    return failure();
  PendingOutputs outputs(context);
  auto finish = [&](LogicalResult written) {
    return failed(written) ? failure() : outputs.commit(result);
  };

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
    if (options.prefillTokens > 0 &&
        failed(importPrefillEntry(context, options, *module)))
      return failure();
  }
  timer.done("import");
  if (options.emit == EmitKind::ImportedMlir)
    return finish(printModule(*module, options.outputPath, outputs));

  // The target is known before the graph passes: the L-Mul cost model
  // estimates latency on it.
  CpuTargetOptions target = options.target;
  target.genericDescriptor = options.emit == EmitKind::SharedLibrary;
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm = createCpuTargetMachine(target, error);
  if (!tm)
    return emitError(UnknownLoc::get(&context)) << error;
  CpuTarget cpuTarget = describeCpuTarget(*tm);
  if (options.bf16 && !cpuTarget.hasBf16Dot)
    return emitError(UnknownLoc::get(&context))
           << "--precision=bf16 computes with vdpbf16ps, which needs "
              "AVX512_BF16; the target CPU '"
           << tm->getTargetCPU() << "' does not have it (choose one that "
           << "does with --target-cpu, e.g. znver4 or sapphirerapids)";
  // Both kiln-fuse-elementwise and kiln-lower-contractions load the cost
  // model; a bad one is the option's error, reported before any work.
  if (!options.costModel.empty()) {
    std::string error;
    if (!createCostModel(options.costModel, cpuTarget.vectorBits, error) &&
        !error.empty())
      return emitError(UnknownLoc::get(&context)) << "--cost-model: " << error;
  }
  std::optional<KilnLMulPassOptions> lmul = options.lmul;
  if (lmul) {
    lmul->vectorBits = cpuTarget.vectorBits;
    lmul->l2Bytes = cpuTarget.l2Bytes;
  }

  PassManager graph(&context);
  std::optional<KilnWeightQuantizePassOptions> quantize = options.weightQuantize;
  if (quantize) {
    quantize->vectorBits = cpuTarget.vectorBits;
    quantize->l2Bytes = cpuTarget.l2Bytes;
  }
  GraphPipelineOptions graphOptions{options.hook, quantize, lmul};
  graphOptions.w8a8Quantize = options.w8a8Quantize;
  graphOptions.kvLayout = options.kvLayout;
  if (graphOptions.kvLayout)
    graphOptions.kvLayout->vectorBits = cpuTarget.vectorBits;
  graphOptions.smoothQuant = options.smoothQuant;
  graphOptions.winograd = options.winograd;
  if (graphOptions.winograd) {
    graphOptions.winograd->vectorBits = cpuTarget.vectorBits;
    graphOptions.winograd->l2Bytes = cpuTarget.l2Bytes;
    graphOptions.winograd->bf16 = options.bf16;
  }
  buildGraphPipeline(graph, graphOptions);
  if (failed(runPasses(*module, graph)))
    return failure();
  printRecordedChoices(*module, "kiln.quantization", "quantization choices",
                       options.energyReport);
  printRecordedChoices(*module, "kiln.winograd_choice",
                       "convolution algorithms", options.energyReport);
  printKVLayoutChoice(*module, options.energyReport);
  if (options.energyReport)
    printEnergyReport(*module, lmul ? &*lmul : nullptr,
                      EnergyTable::horowitz45nm(), *options.energyReport);
  timer.done("graph passes");
  if (options.emit == EmitKind::Mlir)
    return finish(printModule(*module, options.outputPath, outputs));

  FailureOr<ModelSignature> model = prepareEntries(*module, name);
  if (failed(model))
    return failure();
  if (options.energyReport)
    printKVCache(*model, *options.energyReport);
  if (options.kvLayout && model->states.empty())
    emitWarning(UnknownLoc::get(&context))
        << "--max-seq-len: no past/present key-value pair feeds an attention "
           "(kiln.concat of a past input and the new rows, as ONNX Attention "
           "with past_key/past_value imports; a past of length 0 folds away, "
           "so fix a symbolic past length to 1 or more); compiled without a "
           "KV cache";
  PassManager codegen(&context);
  CpuPipelineOptions cpu;
  cpu.target = cpuTarget;
  cpu.minParallelWork = options.minParallelWork;
  cpu.minParallelWeightBytes = options.minParallelWeightBytes;
  cpu.costModel = options.costModel;
  cpu.forceConfig = options.forceKernelConfig;
  cpu.bf16 = options.bf16;
  if (options.hook)
    cpu.beforeLLVM = [&](OpPassManager &pm) {
      options.hook(InsertionPoint::BeforeLLVM, pm);
    };
  buildCpuPipeline(codegen, cpu);
  if (failed(runPasses(*module, codegen)))
    return failure();
  printFusionDecisions(*module, options.energyReport);
  printFormedKernels(*module, options.energyReport, options.bf16);
  readWorkspaceSizes(*module, *model);
  result.workspaceBytes = model->entries.front().workspaceBytes;
  timer.done("codegen");
  if (options.emit == EmitKind::LoweredMlir)
    return finish(printModule(*module, options.outputPath, outputs));

  std::optional<ExternalWeights> external;
  SmallString<128> weightsPath(options.outputPath);
  llvm::sys::path::replace_extension(weightsPath, ".weights");
  if (options.externalWeights) {
    external.emplace();
    external->fileName = llvm::sys::path::filename(weightsPath).str();
    model->weightsFile = external->fileName;
  }
  llvm::LLVMContext llvmContext;
  auto llvmModule = buildLLVMModule(*module, *model, *tm, target, llvmContext,
                                    external ? &*external : nullptr);
  if (failed(llvmModule))
    return failure();
  if (external) {
    if (failed(outputs.write(weightsPath, [&](llvm::raw_ostream &os) {
          os.write(external->bytes.data(), external->bytes.size());
        })))
      return failure();
    // The file holds them now; free the copy before LLVM's passes run.
    std::vector<char>().swap(external->bytes);
  }
  module = nullptr; // free the MLIR copy of the weights early
  timer.done("to LLVM IR");
  optimizeLLVMModule(**llvmModule, *tm, target.optLevel);
  timer.done("LLVM opt");
  if (options.emit == EmitKind::LLVM)
    return finish(outputs.write(options.outputPath, [&](llvm::raw_ostream &os) {
      (*llvmModule)->print(os, nullptr);
    }));

  SmallVector<char, 0> object;
  if (failed(emitObjectFile(**llvmModule, *tm, object, error)))
    return emitError(UnknownLoc::get(&context)) << error;
  timer.done("object");

  auto writeObject = [&](llvm::raw_ostream &os) {
    os.write(object.data(), object.size());
  };
  if (options.emit == EmitKind::SharedLibrary) {
    // The object only feeds the linker: it goes to a temporary file.
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
    FailureOr<std::string> library = outputs.reserve(options.outputPath);
    LogicalResult linked =
        succeeded(library) ? linkSharedLibrary(context, objectPath, *library)
                           : failure();
    llvm::sys::fs::remove(objectPath);
    if (failed(linked))
      return failure();
    timer.done("link");
  } else if (failed(outputs.write(options.outputPath, writeObject))) {
    return failure();
  }

  SmallString<128> headerPath(options.outputPath);
  llvm::sys::path::replace_extension(headerPath, ".h");
  return finish(outputs.write(headerPath, [&](llvm::raw_ostream &os) {
    emitCHeader(*model, llvm::sys::path::filename(options.inputPath),
                llvm::sys::path::filename(headerPath),
                llvm::sys::path::filename(options.outputPath), os);
  }));
}

//===- ObjectEmitter.cpp - LLVM dialect -> native object ------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ObjectEmitter.h"

#include "kiln/abi.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
std::string hostFeatures() {
  std::string features;
  for (auto &f : llvm::sys::getHostCPUFeatures())
    features += (features.empty() ? "" : ",") +
                std::string(f.second ? "+" : "-") + f.first().str();
  return features;
}
} // namespace

CpuTarget mlir::kiln::describeCpuTarget(const llvm::TargetMachine &tm) {
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  CpuTarget t;
  if (!tm.getTargetTriple().isX86())
    return t; // portable 128-bit defaults (NEON, SSE-class)
  t.pmaddwdBits = sti->checkFeatures("+avx512bw") ? 512
                  : sti->checkFeatures("+avx2")   ? 256
                                                  : 128; // SSE2 is baseline
  if (sti->checkFeatures("+avx512f")) {
    t.vectorBits = 512;
    t.vectorRegisters = 32;
    t.l1Bytes = 48 * 1024;
    t.l2Bytes = 2 * 1024 * 1024;
    t.hasVnni = sti->checkFeatures("+avx512vnni");
    t.hasBf16Dot = sti->checkFeatures("+avx512bf16");
  } else if (sti->checkFeatures("+avx")) {
    t.vectorBits = 256;
    t.vectorRegisters = 16;
  }
  return t;
}

std::unique_ptr<llvm::TargetMachine>
mlir::kiln::createCpuTargetMachine(const CpuTargetOptions &options,
                                   std::string &error) {
  static bool initialized = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    return true;
  }();
  (void)initialized;

  bool host = options.triple.empty();
  llvm::Triple triple(host ? llvm::sys::getDefaultTargetTriple()
                           : options.triple);
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    error = "unknown target triple '" + triple.str() + "': " + error;
    return nullptr;
  }
  std::string cpu = options.cpu;
  if (cpu.empty() || cpu == "native")
    cpu = host ? llvm::sys::getHostCPUName().str() : "generic";
  std::string features = options.features;
  if (features.empty() && host && (options.cpu.empty() || options.cpu == "native"))
    features = hostFeatures();
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      options.optLevel >= 2 ? llvm::CodeGenOptLevel::Aggressive
                            : llvm::CodeGenOptLevel::Default));
  if (!tm) {
    error = "cannot create a target machine for " + triple.str() + " cpu '" +
            cpu + "'";
    return nullptr;
  }
  // The subtarget silently ignores unknown CPU names; say so instead.
  if (!options.cpu.empty() && options.cpu != "native" &&
      !tm->getMCSubtargetInfo()->isCPUStringValid(cpu)) {
    error = "unknown target CPU '" + cpu + "' for " + triple.str();
    return nullptr;
  }
  return tm;
}

bool mlir::kiln::targetRunsOnHost(const CpuTargetOptions &options,
                                  std::string &why) {
  std::unique_ptr<llvm::TargetMachine> tm = createCpuTargetMachine(options, why);
  if (!tm)
    return false;
  llvm::Triple host(llvm::sys::getDefaultTargetTriple());
  if (tm->getTargetTriple().getArch() != host.getArch()) {
    why = "the target " + tm->getTargetTriple().str() + " is not this " +
          host.getArchName().str() + " machine";
    return false;
  }
  // The host's map names every ISA feature it detects, present or not.
  const llvm::MCSubtargetInfo *sti = tm->getMCSubtargetInfo();
  for (auto &feature : llvm::sys::getHostCPUFeatures()) {
    if (feature.second || !sti->checkFeatures("+" + feature.first().str()))
      continue;
    why = "the target CPU '" + tm->getTargetCPU().str() + "' uses " +
          feature.first().str() + ", which this CPU ('" +
          llvm::sys::getHostCPUName().str() + "') lacks";
    return false;
  }
  return true;
}

namespace {
/// Builds the constant data of kiln/abi.h's structs in LLVM IR. The struct
/// types mirror the C declarations field by field; with the target's data
/// layout LLVM gives them the same size and alignment as the C compiler.
class DescriptorBuilder {
public:
  DescriptorBuilder(llvm::Module &module, const ModelSignature &model,
                    const ExternalWeights *external,
                    llvm::GlobalVariable *weightsSlot)
      : module(module), ctx(module.getContext()), model(model),
        external(external), weightsSlot(weightsSlot),
        ptr(llvm::PointerType::getUnqual(ctx)), i32(llvm::Type::getInt32Ty(ctx)),
        i64(llvm::Type::getInt64Ty(ctx)) {
    tensorInfoTy = llvm::StructType::create(ctx, {ptr, i32, i32, ptr},
                                            "kiln_tensor_info");
    entryDescTy = llvm::StructType::create(
        ctx, {i32, i32, ptr, i32, i32, ptr, ptr, ptr, i64, i64},
        "kiln_entry_desc");
    stateDescTy = llvm::StructType::create(
        ctx, {i32, i32, ptr, i32, i32, ptr, i64}, "kiln_state_desc");
    modelDescTy = llvm::StructType::create(
        ctx, {i32, i32, ptr, i32, i32, ptr, ptr, ptr, i64, i64, i32, i32, ptr,
              ptr, ptr, i64, i64, ptr, i64, i64},
        "kiln_model_desc");
  }

  LogicalResult build(llvm::TargetMachine &tm, bool genericDescriptor,
                      std::string &error) {
    const llvm::DataLayout &dl = module.getDataLayout();
    // When compiling for the machine kiln runs on, check the mirror against
    // the real C layout of abi.h.
    if (tm.getTargetTriple().str() == llvm::sys::getDefaultTargetTriple() &&
        (dl.getTypeAllocSize(modelDescTy) != sizeof(kiln_model_desc) ||
         dl.getTypeAllocSize(entryDescTy) != sizeof(kiln_entry_desc) ||
         dl.getTypeAllocSize(stateDescTy) != sizeof(kiln_state_desc) ||
         dl.getTypeAllocSize(tensorInfoTy) != sizeof(kiln_tensor_info))) {
      error = "internal error: descriptor layout differs from kiln/abi.h";
      return failure();
    }

    uint64_t maxWorkspace = 0;
    SmallVector<llvm::Constant *> entries;
    for (const EntrySignature &entry : model.entries) {
      llvm::Function *wrapper = buildEntryWrapper(entry, error);
      if (!wrapper)
        return failure();
      maxWorkspace = std::max(maxWorkspace, entry.workspaceBytes);
      entries.push_back(llvm::ConstantStruct::get(
          entryDescTy,
          {llvm::ConstantInt::get(i32, dl.getTypeAllocSize(entryDescTy)),
           llvm::ConstantInt::get(i32, entry.kind), string(entry.name),
           llvm::ConstantInt::get(i32, entry.inputs.size()),
           llvm::ConstantInt::get(i32, entry.outputs.size()),
           tensorInfos(entry.inputs, entry.name + ".inputs"),
           tensorInfos(entry.outputs, entry.name + ".outputs"), wrapper,
           llvm::ConstantInt::get(i64, entry.workspaceBytes),
           llvm::ConstantInt::get(i64, entry.tokens)}));
    }
    auto *entriesTy = llvm::ArrayType::get(entryDescTy, entries.size());
    llvm::Constant *entriesVar =
        global(llvm::ConstantArray::get(entriesTy, entries), "entries");

    uint64_t weights = 0;
    for (llvm::GlobalVariable &g : module.globals())
      if (g.isConstant() && g.hasInitializer() &&
          !g.getName().starts_with(model.name + ".kiln."))
        weights += dl.getTypeAllocSize(g.getValueType());
    llvm::Constant *null = llvm::ConstantPointerNull::get(ptr);
    llvm::Constant *statesVar = stateDescs(dl);

    std::string cpu = tm.getTargetCPU().str();
    std::string features = tm.getTargetFeatureString().str();
    llvm::Constant *desc = llvm::ConstantStruct::get(
        modelDescTy,
        {llvm::ConstantInt::get(i32, KILN_ABI_VERSION),
         llvm::ConstantInt::get(i32, dl.getTypeAllocSize(modelDescTy)),
         string(model.name), llvm::ConstantInt::get(i32, KILN_TARGET_CPU),
         llvm::ConstantInt::get(i32, 0), string(tm.getTargetTriple().str()),
         string(cpu), string(features),
         llvm::ConstantInt::get(i64, maxWorkspace),
         llvm::ConstantInt::get(i64, weights),
         llvm::ConstantInt::get(i32, entries.size()),
         llvm::ConstantInt::get(i32, model.states.size()), entriesVar,
         statesVar,
         external ? string(external->fileName) : null,
         llvm::ConstantInt::get(i64, external ? external->bytes.size() : 0),
         llvm::ConstantInt::get(i64, external ? external->checksum : 0),
         weightsSlot ? weightsSlot : null,
         llvm::ConstantInt::get(i64, model.maxSeqLen),
         llvm::ConstantInt::get(i64, model.kvBlockTokens)});
    llvm::Constant *descVar = global(desc, "descriptor");

    // const kiln_model_desc *<name>_descriptor(void)
    auto *fnTy = llvm::FunctionType::get(ptr, false);
    auto makeGetter = [&](const std::string &name) {
      auto *fn = llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage,
                                        name, module);
      llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
      b.CreateRet(descVar);
    };
    makeGetter(model.name + "_descriptor");
    if (genericDescriptor)
      makeGetter(KILN_GENERIC_DESCRIPTOR_SYMBOL);
    return success();
  }

private:
  llvm::Constant *global(llvm::Constant *init, const std::string &what) {
    auto *g = new llvm::GlobalVariable(
        module, init->getType(), /*isConstant=*/true,
        llvm::GlobalValue::PrivateLinkage, init,
        model.name + ".kiln." + what);
    g->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return g;
  }

  llvm::Constant *string(StringRef s) {
    auto it = strings.find(s);
    if (it != strings.end())
      return it->second;
    llvm::Constant *g =
        global(llvm::ConstantDataArray::getString(ctx, s), "str");
    strings[s] = g;
    return g;
  }

  llvm::Constant *tensorInfos(const std::vector<TensorSignature> &tensors,
                              const std::string &what) {
    SmallVector<llvm::Constant *> infos;
    for (const TensorSignature &t : tensors) {
      llvm::Constant *dims = llvm::ConstantPointerNull::get(ptr);
      if (!t.shape.empty())
        dims = global(llvm::ConstantDataArray::get(
                          ctx, ArrayRef<uint64_t>(
                                   reinterpret_cast<const uint64_t *>(
                                       t.shape.data()),
                                   t.shape.size())),
                      what + ".dims");
      infos.push_back(llvm::ConstantStruct::get(
          tensorInfoTy, {string(t.name), llvm::ConstantInt::get(i32, t.dtype),
                         llvm::ConstantInt::get(i32, t.shape.size()), dims}));
    }
    if (infos.empty())
      return llvm::ConstantPointerNull::get(ptr);
    auto *arrayTy = llvm::ArrayType::get(tensorInfoTy, infos.size());
    return global(llvm::ConstantArray::get(arrayTy, infos), what);
  }

  /// The kiln_state_desc array (null without states).
  llvm::Constant *stateDescs(const llvm::DataLayout &dl) {
    SmallVector<llvm::Constant *> descs;
    for (const StateSignature &state : model.states) {
      llvm::Constant *dims = global(
          llvm::ConstantDataArray::get(
              ctx, ArrayRef<uint64_t>(
                       reinterpret_cast<const uint64_t *>(state.shape.data()),
                       state.shape.size())),
          "state.dims");
      descs.push_back(llvm::ConstantStruct::get(
          stateDescTy,
          {llvm::ConstantInt::get(i32, dl.getTypeAllocSize(stateDescTy)),
           llvm::ConstantInt::get(i32, state.dtype), string(state.name),
           llvm::ConstantInt::get(i32, state.shape.size()),
           llvm::ConstantInt::get(i32, state.flags), dims,
           llvm::ConstantInt::get(i64, state.bytes())}));
    }
    if (descs.empty())
      return llvm::ConstantPointerNull::get(ptr);
    auto *arrayTy = llvm::ArrayType::get(stateDescTy, descs.size());
    return global(llvm::ConstantArray::get(arrayTy, descs), "states");
  }

  /// int32_t wrapper(void *exec, void *const *inputs, void *const *outputs,
  ///                 void *workspace): unpacks the pointer arrays and calls
  /// the kernel, whose bare-pointer signature is (inputs..., outputs...,
  /// workspace, exec); exec is what kernels dispatch parallel loops through
  /// (kiln-outline-parallel).
  llvm::Function *buildEntryWrapper(const EntrySignature &entry,
                                    std::string &error) {
    llvm::Function *kernel = module.getFunction(entry.symbol);
    // Stateful entries: inputs, position, states (see kiln_entry_fn).
    size_t inputs = entry.inputs.size();
    if (entry.kind != KILN_ENTRY_RUN)
      inputs += 1 + model.states.size();
    size_t expected = inputs + entry.outputs.size() + 2;
    if (!kernel || kernel->arg_size() != expected) {
      error = "internal error: kernel '" + entry.symbol +
              "' missing or with an unexpected signature";
      return nullptr;
    }
    kernel->setLinkage(llvm::GlobalValue::InternalLinkage);
    auto *wrapperTy = llvm::FunctionType::get(i32, {ptr, ptr, ptr, ptr}, false);
    auto *wrapper = llvm::Function::Create(
        wrapperTy, llvm::GlobalValue::InternalLinkage,
        model.name + "_" + entry.name + "_entry", module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    SmallVector<llvm::Value *> args;
    auto unpack = [&](llvm::Value *array, size_t n) {
      for (size_t i = 0; i < n; ++i)
        args.push_back(b.CreateLoad(
            ptr, b.CreateConstInBoundsGEP1_64(ptr, array, i)));
    };
    unpack(wrapper->getArg(1), inputs);
    unpack(wrapper->getArg(2), entry.outputs.size());
    args.push_back(wrapper->getArg(3));
    args.push_back(wrapper->getArg(0));
    b.CreateCall(kernel, args);
    b.CreateRet(llvm::ConstantInt::get(i32, KILN_OK));
    return wrapper;
  }

  llvm::Module &module;
  llvm::LLVMContext &ctx;
  const ModelSignature &model;
  const ExternalWeights *external;
  llvm::GlobalVariable *weightsSlot;
  llvm::PointerType *ptr;
  llvm::IntegerType *i32, *i64;
  llvm::StructType *tensorInfoTy, *entryDescTy, *stateDescTy, *modelDescTy;
  llvm::StringMap<llvm::Constant *> strings;
};
} // namespace

namespace {
/// A private stand-in for a weakly referenced runtime function: `call` is
/// its call of the runtime with the shim's own arguments, in a block that
/// still needs its terminator; `missing` is the empty block taken when the
/// symbol did not resolve.
struct WeakRuntimeShim {
  llvm::Function *shim = nullptr;
  llvm::CallInst *call = nullptr;
  llvm::BasicBlock *missing = nullptr;
};

/// Makes the runtime function `name`, when the kernels call it, an external
/// weak reference and sends every call to a new internal shim `shimName` of
/// the same type that calls it when it resolved; the caller completes both
/// paths. No shim when nothing calls it.
WeakRuntimeShim weakRuntimeShim(llvm::Module &module, StringRef name,
                                StringRef shimName) {
  llvm::Function *runtime = module.getFunction(name);
  if (!runtime || !runtime->isDeclaration() || runtime->use_empty())
    return {};
  runtime->setLinkage(llvm::GlobalValue::ExternalWeakLinkage);
  auto *shim = llvm::Function::Create(runtime->getFunctionType(),
                                      llvm::GlobalValue::InternalLinkage,
                                      shimName, module);
  SmallVector<llvm::CallBase *> calls;
  for (llvm::User *user : runtime->users())
    if (auto *call = dyn_cast<llvm::CallBase>(user))
      if (call->getCalledOperand() == runtime)
        calls.push_back(call);
  for (llvm::CallBase *call : calls)
    call->setCalledFunction(shim);

  llvm::LLVMContext &ctx = module.getContext();
  auto *entry = llvm::BasicBlock::Create(ctx, "entry", shim);
  auto *callRuntime = llvm::BasicBlock::Create(ctx, "runtime", shim);
  auto *missing = llvm::BasicBlock::Create(ctx, "missing", shim);
  llvm::IRBuilder<> b(entry);
  b.CreateCondBr(b.CreateIsNotNull(runtime), callRuntime, missing);
  b.SetInsertPoint(callRuntime);
  SmallVector<llvm::Value *> args;
  for (llvm::Argument &arg : shim->args())
    args.push_back(&arg);
  return {shim, b.CreateCall(runtime, args), missing};
}

/// Kernels call kiln_exec_parallel_for (kiln/exec.h) for their parallel
/// loops. The artifact references it weakly and calls it through a private
/// shim that runs the range serially when the symbol did not resolve -- a
/// shared-library artifact loaded by a program that links the runtime
/// statically without exporting it -- or when the runtime refused the call
/// (its errors are argument checks made before any range runs). An object
/// linked into a program with the runtime always resolves it (the context
/// code that creates `exec` lives in the same archive member).
void bindParallelFor(llvm::Module &module) {
  WeakRuntimeShim s =
      weakRuntimeShim(module, "kiln_exec_parallel_for", "kiln.parallel_for");
  if (!s.shim)
    return;
  llvm::LLVMContext &ctx = module.getContext();
  auto *done = llvm::BasicBlock::Create(ctx, "done", s.shim);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Value *n = s.shim->getArg(1), *fn = s.shim->getArg(2),
              *data = s.shim->getArg(3);
  llvm::IRBuilder<> b(s.call->getParent());
  b.CreateCondBr(b.CreateICmpEQ(s.call, llvm::ConstantInt::get(i32, KILN_OK)),
                 done, s.missing);
  // Not resolved or refused: the whole range here, serially.
  b.SetInsertPoint(s.missing);
  auto *rangeTy = llvm::FunctionType::get(
      llvm::Type::getVoidTy(ctx), {fn->getType(), i64, i64}, false);
  // Rarely taken: keep the range function out of line here (inlined, every
  // loop body would be compiled twice).
  b.CreateCall(rangeTy, fn, {data, llvm::ConstantInt::get(i64, 0), n})
      ->addFnAttr(llvm::Attribute::NoInline);
  b.CreateBr(done);
  b.SetInsertPoint(done);
  b.CreateRet(llvm::ConstantInt::get(i32, KILN_OK));
}

/// Kernels ask kiln_exec_num_threads whether to take a loop's dispatch or
/// its serial form (OutlineParallel.cpp). Weak like kiln_exec_parallel_for:
/// when it did not resolve, parallel_for cannot run in parallel either, so
/// the answer is 1.
void bindNumThreads(llvm::Module &module) {
  WeakRuntimeShim s =
      weakRuntimeShim(module, "kiln_exec_num_threads", "kiln.num_threads");
  if (!s.shim)
    return;
  llvm::IRBuilder<> b(s.call->getParent());
  b.CreateRet(s.call);
  b.SetInsertPoint(s.missing);
  b.CreateRet(llvm::ConstantInt::get(b.getInt32Ty(), 1));
}
} // namespace

FailureOr<std::unique_ptr<llvm::Module>>
mlir::kiln::buildLLVMModule(ModuleOp module, const ModelSignature &model,
                            llvm::TargetMachine &tm,
                            const CpuTargetOptions &options,
                            llvm::LLVMContext &llvmContext,
                            ExternalWeights *external) {
  // kiln's own argument/result annotations mean nothing to LLVM.
  module.walk([](LLVM::LLVMFuncOp func) {
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      for (StringRef attr : {"kiln.name", "kiln.workspace", "kiln.exec",
                             "kiln.position", "kiln.state", "kiln.paged",
                             "kiln.block_table"})
        func.removeArgAttr(i, attr);
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      func.removeResultAttr(i, StringAttr::get(func.getContext(), "kiln.name"));
  });
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, model.name);
  if (!llvmModule)
    return module.emitError("translation to LLVM IR failed");
  llvmModule->setTargetTriple(tm.getTargetTriple());
  llvmModule->setDataLayout(tm.createDataLayout());
  bindParallelFor(*llvmModule);
  bindNumThreads(*llvmModule);

  // Weights become raw byte arrays: the same bytes, but LLVM's passes and
  // its AsmPrinter handle an [N x i8] as one blob instead of walking
  // millions of float elements (BERT-base: ~10x faster to emit).
  SmallVector<llvm::GlobalVariable *> weights;
  for (llvm::GlobalVariable &g : llvmModule->globals())
    if (g.isConstant() && g.hasInitializer())
      if (auto *data =
              dyn_cast<llvm::ConstantDataSequential>(g.getInitializer()))
        if (!data->getElementType()->isIntegerTy(8) &&
            data->getNumElements() >= 64)
          weights.push_back(&g);
  for (llvm::GlobalVariable *g : weights) {
    auto *data = cast<llvm::ConstantDataSequential>(g->getInitializer());
    llvm::Constant *bytes = llvm::ConstantDataArray::getRaw(
        data->getRawDataValues(), data->getRawDataValues().size(),
        llvm::Type::getInt8Ty(llvmContext));
    auto *blob = new llvm::GlobalVariable(
        *llvmModule, bytes->getType(), /*isConstant=*/true, g->getLinkage(),
        bytes, "", g, g->getThreadLocalMode(), g->getAddressSpace());
    blob->takeName(g);
    blob->setAlignment(g->getAlign());
    // Kernels read weights at run time; letting the optimizer fold loads
    // from megabytes of constants only costs compile time.
    blob->setExternallyInitialized(true);
    g->replaceAllUsesWith(blob);
    g->eraseFromParent();
  }

  // Weights and other constants: read-only, cache-line aligned.
  for (llvm::GlobalVariable &g : llvmModule->globals()) {
    if (!g.hasInitializer())
      continue;
    if (g.isConstant())
      g.setAlignment(llvm::MaybeAlign(std::max<uint64_t>(
          KILN_ALIGNMENT, g.getAlign().valueOrOne().value())));
    if (!g.isDeclaration())
      g.setLinkage(llvm::GlobalValue::PrivateLinkage);
  }

  // Record the CPU on every function too, so the .ll (--emit=llvm) keeps
  // the target when another tool compiles it.
  for (llvm::Function &f : *llvmModule) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    if (!tm.getTargetFeatureString().empty())
      f.addFnAttr("target-features", tm.getTargetFeatureString());
  }

  std::string error;
  llvm::GlobalVariable *weightsSlot = nullptr;
  if (external) {
    weightsSlot = moveWeightsToFile(*llvmModule, model.name, *external, error);
    if (!weightsSlot)
      return module.emitError(error);
  } else if (uint64_t bytes = embeddedWeightBytes(*llvmModule);
             bytes > options.maxEmbeddedWeightBytes) {
    auto mib = [](uint64_t b) {
      return llvm::formatv("{0:F1} MiB", double(b) / (1 << 20)).str();
    };
    return module.emitError()
           << "the model has " << mib(bytes)
           << " of weights; an object embeds at most "
           << mib(options.maxEmbeddedWeightBytes)
           << " (x86-64's default code model addresses data within 2 GiB): "
              "compile with --weights=external";
  }
  DescriptorBuilder descriptor(*llvmModule, model, external, weightsSlot);
  if (failed(descriptor.build(tm, options.genericDescriptor, error)))
    return module.emitError(error);
  std::string verifyMessage;
  llvm::raw_string_ostream verifyStream(verifyMessage);
  if (llvm::verifyModule(*llvmModule, &verifyStream))
    return module.emitError("internal error: invalid LLVM IR: ")
           << verifyMessage;
  return llvmModule;
}

void mlir::kiln::optimizeLLVMModule(llvm::Module &module,
                                    llvm::TargetMachine &tm,
                                    unsigned optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = level == llvm::OptimizationLevel::O0
                                    ? pb.buildO0DefaultPipeline(level)
                                    : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
}

LogicalResult mlir::kiln::emitObjectFile(llvm::Module &module,
                                         llvm::TargetMachine &tm,
                                         SmallVectorImpl<char> &out,
                                         std::string &error) {
  llvm::raw_svector_ostream os(out);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  pm.run(module);
  return success();
}

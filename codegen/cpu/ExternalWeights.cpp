//===- ExternalWeights.cpp - weights moved into a sidecar file ------------===//
//
// Part of kiln. `kiln compile --weights=external`: the weight arrays leave
// the object. Each function that read a weight global loads the runtime's
// weights pointer (the artifact's slot, filled by kiln_model_load_weights
// after it verified the file) once at entry and addresses the weight at its
// offset in the file.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ExternalWeights.h"

#include "kiln/abi.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ReplaceConstant.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
/// The weight arrays: constant data of at least one cache line. Smaller
/// constants (descriptor strings, lookup tables) stay in the object.
bool isWeight(const llvm::GlobalVariable &g, const llvm::DataLayout &dl) {
  return g.isConstant() && g.hasInitializer() &&
         isa<llvm::ConstantDataSequential>(g.getInitializer()) &&
         dl.getTypeAllocSize(g.getValueType()) >= KILN_ALIGNMENT;
}
} // namespace

uint64_t mlir::kiln::embeddedWeightBytes(const llvm::Module &module) {
  const llvm::DataLayout &dl = module.getDataLayout();
  uint64_t bytes = 0;
  for (const llvm::GlobalVariable &g : module.globals())
    if (isWeight(g, dl))
      bytes += dl.getTypeAllocSize(g.getValueType());
  return bytes;
}

llvm::GlobalVariable *
mlir::kiln::moveWeightsToFile(llvm::Module &module, StringRef symbolPrefix,
                              ExternalWeights &out, std::string &error) {
  const llvm::DataLayout &dl = module.getDataLayout();
  llvm::LLVMContext &ctx = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(ctx);
  auto *i8 = llvm::Type::getInt8Ty(ctx);

  // Lay the arrays out in the file, each at a KILN_ALIGNMENT multiple (or
  // its own larger alignment).
  SmallVector<llvm::GlobalVariable *> weights;
  llvm::DenseMap<llvm::GlobalVariable *, uint64_t> offsets;
  uint64_t size = 0;
  for (llvm::GlobalVariable &g : module.globals()) {
    if (!isWeight(g, dl))
      continue;
    uint64_t align = std::max<uint64_t>(KILN_ALIGNMENT,
                                        g.getAlign().valueOrOne().value());
    size = (size + align - 1) / align * align;
    offsets[&g] = size;
    size += dl.getTypeAllocSize(g.getValueType());
    weights.push_back(&g);
  }
  out.bytes.assign(size, 0);
  for (llvm::GlobalVariable *g : weights) {
    StringRef data = cast<llvm::ConstantDataSequential>(g->getInitializer())
                         ->getRawDataValues();
    std::copy(data.begin(), data.end(), out.bytes.begin() + offsets[g]);
  }
  out.checksum = kiln_weights_checksum(out.bytes.data(), out.bytes.size());

  auto *slot = new llvm::GlobalVariable(
      module, ptr, /*isConstant=*/false, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantPointerNull::get(ptr), symbolPrefix + ".kiln.weights_slot");
  slot->setAlignment(llvm::Align(8));
  if (weights.empty())
    return slot;

  // Constant expressions (GEPs into a weight) become instructions, so that
  // every remaining use of a weight sits in a function.
  SmallVector<llvm::Constant *> constants(weights.begin(), weights.end());
  llvm::convertUsersOfConstantsToInstructions(constants);

  // Per function: one load of the slot at entry (the runtime guarantees a
  // non-null, aligned pointer that stays put during a run), then one
  // address per weight it reads.
  llvm::MDBuilder md(ctx);
  llvm::MapVector<llvm::Function *, SmallVector<llvm::Use *>> uses;
  for (llvm::GlobalVariable *g : weights) {
    for (llvm::Use &use : g->uses()) {
      auto *inst = dyn_cast<llvm::Instruction>(use.getUser());
      if (!inst) {
        error = "internal error: weight '" + g->getName().str() +
                "' is referenced outside a function; it cannot be external";
        return nullptr;
      }
      uses[inst->getFunction()].push_back(&use);
    }
  }
  for (auto &[fn, fnUses] : uses) {
    llvm::IRBuilder<> b(&*fn->getEntryBlock().getFirstInsertionPt());
    llvm::LoadInst *base = b.CreateAlignedLoad(ptr, slot, llvm::Align(8),
                                               "kiln.weights");
    base->setMetadata(llvm::LLVMContext::MD_invariant_load,
                      llvm::MDNode::get(ctx, {}));
    base->setMetadata(llvm::LLVMContext::MD_nonnull,
                      llvm::MDNode::get(ctx, {}));
    base->setMetadata(
        llvm::LLVMContext::MD_align,
        llvm::MDNode::get(ctx, {llvm::ConstantAsMetadata::get(
                                   b.getInt64(KILN_ALIGNMENT))}));
    llvm::DenseMap<llvm::GlobalVariable *, llvm::Value *> addresses;
    for (llvm::Use *use : fnUses) {
      auto *g = cast<llvm::GlobalVariable>(use->get());
      llvm::Value *&address = addresses[g];
      if (!address)
        address = b.CreateInBoundsGEP(i8, base, b.getInt64(offsets[g]),
                                      g->getName());
      use->set(address);
    }
  }
  for (llvm::GlobalVariable *g : weights)
    g->eraseFromParent();
  return slot;
}

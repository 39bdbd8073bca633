//===- DedupeGlobals.cpp - one copy of identical constant globals ---------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/cpu/ContractionUtils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/xxhash.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNDEDUPEGLOBALSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnDedupeGlobalsPass
    : kiln::impl::KilnDedupeGlobalsPassBase<KilnDedupeGlobalsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    struct Kept {
      memref::GlobalOp global;
      ArrayRef<char> bytes;
      bool splat;
      std::optional<uint64_t> alignment;
    };
    DenseMap<std::pair<Type, uint64_t>, SmallVector<Kept>> kept;
    llvm::StringMap<StringAttr> replacement;
    SmallVector<memref::GlobalOp> duplicates;
    for (auto global : module.getOps<memref::GlobalOp>()) {
      Attribute value = global.getInitialValueAttr();
      std::optional<ArrayRef<char>> bytes = kiln::constantRawBytes(value);
      if (!global.getConstant() || !bytes)
        continue;
      bool splat = isa<DenseElementsAttr>(value) &&
                   cast<DenseElementsAttr>(value).isSplat();
      uint64_t hash = llvm::xxh3_64bits(ArrayRef<uint8_t>(
          reinterpret_cast<const uint8_t *>(bytes->data()), bytes->size()));
      auto &candidates = kept[{global.getType(), hash}];
      auto same = llvm::find_if(candidates, [&](const Kept &k) {
        return k.splat == splat && k.bytes == *bytes &&
               k.alignment == global.getAlignment();
      });
      if (same == candidates.end()) {
        candidates.push_back({global, *bytes, splat, global.getAlignment()});
        continue;
      }
      replacement[global.getSymName()] = same->global.getSymNameAttr();
      duplicates.push_back(global);
    }
    if (duplicates.empty())
      return;
    module.walk([&](memref::GetGlobalOp get) {
      auto it = replacement.find(get.getName());
      if (it != replacement.end())
        get.setNameAttr(FlatSymbolRefAttr::get(it->second));
    });
    for (memref::GlobalOp global : duplicates)
      global.erase();
    numRemoved += duplicates.size();
  }
};
} // namespace

//===- PlanMemory.cpp - static workspace planning -------------------------===//
//
// Part of kiln. Places every intermediate buffer of an entry function in one
// workspace whose size is known at compile time, so the run path never
// allocates. Buffers whose live ranges do not overlap share bytes.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNPLANMEMORYPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
constexpr int64_t kAlignment = 64;

int64_t alignTo(int64_t value) {
  return (value + kAlignment - 1) / kAlignment * kAlignment;
}

/// Bytes of a statically shaped memref (i1 and sub-byte types take a byte).
int64_t byteSize(MemRefType type) {
  Type element = type.getElementType();
  int64_t bits = element.isIndex() ? 64 : element.getIntOrFloatBitWidth();
  return type.getNumElements() * ((bits + 7) / 8);
}

struct Buffer {
  memref::AllocOp alloc;
  int64_t first, last; // top-level op positions where the buffer is live
  int64_t bytes;
  int64_t offset = -1;
};

/// Position of the top-level op (a direct child of `body`) containing `op`.
int64_t topLevelPosition(Operation *op, Block &body,
                         const DenseMap<Operation *, int64_t> &positions) {
  while (op && op->getBlock() != &body)
    op = op->getParentOp();
  auto it = positions.find(op);
  return it == positions.end() ? -1 : it->second;
}

/// Last top-level position at which `value` or any view of it is used.
/// Returns failure when the buffer escapes (returned or stored somewhere the
/// plan cannot follow).
FailureOr<int64_t> lastUse(Value value, Block &body,
                           const DenseMap<Operation *, int64_t> &positions) {
  int64_t last = -1;
  SmallVector<Value> worklist = {value};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<func::ReturnOp>(user))
        return failure();
      if (isa<memref::DeallocOp>(user))
        continue; // freeing is not a use (and is removed)
      last = std::max(last, topLevelPosition(user, body, positions));
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == v)
          for (Value result : user->getResults())
            worklist.push_back(result);
    }
  }
  return last;
}

struct KilnPlanMemoryPass
    : kiln::impl::KilnPlanMemoryPassBase<KilnPlanMemoryPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr("kiln.entry") && !func.isExternal())
        if (failed(planFunction(func)))
          return signalPassFailure();
  }

  LogicalResult planFunction(func::FuncOp func) {
    Block &body = func.getBody().front();
    DenseMap<Operation *, int64_t> positions;
    for (auto [i, op] : llvm::enumerate(body))
      positions[&op] = static_cast<int64_t>(i);

    // Every memref.alloc in the function, including those nested in loops
    // (their live range is widened to the enclosing top-level op).
    SmallVector<Buffer> buffers;
    WalkResult walk = func.walk([&](memref::AllocOp alloc) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
        alloc.emitOpError("kiln-plan-memory needs static, identity-layout "
                          "buffers");
        return WalkResult::interrupt();
      }
      FailureOr<int64_t> last = lastUse(alloc.getResult(), body, positions);
      if (failed(last)) {
        alloc.emitOpError("buffer escapes its function; cannot plan it");
        return WalkResult::interrupt();
      }
      int64_t first = topLevelPosition(alloc, body, positions);
      buffers.push_back({alloc, first, std::max(first, *last),
                         alignTo(byteSize(type))});
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();

    // First fit, largest buffers first: each buffer goes at the lowest
    // aligned offset that does not collide with a placed buffer whose live
    // range overlaps its own.
    SmallVector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::stable_sort(order, [](Buffer *a, Buffer *b) {
      return a->bytes > b->bytes;
    });
    SmallVector<Buffer *> placed;
    int64_t total = 0;
    for (Buffer *b : order) {
      SmallVector<std::pair<int64_t, int64_t>> busy;
      for (Buffer *p : placed)
        if (p->first <= b->last && b->first <= p->last)
          busy.push_back({p->offset, p->offset + p->bytes});
      llvm::sort(busy);
      int64_t offset = 0;
      for (auto [begin, end] : busy) {
        if (offset + b->bytes <= begin)
          break;
        offset = std::max(offset, end);
      }
      b->offset = offset;
      total = std::max(total, offset + b->bytes);
      placed.push_back(b);
    }

    // Append the workspace argument and rewrite each alloc as a view of it.
    MLIRContext *ctx = func.getContext();
    auto workspaceType = MemRefType::get({total}, IntegerType::get(ctx, 8));
    unsigned argIndex = func.getNumArguments();
    if (failed(func.insertArgument(argIndex, workspaceType,
                                   DictionaryAttr::get(ctx), func.getLoc())))
      return failure();
    func.setArgAttr(argIndex, "kiln.workspace", UnitAttr::get(ctx));
    Value workspace = func.getArgument(argIndex);
    for (Buffer &b : buffers) {
      OpBuilder builder(b.alloc);
      Value offset =
          arith::ConstantIndexOp::create(builder, b.alloc.getLoc(), b.offset);
      Value view = memref::ViewOp::create(builder, b.alloc.getLoc(),
                                          b.alloc.getType(), workspace, offset,
                                          ValueRange{});
      for (Operation *user :
           llvm::make_early_inc_range(b.alloc.getResult().getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      b.alloc.getResult().replaceAllUsesWith(view);
      b.alloc.erase();
    }
    auto bytes = IntegerAttr::get(IntegerType::get(ctx, 64), total);
    func->setAttr("kiln.workspace_bytes", bytes);
    // Also on the module, keyed by function: function attributes do not
    // survive conversion to the LLVM dialect, the module's do.
    ModuleOp module = getOperation();
    NamedAttrList sizes;
    if (auto old = module->getAttrOfType<DictionaryAttr>("kiln.workspace_bytes"))
      sizes.append(old.getValue());
    sizes.set(func.getSymName(), bytes);
    module->setAttr("kiln.workspace_bytes", sizes.getDictionary(ctx));
    return success();
  }
};
} // namespace

//===- KVLayout.cpp - past/present tensors become an in-place cache -------===//
//
// Part of kiln. See Passes.td for what the pass matches and produces.
//
//===----------------------------------------------------------------------===//

#include "passes/KVLayout/Passes.h"

#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNKVLAYOUTPASS
#include "passes/KVLayout/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// One cache tensor: the past argument, the concat that appends the new
/// rows, and the present results that return it.
struct Cache {
  BlockArgument past;
  ConcatOp concat;
  std::string name;
};

/// The past argument `value` is concatenated from, when `value` is
/// `kiln.concat(%arg, %new) {axis = 2}` of 4-D tensors.
ConcatOp pastConcat(Value value) {
  auto concat = value.getDefiningOp<ConcatOp>();
  if (!concat || concat.getAxis() != 2 || concat.getInputs().size() != 2)
    return nullptr;
  auto past = dyn_cast<BlockArgument>(concat.getInputs()[0]);
  if (!past || cast<RankedTensorType>(past.getType()).getRank() != 4)
    return nullptr;
  return concat;
}

std::string argName(func::FuncOp func, unsigned index) {
  if (auto name = func.getArgAttrOfType<StringAttr>(index, "kiln.name"))
    return name.str();
  return ("input" + Twine(index)).str();
}

struct KilnKVLayoutPass
    : kiln::impl::KilnKVLayoutPassBase<KilnKVLayoutPass> {
  using KilnKVLayoutPassBase::KilnKVLayoutPassBase;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr("kiln.entry") && !func.isExternal() &&
          failed(rewrite(func)))
        return signalPassFailure();
  }

  LogicalResult rewrite(func::FuncOp func) {
    SmallVector<AttentionOp> attentions;
    func.walk([&](AttentionOp op) {
      if (pastConcat(op.getKey()) && pastConcat(op.getValue()) &&
          !op.getKvLength())
        attentions.push_back(op);
    });
    if (attentions.empty())
      return success();
    if (maxSeqLen <= 0)
      return func.emitError("kiln-kv-layout needs max-seq-len > 0");
    if (kvDtype != "f32" && kvDtype != "int8")
      return func.emitError("kiln-kv-layout: kv-dtype must be f32 or int8, "
                            "got '")
             << kvDtype << "'";

    int64_t tokens = cast<RankedTensorType>(attentions[0].getQuery().getType())
                         .getShape()[2];
    SmallVector<Cache> caches;
    for (AttentionOp op : attentions) {
      int64_t s = cast<RankedTensorType>(op.getQuery().getType()).getShape()[2];
      if (s != tokens)
        return op.emitError("kiln-kv-layout: attentions read ")
               << tokens << " and " << s
               << " new tokens; one entry appends one count";
      for (Value kv : {op.getKey(), op.getValue()}) {
        ConcatOp concat = pastConcat(kv);
        BlockArgument past = cast<BlockArgument>(concat.getInputs()[0]);
        std::string name = argName(func, past.getArgNumber());
        auto newType = cast<RankedTensorType>(concat.getInputs()[1].getType());
        if (newType.getShape()[2] != tokens)
          return concat.emitError("kiln-kv-layout: '")
                 << name << "' appends " << newType.getShape()[2]
                 << " rows but the attention reads " << tokens
                 << " new tokens";
        for (OpOperand &use : concat->getUses())
          if (use.getOwner() != op.getOperation() &&
              !isa<func::ReturnOp>(use.getOwner()))
            return use.getOwner()->emitError("kiln-kv-layout: the cache '")
                   << name << "' is read here, not only by its attention";
        for (OpOperand &use : past.getUses())
          if (use.getOwner() != concat.getOperation())
            return use.getOwner()->emitError("kiln-kv-layout: the past input '")
                   << name << "' is read here, not only appended to";
        caches.push_back({past, concat, name});
      }
    }

    MLIRContext *ctx = func.getContext();
    OpBuilder b(ctx);
    Location loc = func.getLoc();
    Type i64 = b.getI64Type();
    auto scalar = RankedTensorType::get({}, i64);

    // New arguments at the end: the position, then one state per cache.
    unsigned positionIndex = func.getNumArguments();
    if (failed(func.insertArgument(
            positionIndex, scalar,
            b.getDictionaryAttr({b.getNamedAttr("kiln.name",
                                                b.getStringAttr("position")),
                                 b.getNamedAttr("kiln.position",
                                                b.getUnitAttr())}),
            loc)))
      return failure();
    Value position = func.getArgument(positionIndex);
    bool int8 = kvDtype == "int8";
    // The cache (and, int8, its row scales) each read after the append.
    DenseMap<Operation *, std::pair<Value, Value>> appended;
    auto addState = [&](RankedTensorType type, StringRef name,
                        Location at) -> FailureOr<Value> {
      unsigned index = func.getNumArguments();
      if (failed(func.insertArgument(
              index, type,
              b.getDictionaryAttr(
                  {b.getNamedAttr("kiln.name", b.getStringAttr(name)),
                   b.getNamedAttr("kiln.state", b.getUnitAttr())}),
              at)))
        return failure();
      return func.getArgument(index);
    };
    for (Cache &c : caches) {
      auto pastType = cast<RankedTensorType>(c.past.getType());
      SmallVector<int64_t> shape(pastType.getShape());
      shape[2] = maxSeqLen;
      Value update = c.concat.getInputs()[1];
      if (int8 && !pastType.getElementType().isF32())
        return c.concat.emitError("kiln-kv-layout: an int8 cache needs f32 "
                                  "keys and values, '")
               << c.name << "' is " << pastType;
      FailureOr<Value> state = addState(
          RankedTensorType::get(shape, int8 ? b.getI8Type()
                                            : pastType.getElementType()),
          c.name, c.past.getLoc());
      if (failed(state))
        return failure();
      b.setInsertionPoint(c.concat);
      if (!int8) {
        appended[c.concat] = {KVAppendOp::create(b, c.concat.getLoc(), *state,
                                                 update, position),
                              Value()};
        continue;
      }
      FailureOr<Value> scales = addState(
          RankedTensorType::get(ArrayRef<int64_t>(shape).drop_back(),
                                b.getF32Type()),
          c.name + ".scales", c.past.getLoc());
      if (failed(scales))
        return failure();
      auto q = KVAppendQuantizedOp::create(b, c.concat.getLoc(), *state,
                                           *scales, update, position);
      appended[c.concat] = {q.getCacheResult(), q.getScalesResult()};
    }

    for (AttentionOp op : attentions) {
      b.setInsertionPoint(op);
      Value count = ConstantOp::create(
          b, op.getLoc(),
          DenseElementsAttr::get(scalar, APInt(64, uint64_t(tokens))));
      Value length = AddOp::create(b, op.getLoc(), position, count);
      auto [key, keyScales] = appended[op.getKey().getDefiningOp()];
      auto [value, valueScales] = appended[op.getValue().getDefiningOp()];
      auto fused = AttentionOp::create(
          b, op.getLoc(), op.getType(), op.getQuery(), key, value, length,
          keyScales, valueScales, op.getScaleAttr(), op.getCausalAttr());
      op.replaceAllUsesWith(fused.getResult());
      op.erase();
    }

    // The present results and past arguments go.
    func::ReturnOp ret = cast<func::ReturnOp>(func.getBody().back().getTerminator());
    llvm::BitVector dropResults(ret.getNumOperands());
    for (OpOperand &operand : ret->getOpOperands())
      if (auto concat = operand.get().getDefiningOp<ConcatOp>())
        if (appended.count(concat))
          dropResults.set(operand.getOperandNumber());
    ret->eraseOperands(dropResults);
    if (failed(func.eraseResults(dropResults)))
      return failure();
    llvm::BitVector dropArgs(func.getNumArguments());
    for (Cache &c : caches) {
      c.concat.erase();
      dropArgs.set(c.past.getArgNumber());
    }
    if (failed(func.eraseArguments(dropArgs)))
      return failure();

    func->setAttr("kiln.entry_kind",
                  b.getStringAttr(tokens == 1 ? "decode" : "prefill"));
    func->setAttr("kiln.tokens", b.getI64IntegerAttr(tokens));
    func->setAttr("kiln.max_seq_len", b.getI64IntegerAttr(maxSeqLen));
    func->setAttr("kiln.kv_dtype", b.getStringAttr(int8 ? "int8" : "f32"));
    numCaches += caches.size() / 2;
    return success();
  }
};
} // namespace

//===- KVLayout.cpp - past/present tensors become an in-place cache -------===//
//
// Part of kiln. See Passes.td for what the pass matches and produces.
//
//===----------------------------------------------------------------------===//

#include "passes/KVLayout/Passes.h"

#include "costmodel/KVCacheCost.h"
#include "dialects/Kiln/KilnOps.h"
#include "passes/Constants.h"
#include "passes/KVLayout/QJLSketch.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>

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
  bool isKey;
};

/// What an attention reads of one cache after the append: the rows, and
/// for the quantized layouts their scales, (QJL) the window and its tags
/// and the projection.
struct Appended {
  Value rows, scales, recent, tags, sketch, mins, channels;
  // QJL outlier channels: their bits, scales, channels and projection.
  Value outlierBits, outlierScales, outlierChannels, outlierSketch;
  bool tiled = false;
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
    // A QJL ring shared by a decode and a prefill entry holds W + S - 1
    // keys for the longest chunk S, so that every query of a chunk reads
    // whole the W keys before it, as a decode step would.
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr("kiln.entry"))
        func.walk([&](AttentionOp op) {
          if (pastConcat(op.getKey()) && pastConcat(op.getValue()))
            maxTokens = std::max(
                maxTokens,
                cast<RankedTensorType>(op.getQuery().getType()).getShape()[2]);
        });
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr("kiln.entry") && !func.isExternal() &&
          failed(rewrite(func)))
        return signalPassFailure();
  }

  int64_t maxTokens = 1;

  /// A new last argument of `func`: a state named `name`, with the unit
  /// attribute `kind` too when given (kiln.paged, kiln.block_table).
  static FailureOr<Value> addStateArg(func::FuncOp func, Type type,
                                      StringRef name, Location at,
                                      StringRef kind = {}) {
    OpBuilder b(func.getContext());
    unsigned index = func.getNumArguments();
    SmallVector<NamedAttribute> attrs = {
        b.getNamedAttr("kiln.name", b.getStringAttr(name)),
        b.getNamedAttr("kiln.state", b.getUnitAttr())};
    if (!kind.empty())
      attrs.push_back(b.getNamedAttr(kind, b.getUnitAttr()));
    if (failed(func.insertArgument(index, type, b.getDictionaryAttr(attrs),
                                   at)))
      return failure();
    return func.getArgument(index);
  }

  /// The QJL key cache of `c` (`shape` its [B, H, max-seq-len, D]): sign
  /// bits [B, H, N, m / 8], scales [B, H, N], the recent window [B, H, W,
  /// D] and its tags [W], appended by kiln.kv_append_qjl with the layer's
  /// own projection (seed 42 + the key's index).
  FailureOr<Appended> appendQJL(func::FuncOp func, Cache &c,
                                ArrayRef<int64_t> shape, Value position,
                                int64_t keyIndex, int64_t m) {
    OpBuilder b(func.getContext());
    Location at = c.past.getLoc();
    int64_t d = shape[3];
    SmallVector<int64_t> bitsShape(shape), recentShape(shape);
    bitsShape[3] = m / 8;
    int64_t ring = qjlRecent + maxTokens - 1;
    recentShape[2] = ring;
    FailureOr<Value> bits = addStateArg(
        func, RankedTensorType::get(bitsShape, b.getI8Type()), c.name, at);
    FailureOr<Value> scales = addStateArg(
        func,
        RankedTensorType::get(ArrayRef<int64_t>(shape).drop_back(),
                              b.getF32Type()),
        c.name + ".scales", at);
    FailureOr<Value> recent = addStateArg(
        func, RankedTensorType::get(recentShape, b.getF32Type()),
        c.name + ".recent", at);
    FailureOr<Value> tags = addStateArg(
        func, RankedTensorType::get({ring}, b.getI64Type()),
        c.name + ".recent_positions", at);
    if (failed(bits) || failed(scales) || failed(recent) || failed(tags))
      return failure();
    b.setInsertionPoint(c.concat);
    Location loc = c.concat.getLoc();
    Value sketch = createConstant(
        b, loc, RankedTensorType::get({d, m}, b.getF32Type()),
        mlir::kiln::qjlSketch(d, m, 42 + uint64_t(keyIndex), qjlOrthogonal),
        c.name + ".qjl_sketch");
    auto append = KVAppendQJLOp::create(b, loc, *bits, *scales, *recent, *tags,
                                        c.concat.getInputs()[1], position,
                                        sketch);
    Appended out{append.getBitsResult(), append.getScalesResult(),
                 append.getRecentResult(), append.getRecentPositionsResult(),
                 sketch};
    if (qjlOutliers == 0)
      return out;
    // Outlier channels: each completed group re-sketched, its k channels
    // of largest norm apart.
    int64_t mOut = qjlOutlierSketch ? int64_t(qjlOutlierSketch) : m;
    SmallVector<int64_t> outBitsShape(shape), channelsShape(shape);
    outBitsShape[3] = mOut / 8;
    channelsShape[2] = llvm::divideCeil(shape[2], kQJLOutlierGroup);
    channelsShape[3] = qjlOutliers;
    FailureOr<Value> outBits = addStateArg(
        func, RankedTensorType::get(outBitsShape, b.getI8Type()),
        c.name + ".outlier_bits", at);
    FailureOr<Value> outScales = addStateArg(
        func,
        RankedTensorType::get(ArrayRef<int64_t>(shape).drop_back(),
                              b.getF32Type()),
        c.name + ".outlier_scales", at);
    FailureOr<Value> channels = addStateArg(
        func, RankedTensorType::get(channelsShape, b.getI8Type()),
        c.name + ".outlier_channels", at);
    if (failed(outBits) || failed(outScales) || failed(channels))
      return failure();
    Value outSketch = createConstant(
        b, loc, RankedTensorType::get({d, mOut}, b.getF32Type()),
        mlir::kiln::qjlSketch(d, mOut, 1042 + uint64_t(keyIndex),
                              qjlOrthogonal),
        c.name + ".qjl_outlier_sketch");
    int64_t tokens =
        cast<RankedTensorType>(c.concat.getInputs()[1].getType()).getShape()[2];
    auto split = KVQJLOutliersOp::create(
        b, loc, out.rows, out.scales, *outBits, *outScales, *channels,
        out.recent, out.tags, position, sketch, outSketch,
        b.getI64IntegerAttr(tokens), b.getI64IntegerAttr(kQJLOutlierGroup),
        b.getI64IntegerAttr(qjlOutliers));
    out.rows = split.getBitsResult();
    out.scales = split.getScalesResult();
    out.outlierBits = split.getOutlierBitsResult();
    out.outlierScales = split.getOutlierScalesResult();
    out.outlierChannels = split.getChannelsResult();
    out.outlierSketch = outSketch;
    return out;
  }

  /// Low-bit values of `c` (`shape` its [B, H, max-seq-len, D]): packed
  /// codes [B, H, N, D * bits / 8] with f32 scales and mins [B, H, N, G]
  /// per group of value-group channels (one group when that does not
  /// divide D),
  /// appended by kiln.kv_append_grouped.
  FailureOr<Appended> appendGrouped(func::FuncOp func, Cache &c,
                                    ArrayRef<int64_t> shape, Value position,
                                    int64_t bits) {
    OpBuilder b(func.getContext());
    Location at = c.past.getLoc();
    int64_t d = shape[3], perByte = 8 / bits;
    if (d % perByte != 0)
      return c.concat.emitError("kiln-kv-layout: '")
             << c.name << "' rows of " << d << " channels do not fill whole "
             << "bytes at " << bits << " bits";
    int64_t groups =
        valueGroup > 0 && d % valueGroup == 0 ? d / valueGroup : 1;
    SmallVector<int64_t> codes(shape), params(shape);
    codes[3] = d / perByte;
    params[3] = groups;
    auto paramType = RankedTensorType::get(params, b.getF32Type());
    FailureOr<Value> cache = addStateArg(
        func, RankedTensorType::get(codes, b.getI8Type()), c.name, at);
    FailureOr<Value> scales =
        addStateArg(func, paramType, c.name + ".scales", at);
    FailureOr<Value> mins = addStateArg(func, paramType, c.name + ".mins", at);
    if (failed(cache) || failed(scales) || failed(mins))
      return failure();
    b.setInsertionPoint(c.concat);
    auto append = KVAppendGroupedOp::create(
        b, c.concat.getLoc(), *cache, *scales, *mins, c.concat.getInputs()[1],
        position, b.getI64IntegerAttr(bits));
    Appended out;
    out.rows = append.getCacheResult();
    out.scales = append.getScalesResult();
    out.mins = append.getMinsResult();
    return out;
  }

  /// ThinK keys of `c` (`shape` its [B, H, max-seq-len, D]), appended
  /// right before `attention`, which reads them: the attention's queries
  /// observed into a ring of think-window + S rows, the keys that left the
  /// recent window pruned to T channels (chosen in a decode entry), then
  /// the new keys appended whole.
  FailureOr<Appended> appendThink(func::FuncOp func, Cache &c,
                                  ArrayRef<int64_t> shape, Value position,
                                  AttentionOp attention, int64_t tokens) {
    OpBuilder b(func.getContext());
    Location at = c.past.getLoc();
    int64_t d = shape[3];
    int64_t kept = d - int64_t(std::floor(double(thinkRatio) * double(d)));
    int64_t ring = thinkWindow + maxTokens;
    SmallVector<int64_t> observedShape(shape), channelsShape(shape);
    observedShape[2] = ring;
    channelsShape.pop_back();
    channelsShape[2] = kept + 1; // the channels, then the pruned count
    Type i64 = b.getI64Type(), f32 = b.getF32Type();
    FailureOr<Value> cache =
        addStateArg(func, RankedTensorType::get(shape, f32), c.name, at);
    FailureOr<Value> channels =
        addStateArg(func, RankedTensorType::get(channelsShape, i64),
                    c.name + ".think_channels", at);
    FailureOr<Value> observed =
        addStateArg(func, RankedTensorType::get(observedShape, f32),
                    c.name + ".think_queries", at);
    FailureOr<Value> tags =
        addStateArg(func, RankedTensorType::get({ring}, i64),
                    c.name + ".think_query_positions", at);
    if (failed(cache) || failed(channels) || failed(observed) ||
        failed(tags))
      return failure();
    b.setInsertionPoint(attention);
    Location loc = attention.getLoc();
    auto observe = KVThinkObserveOp::create(b, loc, *observed, *tags,
                                            attention.getQuery(), position);
    auto prune = KVThinkPruneOp::create(
        b, loc, *cache, *channels, observe.getObservedResult(),
        observe.getPositionsResult(), position,
        b.getI64IntegerAttr(thinkRecent), b.getI64IntegerAttr(thinkWindow),
        tokens == 1 ? b.getUnitAttr() : UnitAttr());
    Appended out;
    out.rows = KVAppendOp::create(b, loc, prune.getCacheResult(),
                                  c.concat.getInputs()[1], position,
                                  UnitAttr(), Value());
    out.channels = prune.getChannelsResult();
    return out;
  }

  /// kv-dtype=auto: the most faithful layout whose cache fits kv-budget,
  /// the candidates and the choice recorded on `func`.
  FailureOr<KVLayoutCandidate> chooseLayout(func::FuncOp func,
                                            ArrayRef<Cache> caches) {
    auto shapeOf = [](const Cache &c) {
      return cast<RankedTensorType>(c.past.getType()).getShape();
    };
    for (const Cache &c : caches)
      if (shapeOf(c)[1] != shapeOf(caches[0])[1] ||
          shapeOf(c)[3] != shapeOf(caches[0])[3])
        return func.emitError("kiln-kv-layout: kv-dtype=auto needs every "
                                  "cache alike; '")
               << c.name << "' differs from '" << caches[0].name << "'";
    KVCacheShape shape;
    shape.layers = int64_t(caches.size()) / 2;
    shape.kvHeads = shapeOf(caches[0])[1];
    shape.headDim = shapeOf(caches[0])[3];
    shape.queryHeads = shape.kvHeads;
    func.walk([&](AttentionOp op) {
      shape.queryHeads =
          cast<RankedTensorType>(op.getQuery().getType()).getShape()[1];
    });
    shape.maxSeqLen = maxSeqLen;
    shape.qjlRecent = qjlRecent + maxTokens - 1;
    shape.valueGroup = valueGroup;
    std::vector<KVLayoutCandidate> candidates = kvLayoutCandidates(
        shape, CpuThroughput::forVector(vectorBits, /*l2Bytes=*/1 << 20));
    int pick = pickKVLayout(candidates, kvBudget);
    std::string all;
    for (const KVLayoutCandidate &c : candidates)
      all += "\n  " + c.describe();
    if (pick < 0)
      return func.emitError("kiln-kv-layout: no cache layout fits kv-budget ")
             << uint64_t(kvBudget) << " bytes for " << int64_t(maxSeqLen)
             << " tokens:" << all;
    func->setAttr("kiln.kv_layout_choice",
                  StringAttr::get(func.getContext(),
                                  candidates[pick].describe() +
                                      " (the most faithful within " +
                                      std::to_string(kvBudget) +
                                      " bytes); candidates:" + all));
    return candidates[pick];
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
    if (kvDtype != "f32" && kvDtype != "int8" && kvDtype != "qjl" &&
        kvDtype != "think" && kvDtype != "auto")
      return func.emitError("kiln-kv-layout: kv-dtype must be f32, int8, "
                            "qjl, think or auto, got '")
             << std::string(kvDtype) << "'";
    if (kvDtype == "think" &&
        (!(thinkRatio >= 0.0 && thinkRatio < 1.0) || thinkRecent < 0 ||
         thinkWindow <= 0))
      return func.emitError("kiln-kv-layout: think-ratio must be in [0, 1), "
                            "think-recent >= 0 and think-window > 0, got ")
             << double(thinkRatio) << ", " << int64_t(thinkRecent) << " and "
             << int64_t(thinkWindow);
    if (kvDtype == "auto" && kvBudget == 0)
      return func.emitError("kiln-kv-layout: kv-dtype=auto needs kv-budget "
                            "(bytes)");
    if (valueBits != 0 && valueBits != 8 && valueBits != 4 && valueBits != 2)
      return func.emitError("kiln-kv-layout: value-bits must be 8, 4 or 2, "
                            "got ")
             << int64_t(valueBits);
    if (valueBits != 0 && kvDtype != "int8" && kvDtype != "qjl" &&
        kvDtype != "think")
      return func.emitError("kiln-kv-layout: value-bits applies to the "
                            "int8, qjl and think layouts");
    if (kvBlock != 0 &&
        (kvBlock < 0 || kvBlock % 16 != 0 || maxSeqLen % kvBlock != 0 ||
         kvPoolBlocks < 0))
      return func.emitError("kiln-kv-layout: kv-block must be a positive "
                            "multiple of 16 dividing max-seq-len ")
             << int64_t(maxSeqLen) << " and kv-pool-blocks >= 0, got "
             << int64_t(kvBlock) << " and " << int64_t(kvPoolBlocks);
    if (kvBlock != 0 && ((kvDtype != "f32" && kvDtype != "int8") ||
                         (valueBits != 0 && valueBits != 8)))
      return func.emitError("kiln-kv-layout: paged caches (kv-block) are "
                            "f32 or int8 with 8-bit values, not kv-dtype=")
             << std::string(kvDtype) << " value-bits=" << int64_t(valueBits);
    if (qjlOutliers != 0 &&
        (kvDtype != "qjl" || qjlOutliers < 0 || qjlRecent < kQJLOutlierGroup ||
         qjlOutlierSketch < 0 || qjlOutlierSketch % 8 != 0))
      return func.emitError("kiln-kv-layout: qjl-outliers needs kv-dtype=qjl, "
                            "qjl-recent >= ")
             << kQJLOutlierGroup << " (a group's keys stay whole until it is "
             << "complete) and qjl-outlier-sketch a multiple of 8, got "
             << int64_t(qjlOutliers) << ", " << int64_t(qjlRecent) << " and "
             << int64_t(qjlOutlierSketch);
    if (kvDtype == "qjl" && (qjlSketch <= 0 || qjlSketch % 8 != 0 ||
                             qjlRecent <= 0))
      return func.emitError("kiln-kv-layout: qjl-sketch must be a positive "
                            "multiple of 8 and qjl-recent positive, got ")
             << int64_t(qjlSketch) << " and " << int64_t(qjlRecent);

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
        bool isKey = kv == op.getKey();
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
        caches.push_back({past, concat, name, isKey});
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
    // Paged: the sequence's block table is the first state.
    Value blockTable;
    int64_t poolBlocks = kvPoolBlocks ? int64_t(kvPoolBlocks)
                                      : (kvBlock ? maxSeqLen / kvBlock : 0);
    if (kvBlock) {
      for (Cache &c : caches)
        if (cast<RankedTensorType>(c.past.getType()).getShape()[0] != 1)
          return c.concat.emitError("kiln-kv-layout: a paged cache holds one "
                                    "sequence per call (batch 1), '")
                 << c.name << "' is " << c.past.getType();
      FailureOr<Value> table = addStateArg(
          func, RankedTensorType::get({maxSeqLen / kvBlock}, b.getI32Type()),
          "kv.block_table", loc, "kiln.block_table");
      if (failed(table))
        return failure();
      blockTable = *table;
    }
    std::string layout = kvDtype;
    // Values: int8 by default under int8 and qjl, f32 under think unless
    // value-bits says otherwise.
    int64_t sketchBits = qjlSketch,
            valueBitsUsed =
                valueBits ? int64_t(valueBits) : (kvDtype == "think" ? 0 : 8);
    if (layout == "auto") {
      FailureOr<KVLayoutCandidate> pick = chooseLayout(func, caches);
      if (failed(pick))
        return failure();
      layout = pick->layout;
      sketchBits = pick->qjlSketch;
      valueBitsUsed = pick->valueBits;
    }
    bool qjl = layout == "qjl", think = layout == "think";
    // int8 values under qjl too (QJL is a key layout).
    bool int8 = layout == "int8" || qjl;
    DenseMap<Operation *, Appended> appended;
    int64_t keyIndex = 0;
    for (Cache &c : caches) {
      auto pastType = cast<RankedTensorType>(c.past.getType());
      SmallVector<int64_t> shape(pastType.getShape());
      shape[2] = maxSeqLen;
      if (blockTable) {
        shape[0] = poolBlocks;
        shape[2] = kvBlock;
      }
      StringRef kind = blockTable ? "kiln.paged" : "";
      Value update = c.concat.getInputs()[1];
      if ((int8 || think) && !pastType.getElementType().isF32())
        return c.concat.emitError("kiln-kv-layout: an ")
               << layout << " cache needs f32 keys and values, '" << c.name
               << "' is " << pastType;
      if (think && c.isKey) {
        AttentionOp attention;
        for (Operation *user : c.concat->getUsers())
          if (auto op = dyn_cast<AttentionOp>(user))
            attention = op;
        FailureOr<Appended> a =
            appendThink(func, c, shape, position, attention, tokens);
        if (failed(a))
          return failure();
        appended[c.concat] = *a;
        continue;
      }
      if (qjl && c.isKey) {
        FailureOr<Appended> a =
            appendQJL(func, c, shape, position, keyIndex++, sketchBits);
        if (failed(a))
          return failure();
        appended[c.concat] = *a;
        continue;
      }
      // Quantized rows: keys and values of int8, values of qjl, and
      // values of think with value-bits.
      bool quantized = int8 || (think && !c.isKey && valueBitsUsed != 0);
      if (quantized && !c.isKey && valueBitsUsed < 8) {
        FailureOr<Appended> a =
            appendGrouped(func, c, shape, position, valueBitsUsed);
        if (failed(a))
          return failure();
        appended[c.concat] = *a;
        continue;
      }
      FailureOr<Value> state = addStateArg(
          func,
          RankedTensorType::get(shape, quantized ? b.getI8Type()
                                                 : pastType.getElementType()),
          c.name, c.past.getLoc(), kind);
      if (failed(state))
        return failure();
      b.setInsertionPoint(c.concat);
      // Keys in tiles of 16 (kiln.attention's key_tiled) where the shapes
      // allow: a block's scores are then plain vector FMAs.
      bool tiled = c.isKey && tileKeys && shape[2] % 16 == 0 &&
                   shape[3] % 16 == 0;
      UnitAttr tiledAttr = tiled ? b.getUnitAttr() : UnitAttr();
      if (!quantized) {
        Appended a;
        a.rows = KVAppendOp::create(b, c.concat.getLoc(), *state, update,
                                    position, tiledAttr, blockTable);
        a.tiled = tiled;
        appended[c.concat] = a;
        continue;
      }
      FailureOr<Value> scales = addStateArg(
          func,
          RankedTensorType::get(ArrayRef<int64_t>(shape).drop_back(),
                                b.getF32Type()),
          c.name + ".scales", c.past.getLoc(), kind);
      if (failed(scales))
        return failure();
      auto q = KVAppendQuantizedOp::create(b, c.concat.getLoc(), *state,
                                           *scales, update, position,
                                           tiledAttr, blockTable);
      Appended a;
      a.rows = q.getCacheResult();
      a.scales = q.getScalesResult();
      a.tiled = tiled;
      appended[c.concat] = a;
    }

    for (AttentionOp op : attentions) {
      b.setInsertionPoint(op);
      Value count = ConstantOp::create(
          b, op.getLoc(),
          DenseElementsAttr::get(scalar, APInt(64, uint64_t(tokens))));
      Value length = AddOp::create(b, op.getLoc(), position, count);
      Appended key = appended[op.getKey().getDefiningOp()];
      Appended value = appended[op.getValue().getDefiningOp()];
      auto fused = AttentionOp::create(
          b, op.getLoc(), op.getType(), op.getQuery(), key.rows, value.rows,
          length, key.scales, value.scales, key.sketch, key.recent, key.tags,
          value.mins, key.channels, blockTable, key.outlierBits,
          key.outlierScales, key.outlierChannels, key.outlierSketch,
          op.getScaleAttr(), op.getCausalAttr(),
          value.mins ? b.getI64IntegerAttr(valueBitsUsed) : IntegerAttr(),
          key.recent ? b.getI64IntegerAttr(qjlRecent) : IntegerAttr(),
          key.tiled ? b.getUnitAttr() : UnitAttr(),
          key.outlierBits ? b.getI64IntegerAttr(kQJLOutlierGroup) : IntegerAttr());
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
    func->setAttr("kiln.kv_dtype", b.getStringAttr(layout));
    if (kvBlock)
      func->setAttr("kiln.kv_block_tokens", b.getI64IntegerAttr(kvBlock));
    numCaches += caches.size() / 2;
    return success();
  }
};
} // namespace

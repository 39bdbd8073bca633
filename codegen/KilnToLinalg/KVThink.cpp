//===- KVThink.cpp - ThinK's observation ring and channel pruning ---------===//
//
// Part of kiln. kiln.kv_think_observe writes the squared queries of the
// last tokens into their ring slots; kiln.kv_think_prune chooses the kept
// key channels once (scalar loops, once per sequence) and then compacts
// each key row that leaves the recent window to stride T, in place: row r
// moves from flat offset r D to r T of its head, and since r T + T <=
// (r + 1) D a forward pass never overwrites a row it has yet to read (each
// row is read whole before its kept channels are written).
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::kiln;
using lowering::scalarIndex;

namespace {

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value f32Zeros(OpBuilder &b, Location loc, int64_t n) {
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({n}, b.getF32Type()), 0.0f));
}

/// `width` f32 lanes of `t` from index `at` on.
Value readRow(OpBuilder &b, Location loc, Value t, int64_t width,
              ValueRange at) {
  return vector::TransferReadOp::create(
      b, loc, VectorType::get({width}, b.getF32Type()), t, at,
      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0)),
      ArrayRef<bool>{true});
}

/// Per token t = position + r of the last min(S, R) queries: the sum over
/// each key/value head's query heads of q^2 into slot t % R, tagged t.
///
/// The writes happen in a private function the entry calls. A prefill
/// entry records its queries for a later decode call and reads nothing of
/// them itself: as plain tensor ops they would be dead code, while a call
/// stays, and bufferizes to writes into the state's buffer.
struct KVThinkObserveLowering : OpConversionPattern<KVThinkObserveOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVThinkObserveOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto module = op->getParentOfType<ModuleOp>();
    std::string name = "kiln_think_observe";
    for (int i = 1; module.lookupSymbol(name); ++i)
      name = "kiln_think_observe_" + std::to_string(i);
    FunctionType type = rewriter.getFunctionType(
        ValueRange(adaptor.getOperands()).getTypes(), op->getResultTypes());
    func::FuncOp callee;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToEnd(module.getBody());
      callee = func::FuncOp::create(rewriter, loc, name, type);
      callee.setPrivate();
      // Internal to the object: two models linked into one app each have
      // their own.
      callee->setAttr("llvm.linkage",
                      LLVM::LinkageAttr::get(rewriter.getContext(),
                                             LLVM::Linkage::Internal));
      Block *body =
          rewriter.createBlock(&callee.getBody(), {}, type.getInputs(),
                               SmallVector<Location>(type.getNumInputs(), loc));
      rewriter.setInsertionPointToStart(body);
      func::ReturnOp::create(rewriter, loc,
                             observe(rewriter, loc, op, body->getArgument(0),
                                     body->getArgument(1), body->getArgument(2),
                                     body->getArgument(3)));
    }
    rewriter.replaceOpWithNewOp<func::CallOp>(op, callee,
                                              adaptor.getOperands());
    return success();
  }

  static SmallVector<Value> observe(OpBuilder &b, Location loc,
                                    KVThinkObserveOp op, Value observed,
                                    Value positions, Value query,
                                    Value positionTensor) {
    ArrayRef<int64_t> q =
        cast<RankedTensorType>(op.getQuery().getType()).getShape();
    ArrayRef<int64_t> o =
        cast<RankedTensorType>(op.getObserved().getType()).getShape();
    int64_t ring = o[2], groups = q[1] / o[1], d = q[3];
    int64_t first = std::max<int64_t>(0, q[2] - ring);
    Value zero = indexConst(b, loc, 0), one = indexConst(b, loc, 1);
    Value position = scalarIndex(b, loc, positionTensor);
    scf::LoopNest squares = scf::buildLoopNest(
        b, loc, ValueRange{zero, zero, indexConst(b, loc, first)},
        ValueRange{indexConst(b, loc, o[0]), indexConst(b, loc, o[1]),
                   indexConst(b, loc, q[2])},
        ValueRange{one, one, one}, ValueRange{observed},
        [&](OpBuilder &rb, Location l, ValueRange ivs,
            ValueRange state) -> scf::ValueVector {
          Value sum = f32Zeros(rb, l, d);
          for (int64_t g = 0; g < groups; ++g) {
            Value head = arith::AddIOp::create(
                rb, l,
                arith::MulIOp::create(rb, l, ivs[1], indexConst(rb, l, groups)),
                indexConst(rb, l, g));
            Value qv = readRow(rb, l, query, d,
                               ValueRange{ivs[0], head, ivs[2], zero});
            sum = vector::FMAOp::create(rb, l, qv, qv, sum);
          }
          Value slot = arith::RemUIOp::create(
              rb, l, arith::AddIOp::create(rb, l, position, ivs[2]),
              indexConst(rb, l, ring));
          return {vector::TransferWriteOp::create(
                      rb, l, sum, state[0],
                      ValueRange{ivs[0], ivs[1], slot, zero},
                      ArrayRef<bool>{true})
                      .getResult()};
        });
    return {
        squares.results[0],
        lowering::tagRingSlots(b, loc, positions, position, first, q[2], ring)};
  }
};

struct KVThinkPruneLowering : OpConversionPattern<KVThinkPruneOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KVThinkPruneOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    auto cacheType = cast<RankedTensorType>(op.getCache().getType());
    ArrayRef<int64_t> c = cacheType.getShape();
    int64_t d = c[3];
    // The channels' last column is the pruned count.
    int64_t kept =
        cast<RankedTensorType>(op.getChannels().getType()).getShape()[2] - 1;
    int64_t ring =
        cast<RankedTensorType>(op.getObserved().getType()).getShape()[2];
    auto index = [&](int64_t v) { return indexConst(b, loc, v); };
    Value zero = index(0), one = index(1);
    Value position = scalarIndex(b, loc, adaptor.getPosition());
    // Truncate and reset shorten the sequence below pruned rows: the rows
    // still in it stay pruned.
    Value pruned = arith::MinSIOp::create(
        b, loc,
        arith::IndexCastOp::create(
            b, loc, b.getIndexType(),
            tensor::ExtractOp::create(b, loc, adaptor.getChannels(),
                                      ValueRange{zero, zero, index(kept)})),
        position);
    Value target =
        arith::SubIOp::create(b, loc, position, index(int64_t(op.getRecent())));
    Value cache = adaptor.getCache(), channels = adaptor.getChannels();
    Value active =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, pruned, zero);
    if (op.getChoose()) {
      Value chosen = choose(b, loc, op, adaptor, pruned, target, position, ring,
                            kept, channels);
      active = arith::OrIOp::create(b, loc, active, chosen);
    }
    Value count = arith::SelectOp::create(
        b, loc, active, arith::MaxSIOp::create(b, loc, pruned, target), pruned);

    // Rows [pruned, count): each read whole, its kept channels written at
    // stride T, in the head's flat [M * D] view.
    SmallVector<ReassociationIndices> flat = {{0}, {1}, {2, 3}};
    Value flatCache = tensor::CollapseShapeOp::create(b, loc, cache, flat);
    scf::LoopNest compact = scf::buildLoopNest(
        b, loc, ValueRange{zero, zero, pruned},
        ValueRange{index(c[0]), index(c[1]), count}, ValueRange{one, one, one},
        ValueRange{flatCache},
        [&](OpBuilder &rb, Location l, ValueRange ivs,
            ValueRange state) -> scf::ValueVector {
          Value from =
              arith::MulIOp::create(rb, l, ivs[2], indexConst(rb, l, d));
          Value row =
              readRow(rb, l, state[0], d, ValueRange{ivs[0], ivs[1], from});
          Value gathered = lowering::gatherLanes(
              rb, l, row, channels, ValueRange{ivs[0], ivs[1]}, kept, kept);
          Value to =
              arith::MulIOp::create(rb, l, ivs[2], indexConst(rb, l, kept));
          return {vector::TransferWriteOp::create(
                      rb, l, gathered, state[0], ValueRange{ivs[0], ivs[1], to},
                      ArrayRef<bool>{true})
                      .getResult()};
        });
    Value result = tensor::ExpandShapeOp::create(b, loc, cacheType,
                                                 compact.results[0], flat);
    // The count, every head's last column (read there by the attention).
    Value count64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
    scf::LoopNest counted = scf::buildLoopNest(
        b, loc, ValueRange{zero, zero}, ValueRange{index(c[0]), index(c[1])},
        ValueRange{one, one}, ValueRange{channels},
        [&](OpBuilder &rb, Location l, ValueRange ivs,
            ValueRange state) -> scf::ValueVector {
          return {tensor::InsertOp::create(
              rb, l, count64, state[0],
              ValueRange{ivs[0], ivs[1], indexConst(rb, l, kept)})};
        });
    rewriter.replaceOp(op, {result, counted.results[0]});
    return success();
  }

  /// Whether channels are chosen now (P = 0, rows to prune, an observed
  /// token among the `window` before the position); `channels` becomes
  /// the choice's result either way.
  static Value choose(OpBuilder &b, Location loc, KVThinkPruneOp op,
                      OpAdaptor adaptor, Value pruned, Value target,
                      Value position, int64_t ring, int64_t kept,
                      Value &channels) {
    auto index = [&](OpBuilder &ib, int64_t v) {
      return indexConst(ib, loc, v);
    };
    ArrayRef<int64_t> c =
        cast<RankedTensorType>(op.getCache().getType()).getShape();
    int64_t d = c[3];
    Value zero = index(b, 0), one = index(b, 1);
    auto cmp = [&](OpBuilder &cb, arith::CmpIPredicate p, Value x, Value y) {
      return arith::CmpIOp::create(cb, loc, p, x, y).getResult();
    };
    // Slot s is valid when its tag t is one of the `window` tokens before
    // the position and t % R == s (a zero-filled ring's tags are 0).
    Value oldest = arith::MaxSIOp::create(
        b, loc, zero,
        arith::SubIOp::create(b, loc, position,
                              index(b, int64_t(op.getWindow()))));
    Value tags = adaptor.getObservedPositions();
    auto validSlot = [&](OpBuilder &vb, Value s) -> Value {
      Value t = arith::IndexCastOp::create(
          vb, loc, vb.getIndexType(),
          tensor::ExtractOp::create(vb, loc, tags, ValueRange{s}));
      Value inWindow = arith::AndIOp::create(
          vb, loc, cmp(vb, arith::CmpIPredicate::sge, t, oldest),
          cmp(vb, arith::CmpIPredicate::slt, t, position));
      Value same = cmp(vb, arith::CmpIPredicate::eq,
                       arith::RemSIOp::create(vb, loc, t, index(vb, ring)), s);
      return arith::AndIOp::create(vb, loc, inWindow, same);
    };
    Value valid =
        scf::ForOp::create(
            b, loc, zero, index(b, ring), one, ValueRange{index(b, 0)},
            [&](OpBuilder &fb, Location l, Value s, ValueRange acc) {
              Value add = arith::SelectOp::create(fb, l, validSlot(fb, s),
                                                  index(fb, 1), index(fb, 0));
              scf::YieldOp::create(
                  fb, l, ValueRange{arith::AddIOp::create(fb, l, acc[0], add)});
            })
            .getResult(0);
    Value start = arith::AndIOp::create(
        b, loc,
        arith::AndIOp::create(b, loc,
                              cmp(b, arith::CmpIPredicate::eq, pruned, zero),
                              cmp(b, arith::CmpIPredicate::sgt, target, zero)),
        cmp(b, arith::CmpIPredicate::sgt, valid, zero));

    Value observed = adaptor.getObserved(), cache = adaptor.getCache();
    Value old = channels;
    auto ifOp = scf::IfOp::create(
        b, loc, start,
        [&](OpBuilder &tb, Location l) {
          scf::LoopNest heads = scf::buildLoopNest(
              tb, l, ValueRange{zero, zero},
              ValueRange{index(tb, c[0]), index(tb, c[1])},
              ValueRange{one, one}, ValueRange{old},
              [&](OpBuilder &hb, Location hl, ValueRange bh,
                  ValueRange state) -> scf::ValueVector {
                // score[i] = (sum of the valid observed q^2) * sum_s k^2.
                // Sums a D-vector over rows s in [0, to) of `source`.
                auto sumRows = [&](Value source, Value to, auto add) {
                  return scf::ForOp::create(
                             hb, hl, index(hb, 0), to, index(hb, 1),
                             ValueRange{f32Zeros(hb, hl, d)},
                             [&](OpBuilder &sb, Location sl, Value s,
                                 ValueRange acc) {
                               Value row = readRow(
                                   sb, sl, source, d,
                                   ValueRange{bh[0], bh[1], s, index(sb, 0)});
                               scf::YieldOp::create(
                                   sb, sl,
                                   ValueRange{add(sb, sl, s, row, acc[0])});
                             })
                      .getResult(0);
                };
                Value qs = sumRows(
                    observed, index(hb, ring),
                    [&](OpBuilder &sb, Location sl, Value s, Value row,
                        Value acc) -> Value {
                      Value sum = arith::AddFOp::create(sb, sl, acc, row);
                      return arith::SelectOp::create(sb, sl, validSlot(sb, s),
                                                     sum, acc);
                    });
                Value ks = sumRows(cache, position,
                                   [](OpBuilder &sb, Location sl, Value,
                                      Value k, Value acc) -> Value {
                                     return vector::FMAOp::create(sb, sl, k, k,
                                                                  acc);
                                   });
                Value score = arith::MulFOp::create(hb, hl, qs, ks);
                return {pickChannels(hb, hl, score, d, kept, bh, state[0])};
              });
          scf::YieldOp::create(tb, l, heads.results);
        },
        [&](OpBuilder &eb, Location l) {
          scf::YieldOp::create(eb, l, ValueRange{old});
        });
    channels = ifOp.getResult(0);
    return start;
  }

  /// The `kept` highest of `score` (vector<d>), ties to the lower index,
  /// written in ascending channel order into channels[bh[0], bh[1], :]:
  /// channel i is kept when fewer than `kept` channels outrank it.
  static Value pickChannels(OpBuilder &b, Location loc, Value score, int64_t d,
                            int64_t kept, ValueRange bh, Value channels) {
    auto index = [&](OpBuilder &ib, int64_t v) {
      return indexConst(ib, loc, v);
    };
    auto laneType = VectorType::get({d}, b.getI32Type());
    SmallVector<int32_t> iota;
    for (int32_t i = 0; i < d; ++i)
      iota.push_back(i);
    Value lanes = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(laneType, ArrayRef<int32_t>(iota)));
    Value ones = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(laneType, int32_t(1)));
    Value zeros = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(laneType, int32_t(0)));
    auto loop = scf::ForOp::create(
        b, loc, index(b, 0), index(b, d), index(b, 1),
        ValueRange{channels, index(b, 0)},
        [&](OpBuilder &fb, Location l, Value i, ValueRange st) {
          Value si = vector::BroadcastOp::create(
              fb, l, score.getType(),
              vector::ExtractOp::create(fb, l, score, OpFoldResult(i)));
          Value i32 = arith::IndexCastOp::create(fb, l, fb.getI32Type(), i);
          Value before = arith::CmpIOp::create(
              fb, l, arith::CmpIPredicate::slt, lanes,
              vector::BroadcastOp::create(fb, l, laneType, i32));
          Value outranks = arith::OrIOp::create(
              fb, l,
              arith::CmpFOp::create(fb, l, arith::CmpFPredicate::OGT, score,
                                    si),
              arith::AndIOp::create(
                  fb, l,
                  arith::CmpFOp::create(fb, l, arith::CmpFPredicate::OEQ, score,
                                        si),
                  before));
          Value rank = vector::ReductionOp::create(
              fb, l, vector::CombiningKind::ADD,
              arith::SelectOp::create(fb, l, outranks, ones, zeros));
          // The count guard keeps NaN scores (which outrank nothing and
          // are outranked by nothing) from writing past T.
          Value keep = arith::AndIOp::create(
              fb, l,
              arith::CmpIOp::create(
                  fb, l, arith::CmpIPredicate::slt, rank,
                  arith::ConstantOp::create(fb, l, fb.getI32IntegerAttr(kept))),
              arith::CmpIOp::create(fb, l, arith::CmpIPredicate::slt, st[1],
                                    index(fb, kept)));
          auto write = scf::IfOp::create(
              fb, l, keep,
              [&](OpBuilder &wb, Location wl) {
                Value ch =
                    arith::IndexCastOp::create(wb, wl, wb.getI64Type(), i);
                scf::YieldOp::create(
                    wb, wl,
                    ValueRange{tensor::InsertOp::create(
                        wb, wl, ch, st[0], ValueRange{bh[0], bh[1], st[1]})});
              },
              [&](OpBuilder &wb, Location wl) {
                scf::YieldOp::create(wb, wl, ValueRange{st[0]});
              });
          Value next = arith::AddIOp::create(
              fb, l, st[1],
              arith::SelectOp::create(fb, l, keep, index(fb, 1), index(fb, 0)));
          scf::YieldOp::create(fb, l, ValueRange{write.getResult(0), next});
        });
    return loop.getResult(0);
  }
};

} // namespace

void mlir::kiln::lowering::populateKVThinkPatterns(
    RewritePatternSet &patterns) {
  patterns.add<KVThinkObserveLowering, KVThinkPruneLowering>(
      patterns.getContext());
}

//===- DataMovement.cpp - kiln reshape/transpose/concat/slice/gather ------===//
//
// Part of kiln.
//   reshape   -> tensor.collapse_shape / expand_shape (through 1-D if needed)
//   transpose -> linalg.transpose
//   concat    -> tensor.empty + one tensor.insert_slice per input
//   slice     -> tensor.extract_slice (positive steps); a linalg.generic
//                reading input[start + step * i] (any negative step)
//   gather    -> linalg.generic over the result reading `indices`, whose
//                body normalizes the index (negative += dim, clamped into
//                range) and tensor.extract's from `data`
//   expand    -> linalg.generic with a broadcasting input map
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, reshapeTo(rewriter, op.getLoc(), adaptor.getInput(),
                                     cast<RankedTensorType>(op.getType())));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value init = emptyTensor(rewriter, op.getLoc(), type.getShape(),
                             type.getElementType());
    rewriter.replaceOp(op, linalg::TransposeOp::create(rewriter, op.getLoc(),
                                                       adaptor.getInput(), init,
                                                       op.getPerm())
                               .getResult()[0]);
    return success();
  }
};

struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t axis = op.getAxis(), rank = type.getRank();
    if (adaptor.getInputs().size() == 1) {
      rewriter.replaceOp(op, adaptor.getInputs().front());
      return success();
    }
    Value result =
        emptyTensor(rewriter, loc, type.getShape(), type.getElementType());
    int64_t offset = 0;
    for (Value input : adaptor.getInputs()) {
      auto it = cast<RankedTensorType>(input.getType());
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(rank, rewriter.getIndexAttr(1));
      for (int64_t d = 0; d < rank; ++d)
        sizes.push_back(rewriter.getIndexAttr(it.getDimSize(d)));
      offsets[axis] = rewriter.getIndexAttr(offset);
      offset += it.getDimSize(axis);
      if (it.getDimSize(axis) == 0)
        continue;
      result = tensor::InsertSliceOp::create(rewriter, loc, input, result,
                                             offsets, sizes, strides);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    ArrayRef<int64_t> starts = op.getStarts(), sizes = op.getSizes(),
                      steps = op.getSteps();
    int64_t rank = type.getRank();
    Value input = adaptor.getInput();
    if (type.getNumElements() == 0) {
      rewriter.replaceOp(op, emptyTensor(rewriter, loc, type.getShape(),
                                         type.getElementType()));
      return success();
    }
    bool anyNegative = llvm::any_of(steps, [](int64_t s) { return s < 0; });
    if (!anyNegative) {
      SmallVector<OpFoldResult> offsets, sizesOfr, stridesOfr;
      for (int64_t d = 0; d < rank; ++d) {
        offsets.push_back(rewriter.getIndexAttr(starts[d]));
        sizesOfr.push_back(rewriter.getIndexAttr(sizes[d]));
        stridesOfr.push_back(rewriter.getIndexAttr(steps[d]));
      }
      rewriter.replaceOp(
          op, tensor::ExtractSliceOp::create(rewriter, loc, type, input,
                                             offsets, sizesOfr, stridesOfr));
      return success();
    }
    // result[i..] = input[start + step * i ..]: an affine input map; the
    // loop bounds come from the (identity-mapped) result.
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < rank; ++d)
      exprs.push_back(getAffineDimExpr(d, context) * steps[d] + starts[d]);
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, exprs, context),
                                   rewriter.getMultiDimIdentityMap(rank)};
    Value init =
        emptyTensor(rewriter, loc, type.getShape(), type.getElementType());
    rewriter.replaceOp(op,
                       linalg::GenericOp::create(
                           rewriter, loc, TypeRange{type}, ValueRange{input},
                           ValueRange{init}, maps, parallelIterators(rank),
                           [](OpBuilder &b, Location l, ValueRange args) {
                             linalg::YieldOp::create(b, l, args[0]);
                           })
                           .getResult(0));
    return success();
  }
};

struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dataType = cast<RankedTensorType>(data.getType());
    auto indicesType = cast<RankedTensorType>(indices.getType());
    int64_t axis = op.getAxis(), rank = type.getRank();
    int64_t indexRank = indicesType.getRank();
    int64_t axisSize = dataType.getDimSize(axis);
    if (type.getNumElements() == 0 || axisSize == 0) {
      rewriter.replaceOp(op, emptyTensor(rewriter, loc, type.getShape(),
                                         type.getElementType()));
      return success();
    }
    SmallVector<AffineExpr> indexExprs;
    for (int64_t d = axis; d < axis + indexRank; ++d)
      indexExprs.push_back(getAffineDimExpr(d, context));
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, indexExprs, context),
                                   rewriter.getMultiDimIdentityMap(rank)};
    Value init =
        emptyTensor(rewriter, loc, type.getShape(), type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type}, ValueRange{indices}, ValueRange{init},
        maps, parallelIterators(rank),
        [&](OpBuilder &b, Location l, ValueRange args) {
          // index = clamp(i < 0 ? i + dim : i, 0, dim - 1)
          Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
          Value zero = arith::ConstantIndexOp::create(b, l, 0);
          Value size = arith::ConstantIndexOp::create(b, l, axisSize);
          Value last = arith::ConstantIndexOp::create(b, l, axisSize - 1);
          Value negative =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
          Value wrapped = arith::SelectOp::create(
              b, l, negative, arith::AddIOp::create(b, l, i, size), i);
          Value clamped = arith::MinSIOp::create(
              b, l, arith::MaxSIOp::create(b, l, wrapped, zero), last);
          SmallVector<Value> coords;
          for (int64_t d = 0; d < axis; ++d)
            coords.push_back(linalg::IndexOp::create(b, l, d));
          coords.push_back(clamped);
          for (int64_t d = axis + indexRank; d < rank; ++d)
            coords.push_back(linalg::IndexOp::create(b, l, d));
          Value element = tensor::ExtractOp::create(b, l, data, coords);
          linalg::YieldOp::create(b, l, element);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ExpandLowering : OpConversionPattern<ExpandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ExpandOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (adaptor.getInput().getType() == type) {
      rewriter.replaceOp(op, adaptor.getInput());
      return success();
    }
    rewriter.replaceOp(op, buildElementwise(rewriter, op.getLoc(), type,
                                            adaptor.getInput(),
                                            [](OpBuilder &, Location,
                                               ValueRange x) { return x[0]; }));
    return success();
  }
};

} // namespace

void mlir::kiln::lowering::populateDataMovementPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ReshapeLowering, TransposeLowering, ConcatLowering,
               SliceLowering, GatherLowering, ExpandLowering>(
      patterns.getContext());
}

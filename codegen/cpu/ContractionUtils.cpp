//===- ContractionUtils.cpp - shared pieces of the CPU kernels ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"

#include <cstring>

using namespace mlir;

namespace mlir::kiln {

/// The body is `out + in0 * in1` in f32 (either operand order).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3 || body.getOperations().size() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value product = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  if (add.getLhs() != acc && add.getRhs() != acc)
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  Value x = body.getArgument(0), y = body.getArgument(1);
  return (mul.getLhs() == x && mul.getRhs() == y) ||
         (mul.getLhs() == y && mul.getRhs() == x);
}

std::optional<std::vector<char>> readGlobalBytes(memref::GlobalOp global) {
  if (!global || !global.getConstant() || !global.getInitialValue())
    return std::nullopt;
  Attribute init = *global.getInitialValue();
  auto type = cast<MemRefType>(global.getType());
  unsigned width = type.getElementTypeBitWidth();
  if (width % 8)
    return std::nullopt;
  size_t size = type.getNumElements() * (width / 8);
  if (auto dense = dyn_cast<DenseElementsAttr>(init)) {
    ArrayRef<char> raw = dense.getRawData();
    std::vector<char> bytes(size);
    if (dense.isSplat()) {
      for (size_t i = 0; i < size; i += raw.size())
        std::memcpy(bytes.data() + i, raw.data(), raw.size());
      return bytes;
    }
    if (raw.size() != size)
      return std::nullopt;
    bytes.assign(raw.begin(), raw.end());
    return bytes;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != size)
      return std::nullopt;
    return std::vector<char>(blob->getData().begin(), blob->getData().end());
  }
  return std::nullopt;
}

std::optional<ArrayRef<char>> constantRawBytes(Attribute value) {
  if (auto resource = dyn_cast_if_present<DenseResourceElementsAttr>(value)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  if (auto dense = dyn_cast_if_present<DenseElementsAttr>(value))
    return dense.getRawData();
  return std::nullopt;
}

uint16_t bf16Bits(float v) {
  llvm::APFloat x(v);
  bool lost = false;
  x.convert(llvm::APFloat::BFloat(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return uint16_t(x.bitcastToAPInt().getZExtValue());
}

Value emitBf16Convert(OpBuilder &b, Location loc, Value lo, Value hi) {
  // The intrinsic puts its second operand in the low half.
  return LLVM::CallIntrinsicOp::create(
             b, loc, VectorType::get({32}, b.getBF16Type()),
             b.getStringAttr("llvm.x86.avx512bf16.cvtne2ps2bf16.512"),
             ValueRange{hi, lo})
      .getResult(0);
}

Value emitBf16Dot(OpBuilder &b, Location loc, Value acc, Value a, Value b2) {
  return LLVM::CallIntrinsicOp::create(
             b, loc, acc.getType(),
             b.getStringAttr("llvm.x86.avx512bf16.dpbf16ps.512"),
             ValueRange{acc, a, b2})
      .getResult(0);
}

Value broadcastBf16Pair(OpBuilder &b, Location loc, Value word) {
  return vector::BitCastOp::create(
      b, loc, VectorType::get({32}, b.getBF16Type()),
      vector::BroadcastOp::create(
          b, loc, VectorType::get({16}, b.getI32Type()), word));
}

SmallVector<Value> splitSlices(OpBuilder &b, Location loc, ValueRange rows) {
  SmallVector<Value> slices;
  for (Value row : rows)
    for (int64_t v = 0, n = cast<VectorType>(row.getType()).getShape()[0];
         v < n / 16; ++v)
      slices.push_back(vector::ExtractStridedSliceOp::create(
          b, loc, row, ArrayRef<int64_t>{16 * v}, ArrayRef<int64_t>{16},
          ArrayRef<int64_t>{1}));
  return slices;
}

SmallVector<Value> joinSlices(OpBuilder &b, Location loc, ValueRange slices,
                              ValueRange like) {
  SmallVector<Value> rows;
  size_t next = 0;
  for (Value y : like) {
    for (int64_t v = 0, n = cast<VectorType>(y.getType()).getShape()[0];
         v < n / 16; ++v)
      y = vector::InsertStridedSliceOp::create(b, loc, slices[next++], y,
                                               ArrayRef<int64_t>{16 * v},
                                               ArrayRef<int64_t>{1});
    rows.push_back(y);
  }
  return rows;
}

std::optional<std::vector<float>> readF32Global(memref::GlobalOp global) {
  if (!global || !cast<MemRefType>(global.getType()).getElementType().isF32())
    return std::nullopt;
  std::optional<std::vector<char>> bytes = readGlobalBytes(global);
  if (!bytes)
    return std::nullopt;
  std::vector<float> values(bytes->size() / sizeof(float));
  std::memcpy(values.data(), bytes->data(), bytes->size());
  return values;
}

memref::GlobalOp constantGlobalOf(Value value) {
  // Reshapes of a global keep its row-major data.
  while (true) {
    if (auto e = value.getDefiningOp<memref::ExpandShapeOp>())
      value = e.getSrc();
    else if (auto c = value.getDefiningOp<memref::CollapseShapeOp>())
      value = c.getSrc();
    else
      break;
  }
  auto get = value.getDefiningOp<memref::GetGlobalOp>();
  if (!get)
    return {};
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      get, get.getNameAttr());
  if (!global || !global.getConstant())
    return {};
  return global;
}

std::optional<std::pair<int64_t, int64_t>>
stridedWindowCoefficients(AffineExpr e, unsigned outer, unsigned inner,
                          unsigned numDims) {
  for (unsigned d = 0; d < numDims; ++d)
    if (d != outer && d != inner && e.isFunctionOfDim(d))
      return std::nullopt;
  MLIRContext *ctx = e.getContext();
  auto at = [&](int64_t o, int64_t i) -> std::optional<int64_t> {
    SmallVector<AffineExpr> dims(numDims, getAffineConstantExpr(0, ctx));
    dims[outer] = getAffineConstantExpr(o, ctx);
    dims[inner] = getAffineConstantExpr(i, ctx);
    auto c = dyn_cast<AffineConstantExpr>(e.replaceDims(dims));
    return c ? std::optional<int64_t>(c.getValue()) : std::nullopt;
  };
  auto base = at(0, 0), s = at(1, 0), d = at(0, 1), both = at(2, 3);
  if (!base || !s || !d || !both || *base != 0 || *s <= 0 || *d <= 0 ||
      *both != 2 * *s + 3 * *d)
    return std::nullopt;
  return std::make_pair(*s, *d);
}

std::optional<unsigned> resultDim(AffineMap map, unsigned result) {
  if (auto d = dyn_cast<AffineDimExpr>(map.getResult(result)))
    return d.getPosition();
  return std::nullopt;
}

bool isIdentityF32(Value v, int64_t rank) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && t.getRank() == rank && t.hasStaticShape() &&
         t.getLayout().isIdentity() && t.getElementType().isF32();
}

void storeVector(OpBuilder &b, Location loc, Value value, Value base,
                 ValueRange idx, Value mask) {
  if (mask)
    vector::MaskedStoreOp::create(b, loc, base, idx, mask, value);
  else
    vector::StoreOp::create(b, loc, value, base, idx);
}

Value loadStridedColumns(OpBuilder &b, Location loc, Value base,
                         ValueRange idx, int64_t lanes, int64_t stride,
                         int64_t valid) {
  Type f32 = cast<MemRefType>(base.getType()).getElementType();
  auto vecType = VectorType::get({lanes}, f32);
  if (stride == 1 && valid == lanes)
    return vector::LoadOp::create(b, loc, vecType, base, idx);
  if (stride > 2) {
    // A wide load would read stride x lanes floats for lanes of them, and
    // LLVM's instruction selection slows to a crawl on such vectors
    // (<128 x float> for stride 8): gather the lanes instead.
    SmallVector<int32_t> offsets;
    for (int64_t i = 0; i < lanes; ++i)
      offsets.push_back(int32_t(i * stride));
    auto indexType = VectorType::get({lanes}, b.getI32Type());
    Value indices = arith::ConstantOp::create(
        b, loc, indexType, DenseElementsAttr::get(indexType, ArrayRef(offsets)));
    Value mask = vector::ConstantMaskOp::create(
        b, loc, VectorType::get({lanes}, b.getI1Type()),
        ArrayRef<int64_t>{valid});
    Value zero = arith::ConstantOp::create(
        b, loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
    return vector::GatherOp::create(b, loc, vecType, base, idx, indices, mask,
                                    zero, IntegerAttr());
  }
  int64_t wide = stride * lanes;
  auto wideType = VectorType::get({wide}, f32);
  Value mask = vector::ConstantMaskOp::create(
      b, loc, VectorType::get({wide}, b.getI1Type()),
      ArrayRef<int64_t>{stride * (valid - 1) + 1});
  Value zero = arith::ConstantOp::create(
      b, loc, wideType, DenseElementsAttr::get(wideType, 0.0f));
  Value loaded =
      vector::MaskedLoadOp::create(b, loc, wideType, base, idx, mask, zero);
  if (stride == 1)
    return loaded;
  SmallVector<int64_t> picked;
  for (int64_t i = 0; i < lanes; ++i)
    picked.push_back(i * stride);
  return vector::ShuffleOp::create(b, loc, loaded, loaded, picked);
}

void emitTiles(OpBuilder &b, Location loc, int64_t extent, int64_t size,
               llvm::function_ref<void(OpBuilder &, Value, int64_t)> body) {
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  int64_t full = (extent / size) * size;
  if (full > 0)
    scf::ForOp::create(b, loc, cst(0), cst(full), cst(size), ValueRange{},
                       [&](OpBuilder &fb, Location fl, Value start, ValueRange) {
                         body(fb, start, size);
                         scf::YieldOp::create(fb, fl);
                       });
  if (extent > full)
    body(b, cst(full), extent - full);
}

void emitRaggedBlock(OpBuilder &b, Location loc, Value block, int64_t extent,
                     int64_t size,
                     llvm::function_ref<void(OpBuilder &, int64_t)> body) {
  int64_t full = extent / size;
  if (full * size == extent)
    return body(b, size);
  if (full == 0)
    return body(b, extent);
  Value isFull = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::slt, block,
      arith::ConstantIndexOp::create(b, loc, full));
  emitIfElse(
      b, loc, isFull, [&](OpBuilder &tb) { body(tb, size); },
      [&](OpBuilder &tb) { body(tb, extent - full * size); });
}

void emitIfElse(OpBuilder &b, Location loc, Value cond,
                llvm::function_ref<void(OpBuilder &)> then,
                llvm::function_ref<void(OpBuilder &)> otherwise) {
  scf::IfOp::create(
      b, loc, cond,
      [&](OpBuilder &tb, Location) {
        then(tb);
        scf::YieldOp::create(tb, loc);
      },
      [&](OpBuilder &tb, Location) {
        otherwise(tb);
        scf::YieldOp::create(tb, loc);
      });
}

SmallVector<Value>
emitSelect(OpBuilder &b, Location loc, Value cond, TypeRange types,
           llvm::function_ref<SmallVector<Value>(OpBuilder &)> then,
           llvm::function_ref<SmallVector<Value>(OpBuilder &)> otherwise) {
  auto choice = scf::IfOp::create(b, loc, types, cond,
                                  /*addThenBlock=*/true,
                                  /*addElseBlock=*/true);
  OpBuilder thenBuilder = OpBuilder::atBlockEnd(choice.thenBlock());
  scf::YieldOp::create(thenBuilder, loc, then(thenBuilder));
  OpBuilder elseBuilder = OpBuilder::atBlockEnd(choice.elseBlock());
  scf::YieldOp::create(elseBuilder, loc, otherwise(elseBuilder));
  return SmallVector<Value>(choice.getResults().begin(),
                            choice.getResults().end());
}

memref::GlobalOp createConstantGlobal(memref::GlobalOp near, StringRef name,
                                      ArrayRef<int64_t> shape, Type element,
                                      ArrayRef<char> bytes) {
  OpBuilder b(near.getContext());
  b.setInsertionPointAfter(near);
  auto type = MemRefType::get(shape, element);
  auto tensorType = RankedTensorType::get(shape, element);
  auto attr = DenseResourceElementsAttr::get(
      tensorType, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes));
  auto result = memref::GlobalOp::create(
      b, near.getLoc(), b.getStringAttr(name), b.getStringAttr("private"),
      TypeAttr::get(type), attr, b.getUnitAttr(), b.getI64IntegerAttr(64));
  // Already in the module: the table only renames it if the name is taken.
  SymbolTable(near->getParentOfType<ModuleOp>()).insert(result);
  return result;
}

memref::GlobalOp createConstantGlobal(memref::GlobalOp near, StringRef name,
                                      ArrayRef<int64_t> shape,
                                      ArrayRef<float> data) {
  return createConstantGlobal(
      near, name, shape, Float32Type::get(near.getContext()),
      ArrayRef<char>(reinterpret_cast<const char *>(data.data()),
                     data.size() * sizeof(float)));
}

} // namespace mlir::kiln

void mlir::kiln::prefetchLines(OpBuilder &b, Location loc, Value buffer,
                               ArrayRef<Value> indices, int64_t bytes,
                               bool isWrite) {
  auto type = cast<MemRefType>(buffer.getType());
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  int64_t perLine = std::max<int64_t>(1, 64 / elementBytes);
  for (int64_t e = 0; e < bytes / elementBytes; e += perLine) {
    SmallVector<Value> at(indices.begin(), indices.end());
    if (e)
      at.back() = arith::AddIOp::create(
          b, loc, at.back(), arith::ConstantIndexOp::create(b, loc, e));
    memref::PrefetchOp::create(b, loc, buffer, at, isWrite,
                               /*localityHint=*/3, /*isDataCache=*/true);
  }
}

void mlir::kiln::prefetchAhead(OpBuilder &b, Location loc, Value buffer,
                               ArrayRef<Value> indices, unsigned stepDim,
                               int64_t bytesPerStep, int64_t bytes) {
  int64_t steps = std::max<int64_t>(1, kWeightPrefetchBytes /
                                           std::max<int64_t>(1, bytesPerStep));
  SmallVector<Value> ahead(indices.begin(), indices.end());
  ahead[stepDim] = arith::AddIOp::create(
      b, loc, ahead[stepDim], arith::ConstantIndexOp::create(b, loc, steps));
  prefetchLines(b, loc, buffer, ahead, bytes, /*isWrite=*/false);
}

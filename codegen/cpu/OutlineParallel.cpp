//===- OutlineParallel.cpp - scf.parallel -> the runtime's thread pool ----===//
//
// Part of kiln.
//
// Design. The entry wrapper (ObjectEmitter) receives the runtime's `exec`
// handle (kiln_entry_fn in kiln/abi.h). Rather than keeping it in a global
// or thread-local (which two contexts running the same model at once on two
// threads would share), the kernel gets it as one more argument, after the
// workspace, marked `kiln.exec`; the wrapper passes its own first argument
// there. Every entry kernel gets the argument, whether or not it has
// parallel loops, so the wrapper's call has one shape.
//
// Each outermost scf.parallel of an entry kernel (the ones linalg ops lower
// to, or any other producer's, e.g. a GEMM over output tiles) becomes
//
//   %data = llvm.alloca (one struct: the captured values)
//   ... stores of the captured values ...
//   func.call @kiln_exec_parallel_for(%exec, %items, @<kernel>_par<i>, %data)
//
// and the private function @<kernel>_par<i>(data, begin, end) -- a
// kiln_range_fn -- runs items [begin, end) of the loop's linearized leading
// dims; the remaining dims run as a loop nest inside each item. Only values
// the bare-pointer convention can carry are passed: static, identity-layout
// memrefs as a pointer, scalars by value. Constants and views (memref.view,
// subview, expand_shape, get_global, ...) are rebuilt inside the body from
// what they were derived from, so strided views never cross the boundary.
// A loop whose captures cannot be passed that way stays serial.
//
// Leading dims: the fewest outer dims whose product reaches
// `min-parallel-items` (default 64: enough chunks for the runtime to balance
// 4 chunks per thread on 16 threads). Splitting only outer dims keeps the
// innermost (contiguous, vectorizable) loop intact; when the split reaches
// the innermost dim, each item range is walked as rows with a contiguous
// inner range, not by delinearizing every item.
//
// Work threshold: a dispatch costs a few microseconds on an idle machine
// (publishing the job, waking or reaching the workers, the final barrier)
// and tens when workers sleep or cores are shared, so a loop whose
// estimated work -- iterations times the ops of its body (constants not
// counted, a vector read counting its lanes), nested loops multiplied by
// their trip counts -- is below
// `min-parallel-work` stays an scf.parallel that lowers to serial loops.
// The default, 131072 (2^17) op-units, is ~30-100 us of scalar code and
// still ~10 us once vectorized: measured on a BERT-layer model, a 4096 x
// 30-op GELU (~120K) ran slower split over 2 threads than on one, while
// every ResNet-50 convolution is far above it. With
// `min-parallel-weight-bytes` set (0, the default, is off), a loop that
// reads at least that many bytes of constant globals is split even below
// that: a small GEMV is bound by streaming its weights from L2, and each
// thread then streams its own share. Whether that pays depends on how fast
// the cores hand work over: the 3-layer 256-wide MLP at batch 1 on this
// 2-vCPU VM (128 KiB) went 4.0 -> 2.8 us while a cross-vCPU round trip took
// ~100 ns, and 4.1 -> 5.8 us while it took ~430 ns (the VM switches
// between the two), so it is opt-in. The estimate depends on
// the IR only, never on the thread count, and splitting parallel dims never
// changes what one iteration computes, so results are bit-identical for any
// number of threads.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNOUTLINEPARALLELPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
constexpr StringLiteral kRuntimeParallelFor = "kiln_exec_parallel_for";
constexpr StringLiteral kRuntimeNumThreads = "kiln_exec_num_threads";
/// Trip count assumed for a loop whose bounds are not constants.
constexpr int64_t kUnknownTrips = 64;

int64_t satMul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
int64_t satAdd(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

std::optional<int64_t> tripCount(Value lb, Value ub, Value step) {
  std::optional<int64_t> l = getConstantIntValue(lb),
                         u = getConstantIntValue(ub),
                         s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  return *u <= *l ? 0 : (*u - *l + *s - 1) / *s;
}

/// The most trips of a block loop's inner loop, from lb to min(lb + C, ub)
/// (a K block of a tiled kernel: C per block, the last one shorter).
std::optional<int64_t> maxBlockTrips(Value lb, Value ub, Value step) {
  std::optional<int64_t> s = getConstantIntValue(step);
  auto min = ub.getDefiningOp<arith::MinSIOp>();
  if (!s || *s <= 0 || !min)
    return std::nullopt;
  for (Value bound : {min.getLhs(), min.getRhs()}) {
    auto add = bound.getDefiningOp<arith::AddIOp>();
    if (!add)
      continue;
    for (auto [base, offset] : {std::pair(add.getLhs(), add.getRhs()),
                                std::pair(add.getRhs(), add.getLhs())})
      if (base == lb)
        if (std::optional<int64_t> c = getConstantIntValue(offset))
          return *c <= 0 ? 0 : (*c + *s - 1) / *s;
  }
  return std::nullopt;
}

/// Whether `memref` is a constant global of `globals` (the weights),
/// directly or through views of it.
bool isConstantGlobal(Value memref, const SymbolTable &globals) {
  while (Operation *def = memref.getDefiningOp()) {
    if (auto get = dyn_cast<memref::GetGlobalOp>(def)) {
      auto global = globals.lookup<memref::GlobalOp>(get.getName());
      return global && global.getConstant();
    }
    if (!isa<memref::ViewOp, memref::SubViewOp, memref::ReinterpretCastOp,
             memref::ExpandShapeOp, memref::CollapseShapeOp, memref::CastOp>(
            def))
      return false;
    memref = def->getOperand(0);
  }
  return false;
}

/// What a loop body executes, nested loops counted once per iteration.
struct Work {
  /// One unit per op, except that a vector read counts its lanes: a
  /// memory-bound loop (a batch-1 GEMV streaming megabytes of weights) has
  /// few ops per byte, and counting each wide load as one op kept such
  /// loops on one thread (GPT-2's decode step: 27 ms at 2 threads, 16 ms
  /// once its GEMVs split).
  int64_t ops = 0;
  /// Bytes read from constant globals (the weights); counted only when
  /// estimateWork is given the module's symbol table.
  int64_t weightBytes = 0;

  void add(const Work &other, int64_t times) {
    ops = satAdd(ops, satMul(times, other.ops));
    weightBytes = satAdd(weightBytes, satMul(times, other.weightBytes));
  }
};

Work opWork(Operation &op, const SymbolTable *globals) {
  Work work{1, 0};
  if (!isa<vector::LoadOp, vector::MaskedLoadOp, vector::TransferReadOp,
           vector::GatherOp>(op))
    return work;
  auto type = dyn_cast<VectorType>(op.getResult(0).getType());
  if (!type)
    return work;
  work.ops = std::max<int64_t>(1, type.getNumElements());
  if (globals && isConstantGlobal(op.getOperand(0), *globals))
    work.weightBytes =
        type.getNumElements() * type.getElementTypeBitWidth() / 8;
  return work;
}

Work estimateWork(Block &block, const SymbolTable *globals) {
  Work work;
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::ConstantLike>() ||
        op.hasTrait<OpTrait::IsTerminator>())
      continue;
    Work inner;
    for (Region &region : op.getRegions())
      for (Block &nested : region)
        inner.add(estimateWork(nested, globals), 1);
    int64_t trips = 1;
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      // A run-time bound with a known maximum (`kiln.max_trips`, e.g. the
      // keys of a KV cache) counts as that maximum.
      int64_t unknown = kUnknownTrips;
      if (auto max = loop->getAttrOfType<IntegerAttr>("kiln.max_trips"))
        unknown = max.getInt();
      Value lb = loop.getLowerBound(), ub = loop.getUpperBound(),
            step = loop.getStep();
      trips = tripCount(lb, ub, step)
                  .value_or(maxBlockTrips(lb, ub, step).value_or(unknown));
    } else if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      for (auto [lb, ub, step] : llvm::zip(
               loop.getLowerBound(), loop.getUpperBound(), loop.getStep()))
        trips = satMul(trips, tripCount(lb, ub, step).value_or(kUnknownTrips));
    }
    work.add(opWork(op, globals), 1);
    work.add(inner, trips);
  }
  return work;
}

/// Ops cheaper to rebuild inside the outlined body than to pass: constants
/// and views, whose results may not be passable (strided memrefs).
bool isRematerializable(Operation *op) {
  return op->getNumRegions() == 0 && op->getNumResults() == 1 &&
         (op->hasTrait<OpTrait::ConstantLike>() ||
          isa<memref::ViewOp, memref::SubViewOp, memref::ExpandShapeOp,
              memref::CollapseShapeOp, memref::ReinterpretCastOp,
              memref::CastOp, memref::GetGlobalOp, memref::TransposeOp,
              affine::AffineApplyOp>(op));
}

bool isPassableMemRef(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  return memref && memref.hasStaticShape() && memref.getLayout().isIdentity() &&
         !memref.getMemorySpace();
}

/// What the outlined body needs from the kernel.
struct Captures {
  llvm::SetVector<Operation *> rematerialized; // operands before users
  llvm::SetVector<Value> passed;
  DenseSet<Value> visited;

  LogicalResult add(Value value) {
    if (!visited.insert(value).second)
      return success();
    Operation *def = value.getDefiningOp();
    if (def && isRematerializable(def)) {
      for (Value operand : def->getOperands())
        if (failed(add(operand)))
          return failure();
      rematerialized.insert(def);
      return success();
    }
    Type type = value.getType();
    if (isa<MemRefType>(type)) {
      if (!isPassableMemRef(type))
        return failure();
    } else if (!isa<IndexType>(type) && !LLVM::isCompatibleType(type)) {
      return failure();
    }
    passed.insert(value);
    return success();
  }
};

struct KilnOutlineParallelPass
    : kiln::impl::KilnOutlineParallelPassBase<KilnOutlineParallelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> kernels;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr("kiln.entry") && !func.isExternal())
        kernels.push_back(func);
    if (kernels.empty())
      return;
    SymbolTable symbols(module);
    LLVMTypeConverter converter(&getContext());
    for (func::FuncOp kernel : kernels)
      if (failed(runOnKernel(kernel, symbols, converter)))
        return signalPassFailure();
  }

  LogicalResult runOnKernel(func::FuncOp kernel, SymbolTable &symbols,
                            const LLVMTypeConverter &converter) {
    MLIRContext *ctx = &getContext();
    auto ptrTy = LLVM::LLVMPointerType::get(ctx);
    // The exec argument (once: running the pass twice adds nothing).
    unsigned numArgs = kernel.getNumArguments();
    Value exec;
    if (numArgs > 0 && kernel.getArgAttr(numArgs - 1, "kiln.exec")) {
      exec = kernel.getArgument(numArgs - 1);
    } else {
      if (failed(kernel.insertArgument(
              numArgs, ptrTy,
              DictionaryAttr::get(
                  ctx, {NamedAttribute(StringAttr::get(ctx, "kiln.exec"),
                                       UnitAttr::get(ctx))}),
              kernel.getLoc())))
        return kernel.emitError("cannot add the exec argument");
      exec = kernel.getArgument(numArgs);
    }

    SmallVector<scf::ParallelOp> loops;
    kernel.walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    unsigned index = 0;
    for (scf::ParallelOp loop : loops)
      if (outline(kernel, loop, exec, index, symbols, converter))
        ++index;
    return success();
  }

  /// The runtime function `name` of `type`, declared once (null when the
  /// module already has that name with another type).
  func::FuncOp runtimeDeclaration(SymbolTable &symbols, StringRef name,
                                  FunctionType type) {
    if (auto existing = symbols.lookup<func::FuncOp>(name))
      return existing.getFunctionType() == type ? existing : nullptr;
    ModuleOp module = cast<ModuleOp>(symbols.getOp());
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto decl = func::FuncOp::create(b, module.getLoc(), name, type);
    decl.setPrivate();
    symbols.insert(decl);
    return decl;
  }

  /// Returns true when `loop` was replaced by a dispatch.
  bool outline(func::FuncOp kernel, scf::ParallelOp loop, Value exec,
               unsigned index, SymbolTable &symbols,
               const LLVMTypeConverter &converter) {
    if (loop.getNumResults() != 0)
      return false; // reductions across iterations: left serial
    SmallVector<int64_t> lbs, steps, trips;
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      std::optional<int64_t> n = tripCount(lb, ub, step);
      if (!n)
        return false;
      lbs.push_back(*getConstantIntValue(lb));
      steps.push_back(*getConstantIntValue(step));
      trips.push_back(*n);
    }
    int64_t total = 1;
    for (int64_t n : trips)
      total = satMul(total, n);
    Work work;
    work.add(estimateWork(*loop.getBody(),
                          minParallelWeightBytes > 0 ? &symbols : nullptr),
             total);
    bool weightBound = minParallelWeightBytes > 0 &&
                       work.weightBytes >= minParallelWeightBytes;
    if (total <= 1 || (work.ops < minParallelWork && !weightBound))
      return false;
    unsigned prefix = 0;
    int64_t items = 1;
    while (prefix < trips.size() && (prefix == 0 || items < minParallelItems))
      items *= trips[prefix++];

    Captures captures;
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(loop.getRegion(), above);
    for (Value value : above)
      if (failed(captures.add(value)))
        return false;

    MLIRContext *ctx = &getContext();
    Location loc = loop.getLoc();
    auto ptrTy = LLVM::LLVMPointerType::get(ctx);
    Type i64 = IntegerType::get(ctx, 64);
    Type indexTy = IndexType::get(ctx);
    auto bodyTy = FunctionType::get(ctx, {ptrTy, i64, i64}, {});
    Type i32 = IntegerType::get(ctx, 32);
    // int32_t kiln_exec_parallel_for(exec, n, fn, data) (kiln/exec.h).
    func::FuncOp runtime = runtimeDeclaration(
        symbols, kRuntimeParallelFor,
        FunctionType::get(ctx, {ptrTy, i64, bodyTy, ptrTy}, {i32}));
    if (!runtime)
      return false;
    // A loop split only for its weight bytes is short: on one thread its
    // serial form, whose constant trip counts LLVM unrolls, measured faster
    // than the range function (the 256-wide MLP: 4.1 vs 4.8 us). It stays
    // beside the dispatch for a 1-thread context.
    bool keepSerial = work.ops < minParallelWork;
    // int32_t kiln_exec_num_threads(const void *exec).
    func::FuncOp numThreads;
    if (keepSerial && !(numThreads = runtimeDeclaration(
                            symbols, kRuntimeNumThreads,
                            FunctionType::get(ctx, {ptrTy}, {i32}))))
      return false;
    SmallVector<Type> fields;
    for (Value value : captures.passed)
      fields.push_back(isa<MemRefType>(value.getType()) ? Type(ptrTy)
                       : isa<IndexType>(value.getType())
                           ? Type(converter.getIndexType())
                           : value.getType());
    auto structTy = LLVM::LLVMStructType::getLiteral(ctx, fields);

    // The body: void @<kernel>_par<i>(ptr data, i64 begin, i64 end).
    OpBuilder mb(kernel);
    mb.setInsertionPointAfter(kernel);
    auto body = func::FuncOp::create(
        mb, loc, (kernel.getSymName() + "_par" + Twine(index)).str(), bodyTy);
    body.setPrivate();
    body->setAttr("llvm.linkage",
                  LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
    symbols.insert(body);
    Block *entry = body.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    Value data = entry->getArgument(0);
    for (auto [i, value] : llvm::enumerate(captures.passed)) {
      Value field = LLVM::LoadOp::create(
          b, loc, fields[i],
          LLVM::GEPOp::create(b, loc, ptrTy, structTy, data,
                              ArrayRef<LLVM::GEPArg>{0, int32_t(i)}));
      if (auto memref = dyn_cast<MemRefType>(value.getType())) {
        Value desc =
            MemRefDescriptor::fromStaticShape(b, loc, converter, memref, field);
        field = UnrealizedConversionCastOp::create(b, loc, memref, desc)
                    .getResult(0);
      } else if (isa<IndexType>(value.getType())) {
        field = arith::IndexCastOp::create(b, loc, indexTy, field);
      }
      map.map(value, field);
    }
    for (Operation *op : captures.rematerialized)
      b.clone(*op, map);

    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value begin = arith::IndexCastOp::create(b, loc, indexTy,
                                             entry->getArgument(1));
    Value end =
        arith::IndexCastOp::create(b, loc, indexTy, entry->getArgument(2));
    // Items are rows of the last leading dim: rows [begin / T, ceil(end /
    // T)), each running the part of [begin, end) that falls in it.
    int64_t lastTrips = trips[prefix - 1];
    Value rowLen = cst(lastTrips), zero = cst(0), one = cst(1);
    Value rowBegin = arith::DivUIOp::create(b, loc, begin, rowLen);
    Value rowEnd = arith::DivUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, end, cst(lastTrips - 1)),
        rowLen);
    auto rows = scf::ForOp::create(b, loc, rowBegin, rowEnd, one);
    b.setInsertionPointToStart(rows.getBody());
    Value row = rows.getInductionVar();
    Value base = arith::MulIOp::create(b, loc, row, rowLen);
    Value from = arith::MaxSIOp::create(
        b, loc, arith::SubIOp::create(b, loc, begin, base), zero);
    Value to = arith::MinSIOp::create(
        b, loc, arith::SubIOp::create(b, loc, end, base), rowLen);
    SmallVector<Value> ids(trips.size());
    Value rest = row;
    for (int d = int(prefix) - 2; d >= 0; --d) {
      Value n = cst(trips[d]);
      ids[d] = arith::RemUIOp::create(b, loc, rest, n);
      rest = arith::DivUIOp::create(b, loc, rest, n);
    }
    auto cols = scf::ForOp::create(b, loc, from, to, one);
    b.setInsertionPointToStart(cols.getBody());
    ids[prefix - 1] = cols.getInductionVar();
    auto ivOf = [&](OpBuilder &ob, unsigned d, Value id) -> Value {
      if (steps[d] != 1)
        id = arith::MulIOp::create(
            ob, loc, id, arith::ConstantIndexOp::create(ob, loc, steps[d]));
      if (lbs[d] != 0)
        id = arith::AddIOp::create(
            ob, loc, id, arith::ConstantIndexOp::create(ob, loc, lbs[d]));
      return id;
    };
    for (unsigned d = 0; d < prefix; ++d)
      map.map(loop.getInductionVars()[d], ivOf(b, d, ids[d]));
    SmallVector<Value> innerLbs, innerUbs, innerSteps;
    for (unsigned d = prefix; d < trips.size(); ++d) {
      innerLbs.push_back(zero);
      innerUbs.push_back(cst(trips[d]));
      innerSteps.push_back(one);
    }
    scf::buildLoopNest(
        b, loc, innerLbs, innerUbs, innerSteps,
        [&](OpBuilder &ib, Location, ValueRange ivs) {
          for (auto [k, iv] : llvm::enumerate(ivs))
            map.map(loop.getInductionVars()[prefix + k],
                    ivOf(ib, prefix + k, iv));
          for (Operation &op : loop.getBody()->without_terminator())
            ib.clone(op, map);
        });
    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b, loc);

    // The dispatch (with keepSerial: if the context has more than one
    // thread, else the loop itself).
    OpBuilder kb(loop);
    scf::IfOp split;
    if (keepSerial) {
      Value threads =
          func::CallOp::create(kb, loc, numThreads, ValueRange{exec})
              .getResult(0);
      Value several =
          arith::CmpIOp::create(kb, loc, arith::CmpIPredicate::sgt, threads,
                                arith::ConstantIntOp::create(kb, loc, i32, 1));
      split = scf::IfOp::create(kb, loc, several, /*withElseRegion=*/true);
      kb.setInsertionPointToStart(split.thenBlock());
    }
    Value dataPtr;
    if (fields.empty()) {
      dataPtr = LLVM::ZeroOp::create(kb, loc, ptrTy);
    } else {
      OpBuilder ab = OpBuilder::atBlockBegin(&kernel.front());
      Value count = LLVM::ConstantOp::create(ab, loc, i64, 1);
      dataPtr = LLVM::AllocaOp::create(ab, loc, ptrTy, structTy, count);
    }
    for (auto [i, value] : llvm::enumerate(captures.passed)) {
      Value field = value;
      if (isa<MemRefType>(value.getType())) {
        Value address =
            memref::ExtractAlignedPointerAsIndexOp::create(kb, loc, value);
        field = LLVM::IntToPtrOp::create(
            kb, loc, ptrTy,
            Value(arith::IndexCastOp::create(kb, loc, i64, address)));
      } else if (isa<IndexType>(value.getType())) {
        field = arith::IndexCastOp::create(kb, loc, converter.getIndexType(),
                                           value);
      }
      LLVM::StoreOp::create(
          kb, loc, field,
          LLVM::GEPOp::create(kb, loc, ptrTy, structTy, dataPtr,
                              ArrayRef<LLVM::GEPArg>{0, int32_t(i)}));
    }
    Value fn = func::ConstantOp::create(kb, loc, bodyTy,
                                        SymbolRefAttr::get(body));
    Value n = arith::ConstantIntOp::create(kb, loc, i64, items);
    func::CallOp::create(kb, loc, runtime, ValueRange{exec, n, fn, dataPtr});
    if (split)
      loop->moveBefore(split.elseBlock()->getTerminator());
    else
      loop.erase();
    return true;
  }
};
} // namespace

//===- QuantizedMatmulKernel.cpp - group-quantized weight GEMM/GEMV -------===//
//
// Part of kiln. The kernel of kiln.quantized_matmul on buffers:
//
//   parallel over N panels of nr columns
//     for row tiles of mr rows
//       for each group g of K:  (acc, xs = 0)
//         per unit row of the block (the k one byte or word holds): one
//           vector of units, each value -> f32, mr broadcasts of A, FMAs
//           into acc (up to 4 chains per row); with zero points also
//           xs += A[r, k]
//         y += acc * s[g]  (- xs * zero[g] * s[g] with zero points)
//
// (WordMask, below, computes x's scaled copy and the xs of every group
// once, before the panels.)
//
// Weights are packed at compile time into one byte stream of blocks (one
// panel by one group), each block 8, 4 or 2 bits per value: 2 when all its
// values and zero points fit (mixed 2/4-bit weights, with a per-block
// width and offset table), else 4, else 8. Sub-byte values are read as
// 16 or 64 times their value (no byte shifts right on x86), so the packed
// scales carry 1/16 or 1/64; scales are stored in fp16 when that is exact.
// With 256-bit or wider vectors, sub-byte values sit 8 or 16 to a 32-bit
// word, one word per column. AVX-512 turns them into f32 by one shift and
// one vpermps table lookup per 16 columns; AVX2 masks each in place and
// converts it (one width for all blocks: WordMask) or, with mixed widths,
// moves each to the word's top bits (a shift and a mask) and converts the
// word, an integer 2^24 times the byte reading, which the group's sum
// drops by an exact power of two (WordShift). Narrower targets keep 2 or
// 4 to a byte, converted by shifts, widening and int -> float. The inner
// loop streams packed weights once and dequantizes in registers: the
// dequantized matrix never exists.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "codegen/cpu/ContractionUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The matched operands and sizes of a quantized matmul generic.
struct QuantizedMatmul {
  linalg::GenericOp op;
  WeightQuantAttr quant;
  Value a, c;
  memref::GlobalOp weights, scales, zeros;
  bool unsignedValues = false;
  int64_t m = 0, n = 0, k = 0, groups = 0;
};

std::optional<QuantizedMatmul> match(linalg::GenericOp op) {
  auto quant = op->getAttrOfType<WeightQuantAttr>(lowering::kQuantizedMatmulAttr);
  if (!quant || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return std::nullopt;
  unsigned inputs = op.getNumDpsInputs();
  if (inputs != 3 && inputs != 4)
    return std::nullopt;
  QuantizedMatmul q;
  q.op = op;
  q.quant = quant;
  q.a = op.getDpsInputOperand(0)->get();
  q.c = op.getDpsInitOperand(0)->get();
  Value w = op.getDpsInputOperand(1)->get();
  q.weights = constantGlobalOf(w);
  q.scales = constantGlobalOf(op.getDpsInputOperand(2)->get());
  if (inputs == 4) {
    q.zeros = constantGlobalOf(op.getDpsInputOperand(3)->get());
    if (!q.zeros)
      return std::nullopt;
  }
  if (!q.weights || !q.scales || !isIdentityF32(q.a, 2) ||
      !isIdentityF32(q.c, 2))
    return std::nullopt;
  // The lowering's maps: A (m, k), W (k, n), C (m, n), whatever the loop
  // order (kiln-interchange-reductions may have moved n innermost).
  std::optional<unsigned> am = resultDim(op.getIndexingMapsArray()[0], 0),
                          ak = resultDim(op.getIndexingMapsArray()[0], 1),
                          wk = resultDim(op.getIndexingMapsArray()[1], 0),
                          wn = resultDim(op.getIndexingMapsArray()[1], 1);
  AffineMap cMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!am || !ak || !wk || !wn || *ak != *wk ||
      resultDim(cMap, 0) != am || resultDim(cMap, 1) != wn)
    return std::nullopt;
  auto wType = cast<MemRefType>(w.getType());
  q.unsignedValues = wType.getElementType().isUnsignedInteger();
  ArrayRef<int64_t> aShape = cast<MemRefType>(q.a.getType()).getShape();
  q.m = aShape[0];
  q.k = aShape[1];
  q.n = wType.getShape()[1];
  q.groups = (q.k + quant.getGroup() - 1) / quant.getGroup();
  return q;
}

/// How the weights of one (panel, group) block are stored.
enum class BlockBits { Eight = 8, Four = 4, Two = 2 };

/// How the kernel turns sub-byte values into f32: from bytes (byte shifts,
/// widening, int -> float), or from 32-bit words by a 16-entry table
/// (vpermps, AVX-512F), by moving each value to the word's top bits
/// (shift, mask, int -> float: AVX2, where a table would take two permutes
/// and a blend), or by masking each in place (WordMask, below).
///
/// WordMask (AVX2, one width for all blocks): values are stored unsigned
/// (signed ones plus half their range, which becomes their zero point);
/// value j of a word masked in place is the integer u * 2^(width j), exact
/// in f32, and multiplies x[k] * 2^-(width j), scaled once per matmul
/// before the panels start (the last value is shifted down instead: its
/// top bit is the sign's). The zero point times the group's sum of x,
/// also computed up front, comes off per group. One and, one convert and
/// one FMA per vector of values: a quarter fewer vector ops than WordShift.
enum class Decode { Bytes, WordTable, WordShift, WordMask };

/// The packed constants of one quantized matmul.
struct Packed {
  /// One byte stream: block (panel p, group g) starts at offset(p, g) and
  /// holds its rows of nr units (bytes, or 32-bit words with `words`), each
  /// unit 8 * unitBytes / bits consecutive k, the first in the low bits.
  memref::GlobalOp weights;
  /// [panel][group][nr] scales (f16 when exact, else f32), divided by the
  /// block's multiplier (16 for 4-bit, 64 for 2-bit: the kernel reads
  /// values shifted to a byte's top bits).
  memref::GlobalOp scales;
  /// [panel][group][nr] zero points as stored (i8), when there are any.
  memref::GlobalOp zeros;
  /// Mixed widths: [panel][group] i8 bits and i32 byte offsets.
  memref::GlobalOp blockBits, blockOffsets;
  BlockBits uniform = BlockBits::Eight; // when not mixed
  /// Values (and zero points) signed as stored: WordShift stores unsigned
  /// ones minus half their range (its reading keeps the sign bit),
  /// WordMask signed ones plus half (its reading has none).
  bool isSigned = false;
  bool halfScales = false;
  /// How sub-byte blocks are read.
  Decode decode = Decode::Bytes;
  /// Sub-byte blocks stored in 32-bit units (every decode but Bytes).
  bool words() const { return decode != Decode::Bytes; }
  int64_t rowBytes = 0; // bytes of one panel's K (uniform layouts)
  /// Bytes of weights, scales, zero points and tables as stored.
  int64_t storedBytes = 0;
};

/// Bytes per column in one row of a block: 8-bit values one per byte;
/// sub-byte values packed into bytes, or into 32-bit words with `words`.
int64_t unitBytes(BlockBits bits, bool words) {
  return words && bits != BlockBits::Eight ? 4 : 1;
}
int64_t valuesPerUnit(BlockBits bits, bool words) {
  return 8 * unitBytes(bits, words) / int64_t(bits);
}

/// How the target reads sub-byte values: a 16-entry f32 table (vpermps on
/// 512-bit vectors, AVX-512F: one shift and one permute per 16 values);
/// words by masks on 256-bit vectors (no byte widening: on Zen 3 the
/// bytes' pmovsxbd and pshufd held the shuffle ports and a 4-bit GEMV to
/// 40% of the memory bandwidth; pack falls back to shifts for mixed
/// widths); bytes elsewhere.
Decode decodeFor(const CpuTarget &target) {
  if (target.pmaddwdBits != 0 && target.vectorBits >= 512)
    return Decode::WordTable;
  return target.vectorBits >= 256 ? Decode::WordMask : Decode::Bytes;
}
/// Decode::WordShift reads a value as 2^24 times its byte reading (at the
/// top of 32 bits, not of 8).
constexpr float kWordShiftUnscale = 1.0f / 16777216.0f;
/// The multiple of a value the kernel reads (byte decoding: the value in a
/// byte's top bits; WordMask: the value itself, x carrying the rest).
float multiplier(BlockBits bits, Decode decode) {
  if (decode == Decode::WordMask)
    return 1.0f;
  return bits == BlockBits::Four ? 16.0f : bits == BlockBits::Two ? 64.0f : 1.0f;
}

/// The fp16 bits of `v` when fp16 holds it exactly.
std::optional<uint16_t> halfBits(float v) {
  llvm::APFloat h(v);
  bool lost = false;
  llvm::APFloat::opStatus status = h.convert(
      llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven, &lost);
  if (lost || status != llvm::APFloat::opOK)
    return std::nullopt;
  return uint16_t(h.bitcastToAPInt().getZExtValue());
}

/// How the weights are stored ("2 per byte", "4 or 2 bits per block
/// (mixed)", ...), for --report.
std::string describeWidths(const Packed &p) {
  std::string lookup = !p.words()                      ? ""
                       : p.decode == Decode::WordTable ? " (table lookup)"
                       : p.decode == Decode::WordMask  ? " (mask decode)"
                                                       : " (shift decode)";
  std::string half = p.halfScales ? ", fp16 scales" : "";
  if (p.blockBits)
    return "4 or 2 bits per block (mixed), " +
           std::string(p.words() ? "in 32-bit words" : "in bytes") + lookup +
           half;
  int64_t per = valuesPerUnit(p.uniform, p.words());
  return (Twine(per) + (p.words() ? " per word" : " per byte") + lookup + half)
      .str();
}

/// Packs weights, scales and zero points for panels of `nr` columns
/// (sub-byte blocks in 32-bit words when `decode` reads words and every
/// block's rows split into whole words), or returns an empty Packed when a
/// constant cannot be read.
Packed pack(QuantizedMatmul q, int64_t nr, Decode decode) {
  bool words = decode != Decode::Bytes;
  std::optional<std::vector<char>> w = readGlobalBytes(q.weights);
  std::optional<std::vector<float>> s = readF32Global(q.scales);
  std::optional<std::vector<char>> z;
  if (q.zeros)
    z = readGlobalBytes(q.zeros);
  if (!w || !s || (q.zeros && !z))
    return {};
  int64_t k = q.k, n = q.n, groups = q.groups, g = q.quant.getGroup();
  int64_t panels = (n + nr - 1) / nr;
  auto asInt = [&](char c) {
    return q.unsignedValues ? int(uint8_t(c)) : int(int8_t(c));
  };
  auto value = [&](int64_t r, int64_t c) { return asInt((*w)[r * n + c]); };
  auto zero = [&](int64_t gi, int64_t c) {
    return z ? asInt((*z)[gi * n + c]) : 0;
  };
  // A width fits when every value (and zero point) of the block is an
  // integer of that many bits and the block's rows split into whole units.
  auto fits = [&](int v, int bits) {
    int lo = q.unsignedValues ? 0 : -(1 << (bits - 1));
    return v >= lo && v < lo + (1 << bits);
  };
  bool subByte = q.quant.getBits() <= 4;
  words &= subByte; // 8-bit values stay one per byte
  auto blockFits = [&](int64_t p, int64_t gi, int bits) {
    int64_t k0 = gi * g, k1 = std::min(k, k0 + g);
    if ((k1 - k0) % valuesPerUnit(BlockBits(bits), words))
      return false;
    for (int64_t c = p * nr; c < std::min(n, (p + 1) * nr); ++c) {
      if (!fits(zero(gi, c), bits))
        return false;
      for (int64_t r = k0; r < k1; ++r)
        if (!fits(value(r, c), bits))
          return false;
    }
    return true;
  };
  std::vector<BlockBits> widths;
  bool mixed = false;
  auto chooseWidths = [&] {
    widths.assign(panels * groups, BlockBits::Eight);
    mixed = false;
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t gi = 0; gi < groups; ++gi) {
        BlockBits &b = widths[p * groups + gi];
        if (subByte && blockFits(p, gi, 2))
          b = BlockBits::Two;
        else if (subByte && blockFits(p, gi, 4))
          b = BlockBits::Four;
        mixed |= b != widths[0];
      }
    // A sub-byte block next to an 8-bit one: keep them all 8-bit.
    if (mixed && llvm::is_contained(widths, BlockBits::Eight)) {
      std::fill(widths.begin(), widths.end(), BlockBits::Eight);
      mixed = false;
    }
  };
  chooseWidths();
  // Words need 8 (4-bit) or 16 (2-bit) k per row: a group length that is
  // not a multiple (a short last group) keeps bytes rather than 8 bits.
  // WordMask scales x per width: mixed widths shift, which reads values
  // signed, recentring unsigned ones against their zero points (without
  // zero points: bytes).
  if (decode == Decode::WordMask && mixed)
    decode = q.unsignedValues && !q.zeros ? Decode::Bytes : Decode::WordShift;
  if (words &&
      (decode == Decode::Bytes || (widths[0] == BlockBits::Eight && !mixed))) {
    words = false;
    chooseWidths();
  }
  if (!words)
    decode = Decode::Bytes;
  // What is subtracted from stored values and zero points: half the range
  // from unsigned ones read signed (WordShift), minus that from signed
  // ones read unsigned (WordMask).
  int recentre = decode == Decode::WordShift && q.unsignedValues   ? 1
                 : decode == Decode::WordMask && !q.unsignedValues ? -1
                                                                   : 0;
  auto centre = [&](int64_t p, int64_t gi) {
    return recentre * (1 << (int(widths[p * groups + gi]) - 1));
  };

  std::vector<char> stream;
  std::vector<int32_t> offsets(panels * groups);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t gi = 0; gi < groups; ++gi) {
      BlockBits bits = widths[p * groups + gi];
      int64_t per = valuesPerUnit(bits, words), k0 = gi * g,
              k1 = std::min(k, k0 + g);
      offsets[p * groups + gi] = int32_t(stream.size());
      for (int64_t r = k0; r < k1; r += per)
        for (int64_t c = 0; c < nr; ++c) {
          uint32_t unit = 0;
          for (int64_t j = 0; j < per && p * nr + c < n; ++j)
            unit |= (uint32_t(value(r + j, p * nr + c) - centre(p, gi)) &
                     ((1u << int(bits)) - 1))
                    << (j * int(bits));
          // Little-endian, as the kernel's word loads read it.
          for (int64_t byte = 0; byte < unitBytes(bits, words); ++byte)
            stream.push_back(char(unit >> (8 * byte)));
        }
    }
  // Exact in fp16 (after the power-of-two multiplier)? Then 16 bits.
  std::vector<float> sp(panels * groups * nr, 0.0f);
  std::vector<char> zp(panels * groups * nr, 0);
  bool half = true;
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t gi = 0; gi < groups; ++gi)
      for (int64_t c = 0; c < nr && p * nr + c < n; ++c) {
        int64_t col = p * nr + c;
        float v =
            (*s)[gi * n + col] / multiplier(widths[p * groups + gi], decode);
        sp[(p * groups + gi) * nr + c] = v;
        half &= halfBits(v).has_value();
        if (z)
          zp[(p * groups + gi) * nr + c] = char(zero(gi, col) - centre(p, gi));
      }

  // SymbolTable makes the names unique.
  std::string base = q.weights.getSymName().str();
  MLIRContext *ctx = q.op.getContext();
  Type i8 = IntegerType::get(ctx, 8);
  Packed result;
  result.isSigned = recentre == 0 ? !q.unsignedValues : recentre > 0;
  result.halfScales = half;
  result.decode = decode;
  result.uniform = widths[0];
  result.rowBytes = int64_t(stream.size()) / panels;
  result.weights = createConstantGlobal(q.weights, base + "_packed",
                                        {int64_t(stream.size())}, i8, stream);
  if (half) {
    std::vector<uint16_t> bits16(sp.size());
    for (size_t i = 0; i < sp.size(); ++i)
      bits16[i] = *halfBits(sp[i]);
    result.scales = createConstantGlobal(
        q.weights, base + "_scales", {panels, groups, nr},
        Float16Type::get(ctx),
        ArrayRef<char>(reinterpret_cast<const char *>(bits16.data()),
                       bits16.size() * 2));
  } else {
    result.scales = createConstantGlobal(q.weights, base + "_scales",
                                         {panels, groups, nr}, sp);
  }
  if (z)
    result.zeros = createConstantGlobal(q.weights, base + "_zeros",
                                        {panels, groups, nr}, i8, zp);
  result.storedBytes = int64_t(stream.size()) +
                       int64_t(sp.size()) * (half ? 2 : 4) +
                       (z ? int64_t(zp.size()) : 0) +
                       (mixed ? int64_t(widths.size()) * 5 : 0);
  if (mixed) {
    std::vector<char> bits(widths.size());
    for (size_t i = 0; i < widths.size(); ++i)
      bits[i] = char(int(widths[i]));
    result.blockBits = createConstantGlobal(q.weights, base + "_block_bits",
                                            {panels, groups}, i8, bits);
    result.blockOffsets = createConstantGlobal(
        q.weights, base + "_block_offsets", {panels, groups},
        IntegerType::get(ctx, 32),
        ArrayRef<char>(reinterpret_cast<const char *>(offsets.data()),
                       offsets.size() * 4));
  }
  return result;
}

/// Emits the kernel; `rowsPerTile` is mr.
class Emitter {
public:
  /// `kc` > 0 selects the decoded-panel form (see emitDecodedPanel).
  Emitter(QuantizedMatmul q, const Packed &packed, int64_t nr, int64_t mr,
          int64_t kc, TileFusion &fusion)
      : q(q), packed(packed), nr(nr), mr(mr), kc(kc), fusion(fusion) {}

  void emit() {
    OpBuilder b(q.op);
    Location loc = q.op.getLoc();
    auto get = [&](memref::GlobalOp g) -> Value {
      return memref::GetGlobalOp::create(b, loc, g.getType(), g.getSymName());
    };
    wp = get(packed.weights);
    sp = get(packed.scales);
    if (packed.zeros)
      zp = get(packed.zeros);
    if (packed.blockBits) {
      blockBits = get(packed.blockBits);
      blockOffsets = get(packed.blockOffsets);
    }
    if (packed.decode == Decode::WordMask && !kc)
      emitScaledInput(b, loc);
    int64_t panels = (q.n + nr - 1) / nr;
    scf::ParallelOp::create(
        b, loc, ValueRange{cst(b, loc, 0)}, ValueRange{cst(b, loc, panels)},
        ValueRange{cst(b, loc, 1)},
        [&](OpBuilder &pb, Location l, ValueRange ivs) {
          panel = ivs[0];
          nStart = arith::MulIOp::create(pb, l, panel, cst(pb, l, nr));
          mask = Value();
          if (q.n % nr) {
            Value left = arith::SubIOp::create(pb, l, cst(pb, l, q.n), nStart);
            Value valid = arith::MinSIOp::create(pb, l, left, cst(pb, l, nr));
            mask = vector::CreateMaskOp::create(
                pb, l, VectorType::get({nr}, pb.getI1Type()),
                ArrayRef<OpFoldResult>{valid});
          }
          if (kc) {
            emitDecodedPanel(pb, l);
            return;
          }
          emitTiles(pb, l, q.m, mr, [&](OpBuilder &rb, Value row, int64_t rows) {
            emitTile(rb, l, row, rows);
          });
        });
  }

private:
  QuantizedMatmul q;
  const Packed &packed;
  int64_t nr, mr, kc;
  TileFusion &fusion;
  Value wp, sp, zp, blockBits, blockOffsets, panel, nStart, mask;
  /// WordMask: x[r, k] * 2^-(width j) for value j of its word, and the
  /// sums of x per (row, group).
  Value scaledA, groupSums;

  /// WordMask's inputs, once before the panels: per row and group, each x
  /// times its value's power of two, and the group's sum of x.
  void emitScaledInput(OpBuilder &b, Location loc) {
    Type f32 = b.getF32Type();
    int width = int(packed.uniform), per = 32 / width;
    scaledA = memref::AllocOp::create(b, loc, MemRefType::get({q.m, q.k}, f32),
                                      b.getI64IntegerAttr(64));
    groupSums = memref::AllocOp::create(
        b, loc, MemRefType::get({q.m, q.groups}, f32), b.getI64IntegerAttr(64));
    auto rows = scf::ForOp::create(b, loc, cst(b, loc, 0), cst(b, loc, q.m),
                                   cst(b, loc, 1));
    OpBuilder rb = OpBuilder::atBlockBegin(rows.getBody());
    Value r = rows.getInductionVar();
    auto groups = scf::ForOp::create(rb, loc, cst(rb, loc, 0),
                                     cst(rb, loc, q.groups), cst(rb, loc, 1));
    OpBuilder gb = OpBuilder::atBlockBegin(groups.getBody());
    Value g = groups.getInductionVar();
    auto [k0, kEnd] = groupBounds(gb, loc, g);
    Value zero = arith::ConstantOp::create(gb, loc, gb.getF32FloatAttr(0.0f));
    auto units = scf::ForOp::create(
        gb, loc, k0, kEnd, cst(gb, loc, per), ValueRange{zero},
        [&](OpBuilder &ub, Location ul, Value kk, ValueRange sum) {
          Value total = sum[0];
          for (int j = 0; j < per; ++j) {
            Value kj = arith::AddIOp::create(ub, ul, kk, cst(ub, ul, j));
            Value x = memref::LoadOp::create(ub, ul, q.a, ValueRange{r, kj});
            total = arith::AddFOp::create(ub, ul, total, x);
            // The last value is read shifted down to the low bits.
            float power = j == per - 1 ? 1.0f : std::ldexp(1.0f, -width * j);
            Value scaled = arith::MulFOp::create(
                ub, ul, x,
                arith::ConstantOp::create(ub, ul, ub.getF32FloatAttr(power)));
            memref::StoreOp::create(ub, ul, scaled, scaledA, ValueRange{r, kj});
          }
          scf::YieldOp::create(ub, ul, total);
        });
    memref::StoreOp::create(gb, loc, units.getResult(0), groupSums,
                            ValueRange{r, g});
  }

  static Value cst(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  VectorType vecType(OpBuilder &b) const {
    return VectorType::get({nr}, b.getF32Type());
  }

  /// The k range [k0, kEnd) of group g (the last may be short).
  std::pair<Value, Value> groupBounds(OpBuilder &b, Location loc, Value g) {
    int64_t gs = q.quant.getGroup();
    Value k0 = arith::MulIOp::create(b, loc, g, cst(b, loc, gs));
    Value kEnd = arith::MinSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, k0, cst(b, loc, gs)),
        cst(b, loc, q.k));
    return {k0, kEnd};
  }

  /// The tile's rows: row, row + 1, ...
  SmallVector<Value> tileRows(OpBuilder &b, Location loc, Value row,
                              int64_t rows) {
    SmallVector<Value> rowValues;
    for (int64_t r = 0; r < rows; ++r)
      rowValues.push_back(arith::AddIOp::create(b, loc, row, cst(b, loc, r)));
    return rowValues;
  }

  /// C's panel columns in each row (masked in a ragged panel).
  SmallVector<Value> loadC(OpBuilder &b, Location loc,
                           ArrayRef<Value> rowValues) {
    VectorType vt = vecType(b);
    SmallVector<Value> values;
    for (Value row : rowValues) {
      SmallVector<Value> idx = {row, nStart};
      values.push_back(
          mask ? vector::MaskedLoadOp::create(
                     b, loc, vt, q.c, idx, mask,
                     arith::ConstantOp::create(
                         b, loc, vt, DenseElementsAttr::get(vt, 0.0f)))
                     .getResult()
               : vector::LoadOp::create(b, loc, vt, q.c, idx).getResult());
    }
    return values;
  }

  /// The fused fill's value in each row.
  SmallVector<Value> prologueRows(OpBuilder &b, Location loc,
                                  ArrayRef<Value> rowValues) {
    SmallVector<Value> values;
    for (Value row : rowValues)
      values.push_back(emitPrologue(b, loc, fusion, {row, nStart}, vecType(b)));
    return values;
  }

  /// Stores each row's y: into C, and after the last k (`final`) through
  /// the fused epilogue (C then only when it is still read).
  void storeRows(OpBuilder &b, Location loc, ArrayRef<Value> rowValues,
                 ValueRange ys, bool final) {
    for (auto [row, y] : llvm::zip(rowValues, ys)) {
      SmallVector<Value> idx = {row, nStart};
      bool epilogue = final && fusion.epilogue;
      if (!epilogue || fusion.storeY)
        storeVector(b, loc, y, q.c, idx, mask);
      if (epilogue)
        storeVector(b, loc, emitEpilogue(b, loc, fusion, idx, y, mask),
                    fusion.epilogueOut, idx, mask);
    }
  }

  /// `rows` rows from `row`: y starts as C's init (or the fused fill),
  /// collects every group, then is stored (through the fused epilogue).
  void emitTile(OpBuilder &b, Location loc, Value row, int64_t rows) {
    SmallVector<Value> rowValues = tileRows(b, loc, row, rows);
    SmallVector<Value> init = fusion.prologue ? prologueRows(b, loc, rowValues)
                                              : loadC(b, loc, rowValues);
    auto groups = scf::ForOp::create(
        b, loc, cst(b, loc, 0), cst(b, loc, q.groups), cst(b, loc, 1), init,
        [&](OpBuilder &gb, Location gl, Value g, ValueRange y) {
          scf::YieldOp::create(gb, gl, emitGroup(gb, gl, rowValues, g, y));
        });
    storeRows(b, loc, rowValues, groups.getResults(), /*final=*/true);
  }

  /// Uniform width: block (panel, g) starts at panel * rowBytes + the
  /// bytes of the k0 / per rows before it.
  Value uniformBlockStart(OpBuilder &b, Location loc, Value g) {
    int64_t per = valuesPerUnit(packed.uniform, packed.words());
    int64_t blockBytes = q.quant.getGroup() / per * nr *
                         unitBytes(packed.uniform, packed.words());
    return arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, panel, cst(b, loc, packed.rowBytes)),
        arith::MulIOp::create(b, loc, g, cst(b, loc, blockBytes)));
  }

  /// The decoded-panel form, for many rows (a prefill): per K block of
  /// kc, the panel's weights are dequantized once into a stack buffer
  /// (kc x nr f32, in L1), which every row tile then reads as an f32
  /// GEMM's packed B: one vector load per k for mr rows' FMAs, where the
  /// in-register form decodes the weights again for every tile of mr rows.
  /// Partial sums go through C between K blocks, as in the f32 GEMM.
  void emitDecodedPanel(OpBuilder &b, Location loc) {
    Value saved = LLVM::StackSaveOp::create(
        b, loc, LLVM::LLVMPointerType::get(b.getContext()));
    Value stack = memref::AllocaOp::create(
        b, loc, MemRefType::get({kc, nr}, b.getF32Type()),
        b.getI64IntegerAttr(64));
    int64_t gs = q.quant.getGroup();
    scf::ForOp::create(
        b, loc, cst(b, loc, 0), cst(b, loc, q.k), cst(b, loc, kc), ValueRange{},
        [&](OpBuilder &kb, Location l, Value p, ValueRange) {
          Value kEnd = arith::MinSIOp::create(
              kb, l, arith::AddIOp::create(kb, l, p, cst(kb, l, kc)),
              cst(kb, l, q.k));
          // kc is a multiple of the group: the block's groups are whole.
          Value gBegin = arith::DivUIOp::create(kb, l, p, cst(kb, l, gs));
          Value gEnd = arith::DivUIOp::create(
              kb, l, arith::AddIOp::create(kb, l, kEnd, cst(kb, l, gs - 1)),
              cst(kb, l, gs));
          scf::ForOp::create(
              kb, l, gBegin, gEnd, cst(kb, l, 1), ValueRange{},
              [&](OpBuilder &gb, Location gl, Value g, ValueRange) {
                emitDecodeGroup(gb, gl, g, p, stack);
                scf::YieldOp::create(gb, gl);
              });
          emitTiles(kb, l, q.m, mr,
                    [&](OpBuilder &rb, Value row, int64_t rows) {
                      emitDecodedTile(rb, l, row, rows, p, kEnd, stack);
                    });
          scf::YieldOp::create(kb, l);
        });
    LLVM::StackRestoreOp::create(b, loc, saved);
  }

  /// stack[k - p] = the dequantized weights of group g's k, over the
  /// panel's columns: value * packed scale * what the decoding leaves
  /// over (WordShift's 2^-24, WordMask's 2^-(width j)) - zero * scale.
  void emitDecodeGroup(OpBuilder &b, Location loc, Value g, Value p,
                       Value stack) {
    VectorType vt = vecType(b);
    BlockBits bits = packed.uniform;
    int64_t per = valuesPerUnit(bits, packed.words());
    Value start = uniformBlockStart(b, loc, g);
    Value scale = loadScale(b, loc, g);
    Value zeroTerm = emitZeroTerm(b, loc, g, bits, scale);
    Value negZero = zeroTerm
                        ? arith::NegFOp::create(b, loc, zeroTerm).getResult()
                        : Value();
    SmallVector<Value> scales;
    for (int64_t j = 0; j < per; ++j) {
      float rest = 1.0f;
      if (packed.decode == Decode::WordShift && bits != BlockBits::Eight)
        rest = kWordShiftUnscale;
      else if (packed.decode == Decode::WordMask && j != per - 1)
        rest = std::ldexp(1.0f, -int(bits) * int(j));
      scales.push_back(
          rest == 1.0f ? scale
                       : arith::MulFOp::create(
                             b, loc, scale,
                             arith::ConstantOp::create(
                                 b, loc, vt, DenseElementsAttr::get(vt, rest)))
                             .getResult());
    }
    auto [k0, kEnd] = groupBounds(b, loc, g);
    scf::ForOp::create(
        b, loc, k0, kEnd, cst(b, loc, per), ValueRange{},
        [&](OpBuilder &ub, Location ul, Value kk, ValueRange) {
          SmallVector<Value> columns = loadUnit(ub, ul, start, k0, kk, bits);
          Value slot = arith::SubIOp::create(ub, ul, kk, p);
          for (auto [j, column] : llvm::enumerate(columns)) {
            Value w = negZero ? vector::FMAOp::create(ub, ul, column, scales[j],
                                                      negZero)
                                    .getResult()
                              : arith::MulFOp::create(ub, ul, column, scales[j])
                                    .getResult();
            Value row = j ? arith::AddIOp::create(ub, ul, slot, cst(ub, ul, j))
                                .getResult()
                          : slot;
            vector::StoreOp::create(ub, ul, w, stack,
                                    ValueRange{row, cst(ub, ul, 0)});
          }
          scf::YieldOp::create(ub, ul);
        });
  }

  /// `rows` rows from `row` over k in [p, kEnd) of the decoded panel: y
  /// starts from C's init (the fused fill in the first K block, the partial
  /// sums after it) and leaves through the fused epilogue after the last.
  void emitDecodedTile(OpBuilder &b, Location loc, Value row, int64_t rows,
                       Value p, Value kEnd, Value stack) {
    VectorType vt = vecType(b);
    SmallVector<Value> rowValues = tileRows(b, loc, row, rows);
    auto loadPartial = [&](OpBuilder &ob) { return loadC(ob, loc, rowValues); };
    auto prologueInit = [&](OpBuilder &ob) {
      return prologueRows(ob, loc, rowValues);
    };
    bool oneBlock = q.k <= kc;
    SmallVector<Value> init;
    if (!fusion.prologue)
      init = loadPartial(b);
    else if (oneBlock)
      init = prologueInit(b);
    else
      init = emitSelect(b, loc,
                        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              p, cst(b, loc, 0)),
                        SmallVector<Type>(rows, vt), prologueInit, loadPartial);
    auto loop = scf::ForOp::create(
        b, loc, p, kEnd, cst(b, loc, 1), init,
        [&](OpBuilder &kb, Location kl, Value kk, ValueRange acc) {
          Value w = vector::LoadOp::create(
              kb, kl, vt, stack,
              ValueRange{arith::SubIOp::create(kb, kl, kk, p), cst(kb, kl, 0)});
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            Value a = memref::LoadOp::create(kb, kl, q.a,
                                             ValueRange{rowValues[r], kk});
            next.push_back(vector::FMAOp::create(
                kb, kl, vector::BroadcastOp::create(kb, kl, vt, a), w, acc[r]));
          }
          scf::YieldOp::create(kb, kl, next);
        });
    auto storePartial = [&](OpBuilder &ob) {
      storeRows(ob, loc, rowValues, loop.getResults(), /*final=*/false);
    };
    auto storeFinal = [&](OpBuilder &ob) {
      storeRows(ob, loc, rowValues, loop.getResults(), /*final=*/true);
    };
    if (!fusion.epilogue)
      storePartial(b);
    else if (oneBlock)
      storeFinal(b);
    else
      emitIfElse(b, loc,
                 arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, kEnd,
                                       cst(b, loc, q.k)),
                 storeFinal, storePartial);
  }

  /// One group: y plus the group's contribution, for its block's width
  /// (a branch on the block table when widths are mixed).
  SmallVector<Value> emitGroup(OpBuilder &b, Location loc,
                               ArrayRef<Value> rowValues, Value g,
                               ValueRange y) {
    if (!blockBits)
      return emitBlock(b, loc, rowValues, g, y, packed.uniform,
                       uniformBlockStart(b, loc, g));
    Value bits = memref::LoadOp::create(b, loc, blockBits, ValueRange{panel, g});
    Value start = arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        memref::LoadOp::create(b, loc, blockOffsets, ValueRange{panel, g}));
    Value four = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, bits,
        arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(4)));
    auto branch = scf::IfOp::create(b, loc, TypeRange(ValueRange(y)), four,
                                    /*addThenBlock=*/true,
                                    /*addElseBlock=*/true);
    OpBuilder tb = OpBuilder::atBlockEnd(branch.thenBlock());
    scf::YieldOp::create(
        tb, loc, emitBlock(tb, loc, rowValues, g, y, BlockBits::Four, start));
    OpBuilder eb = OpBuilder::atBlockEnd(branch.elseBlock());
    scf::YieldOp::create(
        eb, loc, emitBlock(eb, loc, rowValues, g, y, BlockBits::Two, start));
    return SmallVector<Value>(branch.getResults());
  }

  /// The integer-weighted sums of block (panel, g) stored `bits` wide from
  /// byte `start` (and, with zero points, the sums of A), then
  /// y + acc * s (- xs * zero * s).
  SmallVector<Value> emitBlock(OpBuilder &b, Location loc,
                               ArrayRef<Value> rowValues, Value g,
                               ValueRange y, BlockBits bits, Value start) {
    VectorType vt = vecType(b);
    int64_t rows = rowValues.size();
    bool masked = packed.decode == Decode::WordMask;
    // Sums of A in the loop for the zero points (WordMask has them ready).
    bool sums = zp && !masked;
    int64_t per = valuesPerUnit(bits, packed.words());
    // Independent FMA chains per row (the k of a unit split between
    // them): a one-row GEMV with one chain per vector waits on the FMA
    // latency, not on the loads.
    int64_t chains = std::clamp<int64_t>(4 / rows, 1, per);
    auto [k0, kEnd] = groupBounds(b, loc, g);
    Value zeroVec = arith::ConstantOp::create(
        b, loc, vt, DenseElementsAttr::get(vt, 0.0f));
    SmallVector<Value> init(rows * chains, zeroVec);
    if (sums)
      init.append(rows, arith::ConstantOp::create(b, loc,
                                                  b.getF32FloatAttr(0.0f)));
    int64_t sumsAt = rows * chains;
    auto loop = scf::ForOp::create(
        b, loc, k0, kEnd, cst(b, loc, per), init,
        [&](OpBuilder &kb, Location kl, Value kk, ValueRange carried) {
          SmallVector<Value> columns = loadUnit(kb, kl, start, k0, kk, bits);
          SmallVector<Value> next(carried.begin(), carried.end());
          for (int64_t r = 0; r < rows; ++r) {
            for (auto [j, column] : llvm::enumerate(columns)) {
              Value kj = j ? arith::AddIOp::create(kb, kl, kk, cst(kb, kl, j))
                                 .getResult()
                           : kk;
              Value a = memref::LoadOp::create(kb, kl, masked ? scaledA : q.a,
                                               ValueRange{rowValues[r], kj});
              Value splat = vector::BroadcastOp::create(kb, kl, vt, a);
              Value &acc = next[r * chains + int64_t(j) % chains];
              acc = vector::FMAOp::create(kb, kl, splat, column, acc);
              if (sums)
                next[sumsAt + r] =
                    arith::AddFOp::create(kb, kl, next[sumsAt + r], a);
            }
          }
          scf::YieldOp::create(kb, kl, next);
        });
    Value scale = loadScale(b, loc, g);
    Value zeroTerm = emitZeroTerm(b, loc, g, bits, scale);
    SmallVector<Value> result;
    for (int64_t r = 0; r < rows; ++r) {
      // The chains summed pairwise (a fixed order: thread-count independent).
      SmallVector<Value> partial;
      for (int64_t c = 0; c < chains; ++c)
        partial.push_back(loop.getResult(r * chains + c));
      for (int64_t width = chains; width > 1; width = (width + 1) / 2) {
        for (int64_t c = 0; c < width / 2; ++c)
          partial[c] = arith::AddFOp::create(b, loc, partial[2 * c],
                                             partial[2 * c + 1]);
        if (width % 2)
          partial[width / 2] = partial[width - 1];
      }
      Value sum = partial[0];
      if (packed.decode == Decode::WordShift && bits != BlockBits::Eight)
        sum = arith::MulFOp::create(
            b, loc, sum,
            arith::ConstantOp::create(
                b, loc, vt, DenseElementsAttr::get(vt, kWordShiftUnscale)));
      Value acc = vector::FMAOp::create(b, loc, sum, scale, y[r]);
      if (zeroTerm) {
        Value xSum = sums ? loop.getResult(sumsAt + r)
                          : memref::LoadOp::create(b, loc, groupSums,
                                                   ValueRange{rowValues[r], g})
                                .getResult();
        Value negSum = vector::BroadcastOp::create(
            b, loc, vt, arith::NegFOp::create(b, loc, xSum));
        acc = vector::FMAOp::create(b, loc, negSum, zeroTerm, acc);
      }
      result.push_back(acc);
    }
    return result;
  }

  /// The packed scales of block (panel, g), as f32.
  Value loadScale(OpBuilder &b, Location loc, Value g) {
    Value scale = vector::LoadOp::create(
        b, loc,
        VectorType::get({nr},
                        packed.halfScales ? b.getF16Type() : b.getF32Type()),
        sp, ValueRange{panel, g, cst(b, loc, 0)});
    if (packed.halfScales)
      scale = arith::ExtFOp::create(b, loc, vecType(b), scale);
    return scale;
  }

  /// zero * s for block (panel, g), s the packed `scale` times the block's
  /// multiplier, or a null Value without zero points. WordMask's zero
  /// points: stored ones, or half the range of signed values it stores
  /// unsigned (none for unsigned values without them).
  Value emitZeroTerm(OpBuilder &b, Location loc, Value g, BlockBits bits,
                     Value scale) {
    VectorType vt = vecType(b);
    bool zeroFromHalf =
        packed.decode == Decode::WordMask && !zp && !q.unsignedValues;
    if (!zp && !zeroFromHalf)
      return Value();
    Value z;
    if (zeroFromHalf) {
      z = arith::ConstantOp::create(
          b, loc, vt, DenseElementsAttr::get(vt, float(1 << (int(bits) - 1))));
    } else {
      z = vector::LoadOp::create(b, loc, VectorType::get({nr}, b.getI8Type()),
                                 zp, ValueRange{panel, g, cst(b, loc, 0)});
      z = packed.isSigned ? arith::SIToFPOp::create(b, loc, vt, z).getResult()
                          : arith::UIToFPOp::create(b, loc, vt, z).getResult();
    }
    Value mult = arith::ConstantOp::create(
        b, loc, vt,
        DenseElementsAttr::get(vt, multiplier(bits, packed.decode)));
    return arith::MulFOp::create(b, loc,
                                 arith::MulFOp::create(b, loc, z, scale), mult);
  }

  /// loadColumns for the unit row of k `kk` in the block of group start
  /// `k0` stored from byte `start`.
  SmallVector<Value> loadUnit(OpBuilder &b, Location loc, Value start, Value k0,
                              Value kk, BlockBits bits) {
    int64_t per = valuesPerUnit(bits, packed.words());
    Value unitRow = arith::DivUIOp::create(
        b, loc, arith::SubIOp::create(b, loc, kk, k0), cst(b, loc, per));
    Value at = arith::AddIOp::create(
        b, loc, start,
        arith::MulIOp::create(
            b, loc, unitRow,
            cst(b, loc, nr * unitBytes(bits, packed.words()))));
    return loadColumns(b, loc, at, bits);
  }

  /// The weights of the consecutive k that share the unit row at `at`, as
  /// f32 vectors over the panel's columns; sub-byte values are read as if
  /// in a byte's top bits, i.e. times their block's multiplier.
  SmallVector<Value> loadColumns(OpBuilder &b, Location loc, Value at,
                                 BlockBits bits) {
    if (packed.words() && bits != BlockBits::Eight)
      return packed.decode == Decode::WordTable
                 ? lookUpColumns(b, loc, at, bits)
                 : wordColumns(b, loc, at, bits);
    VectorType vt = vecType(b);
    VectorType byteType = VectorType::get({nr}, b.getI8Type());
    Value bytes = vector::LoadOp::create(b, loc, byteType, wp, ValueRange{at});
    // The panels are one byte stream, `at` its byte offset.
    prefetchAhead(b, loc, wp, {at}, 0, 1, nr);
    auto toFloat = [&](Value v) -> Value {
      if (packed.isSigned)
        return arith::SIToFPOp::create(b, loc, vt, v);
      return arith::UIToFPOp::create(b, loc, vt, v);
    };
    if (bits == BlockBits::Eight)
      return {toFloat(bytes)};
    auto splat = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          b, loc, byteType,
          DenseElementsAttr::get(byteType, b.getI8IntegerAttr(v)));
    };
    // Each value moved to the byte's top bits (shifted up, the rest masked
    // off): x86 has no byte shifts right, and the sign lands in place.
    int width = int(bits);
    Value top = splat(int8_t(uint8_t(0xFF << (8 - width))));
    SmallVector<Value> columns;
    for (int j = 0; j < 8 / width; ++j) {
      int up = 8 - width * (j + 1);
      Value v = up ? arith::ShLIOp::create(b, loc, bytes, splat(up)).getResult()
                   : bytes;
      // Value 0 arrives with zeros below it; later ones carry the values
      // before them in the low bits.
      columns.push_back(toFloat(
          j ? arith::AndIOp::create(b, loc, v, top).getResult() : v));
    }
    return columns;
  }

  /// The panel's 32-bit words at byte `at`, prefetching ahead.
  Value loadWords(OpBuilder &b, Location loc, Value at) {
    Value bytes = vector::LoadOp::create(
        b, loc, VectorType::get({4 * nr}, b.getI8Type()), wp, ValueRange{at});
    prefetchAhead(b, loc, wp, {at}, 0, 1, 4 * nr);
    return vector::BitCastOp::create(
        b, loc, VectorType::get({nr}, b.getI32Type()), bytes);
  }

  /// loadColumns for 32-bit words without a table. WordShift: value j
  /// shifted to the word's top bits and the bits below masked off, so the
  /// word is the signed value times 2^(32 - width), 2^24 times the byte
  /// reading's multiple (emitBlock scales the sum back); no shift for the
  /// first value's mask, no mask for the last's shift. WordMask: value j
  /// masked in place, u * 2^(width j) (the scaled x makes up the power);
  /// the last, under the sign bit, shifted down instead.
  SmallVector<Value> wordColumns(OpBuilder &b, Location loc, Value at,
                                 BlockBits bits) {
    auto wordsType = VectorType::get({nr}, b.getI32Type());
    auto splat = [&](uint32_t v) -> Value {
      return arith::ConstantOp::create(
          b, loc, wordsType,
          DenseElementsAttr::get(wordsType, b.getI32IntegerAttr(int32_t(v))));
    };
    Value words = loadWords(b, loc, at);
    int width = int(bits), count = 32 / width;
    uint32_t low = (1u << width) - 1;
    SmallVector<Value> columns;
    for (int j = 0; j < count; ++j) {
      Value v = words;
      if (packed.decode == Decode::WordMask) {
        v = j == count - 1
                ? arith::ShRUIOp::create(b, loc, words, splat(32 - width))
                      .getResult()
                : arith::AndIOp::create(b, loc, words,
                                        splat(low << (width * j)))
                      .getResult();
      } else {
        if (int up = 32 - width * (j + 1))
          v = arith::ShLIOp::create(b, loc, v, splat(up));
        if (j)
          v = arith::AndIOp::create(b, loc, v, splat(~0u << (32 - width)));
      }
      columns.push_back(arith::SIToFPOp::create(b, loc, vecType(b), v));
    }
    return columns;
  }

  /// loadColumns for 32-bit words: value j of each word shifted to the
  /// low bits and looked up (vpermps reads an index's low 4 bits) in a
  /// table of the 16 values a byte's top bits can hold; 2-bit values see
  /// their neighbour in bits 2-3, which the table ignores.
  SmallVector<Value> lookUpColumns(OpBuilder &b, Location loc, Value at,
                                   BlockBits bits) {
    constexpr int64_t kTableLanes = 16;
    Type i32 = b.getI32Type(), f32 = b.getF32Type();
    auto wordsType = VectorType::get({nr}, i32);
    Value words = loadWords(b, loc, at);
    int width = int(bits);
    SmallVector<float> entries;
    for (int i = 0; i < kTableLanes; ++i) {
      unsigned top = unsigned(i & ((1 << width) - 1)) << (8 - width);
      entries.push_back(packed.isSigned ? float(int8_t(uint8_t(top)))
                                        : float(uint8_t(top)));
    }
    auto tableType = VectorType::get({kTableLanes}, f32);
    Value table = arith::ConstantOp::create(
        b, loc, tableType, DenseElementsAttr::get(tableType, ArrayRef(entries)));
    SmallVector<Value> columns;
    for (int j = 0; j < 32 / width; ++j) {
      Value index = words;
      if (j)
        index = arith::ShRUIOp::create(
            b, loc, words,
            arith::ConstantOp::create(
                b, loc, wordsType,
                DenseElementsAttr::get(wordsType, b.getI32IntegerAttr(j * width))));
      Value column = arith::ConstantOp::create(
          b, loc, vecType(b), DenseElementsAttr::get(vecType(b), 0.0f));
      for (int64_t lane = 0; lane < nr; lane += kTableLanes) {
        Value part = vector::ExtractStridedSliceOp::create(
            b, loc, index, ArrayRef<int64_t>{lane},
            ArrayRef<int64_t>{kTableLanes}, ArrayRef<int64_t>{1});
        Value looked =
            LLVM::CallIntrinsicOp::create(
                b, loc, tableType,
                b.getStringAttr("llvm.x86.avx512.permvar.sf.512"),
                ValueRange{table, part})
                .getResult(0);
        column = vector::InsertStridedSliceOp::create(
            b, loc, looked, column, ArrayRef<int64_t>{lane},
            ArrayRef<int64_t>{1});
      }
      columns.push_back(column);
    }
    return columns;
  }
};

} // namespace

/// Rows from which a quantized matmul decodes each panel once per K block
/// instead of once per row tile, and that block's length.
constexpr int64_t kDecodedPanelMinRows = 16;
constexpr int64_t kDecodedPanelK = 256;
/// The largest decoded block, on the stack of whichever thread runs the
/// panel (a group of up to 1024 k at 32 columns).
constexpr int64_t kDecodedPanelMaxBytes = 128 * 1024;

bool mlir::kiln::lowerQuantizedMatmul(
    linalg::GenericOp op, const CpuTarget &target,
    SmallVectorImpl<memref::GlobalOp> &packedSources,
    std::string *description) {
  std::optional<QuantizedMatmul> q = match(op);
  if (!q)
    return false;
  // Two vectors of columns per panel; row tiles of 4 rows with 32
  // registers (the group and running accumulators, 2 x mr x 2 vectors,
  // leave room for the dequantized columns) and with AVX2's masked words,
  // where the running sums spill but each decoded vector serves 4 rows
  // (the w4 GPT-2's 128-token prefill on Zen 3: fastest of 5, 622-697 ms
  // -> 490-514 ms); else 2.
  int64_t lanes = std::max<int64_t>(target.vectorBits / 32, 4);
  int64_t nr = 2 * lanes;
  Decode decode = decodeFor(target);
  int64_t mr = std::min<int64_t>(
      q->m, target.vectorRegisters >= 32 || decode == Decode::WordMask ? 4 : 2);
  if (decode == Decode::WordTable && nr % 16)
    decode = Decode::Bytes;
  Packed packed = pack(*q, nr, decode);
  if (!packed.weights)
    return false;
  // Many rows of one width: decoded panels (emitDecodedPanel), K blocks
  // of about kDecodedPanelK, tiles of as many rows as the f32 GEMM's.
  // Groups too long for a stack buffer (a block holds whole groups) keep
  // the in-register kernel.
  int64_t kc = 0;
  if (q->m >= kDecodedPanelMinRows && !packed.blockBits) {
    int64_t gs = q->quant.getGroup();
    // One block of all K also holds whole groups (the last may be short).
    kc = std::min(std::max<int64_t>(kDecodedPanelK / gs, 1) * gs, q->k);
    if (kc * nr * 4 > kDecodedPanelMaxBytes)
      kc = 0;
    else
      mr = target.vectorRegisters >= 32 ? 8 : 6;
  }
  TileFusion fusion = findTileFusion(op, q->c, {1});
  Emitter(*q, packed, nr, mr, kc, fusion).emit();
  std::string bitsText;
  llvm::raw_string_ostream(bitsText)
      << llvm::format("%.2f", 8.0 * double(packed.storedBytes) /
                                  double(q->k * q->n));
  if (description)
    *description =
        (Twine("quantized matmul M ") + Twine(q->m) + " N " + Twine(q->n) +
         " K " + Twine(q->k) + ", w" + Twine(q->quant.getBits()) + " group " +
         Twine(q->quant.getGroup()) + (q->zeros ? " asymmetric" : "") +
         ", weights packed " + describeWidths(packed) + ", " + bitsText +
         " bits/weight stored" + ", tile " + Twine(mr) + "x" + Twine(nr) +
         (kc ? ", panel decoded per kc " + Twine(kc) : Twine()) +
         describeFusion(fusion))
            .str();
  packedSources.push_back(q->weights);
  packedSources.push_back(q->scales);
  if (q->zeros)
    packedSources.push_back(q->zeros);
  eraseLowered(op, fusion);
  return true;
}

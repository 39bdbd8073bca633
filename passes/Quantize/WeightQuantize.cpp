//===- WeightQuantize.cpp - kiln-weight-quantize --------------------------===//
//
// Part of kiln. Turns float matmuls with constant weights into
// kiln.quantized_matmul (see Passes.td for the formulas).
//
//===----------------------------------------------------------------------===//

#include "passes/Constants.h"
#include "passes/Quantize/Passes.h"
#include "passes/Quantize/GPTQ.h"
#include "passes/Quantize/InputHessian.h"
#include "passes/Quantize/W8A8Candidates.h"
#include "passes/Quantize/WeightQuantization.h"

#include "costmodel/QuantCost.h"
#include "dialects/Kiln/KilnOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNWEIGHTQUANTIZEPASS
#include "passes/Quantize/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct KilnWeightQuantizePass
    : kiln::impl::KilnWeightQuantizePassBase<KilnWeightQuantizePass> {
  using KilnWeightQuantizePassBase::KilnWeightQuantizePassBase;

  void runOnOperation() override {
    if (clipping != "none" && clipping != "mse") {
      getOperation()->emitError("kiln-weight-quantize: clipping must be none "
                                "or mse, got '")
          << clipping << "'";
      return signalPassFailure();
    }
    if (wideFraction < 0.0 || wideFraction > 1.0 || tileColumns < 1) {
      getOperation()->emitError("kiln-weight-quantize: wide-fraction must be "
                                "in [0, 1] and tile-columns positive");
      return signalPassFailure();
    }
    if (bits < 2 || bits > 8 || groupSize < 1) {
      getOperation()->emitError("kiln-weight-quantize: bits must be 2..8 and "
                                "group-size positive, got bits=")
          << bits << " group-size=" << groupSize;
      return signalPassFailure();
    }
    if (!(gptqDamp > 0.0)) {
      getOperation()->emitError("kiln-weight-quantize: gptq-damp must be "
                                "positive, got ")
          << gptqDamp;
      return signalPassFailure();
    }
    if (!hessians.empty()) {
      quantizeWithHessians();
      return;
    }
    SmallVector<MatMulOp> candidates;
    getOperation()->walk([&](MatMulOp op) { candidates.push_back(op); });
    for (MatMulOp op : candidates)
      quantize(op, nullptr);
  }

  /// GPTQ: the file holds one Hessian per calibrated matmul, in the order
  /// of w8a8Candidates (what kiln-calibration-instrument returned).
  void quantizeWithHessians() {
    HessianReader reader;
    std::string error;
    if (!reader.open(hessians, error)) {
      getOperation()->emitError("kiln-weight-quantize: ") << error;
      return signalPassFailure();
    }
    SmallVector<MatMulOp> candidates =
        w8a8Candidates(getOperation(), minWeights);
    if (reader.count() != candidates.size()) {
      getOperation()->emitError("kiln-weight-quantize: '")
          << hessians << "' holds " << reader.count() << " Hessian"
          << (reader.count() == 1 ? "" : "s") << " but the module has "
          << candidates.size() << " matmuls to quantize (min-weights "
          << int64_t(minWeights)
          << "): the calibration was of another model or options";
      return signalPassFailure();
    }
    for (MatMulOp op : candidates) {
      InputHessian h;
      if (!reader.next(h, error)) {
        op.emitError("kiln-weight-quantize: ") << error;
        return signalPassFailure();
      }
      int64_t k = cast<RankedTensorType>(op.getRhs().getType()).getDimSize(0);
      if (h.k() != k) {
        op.emitError("kiln-weight-quantize: the calibration Hessian is ")
            << h.k() << "x" << h.k() << " but the weights have K = " << k
            << ": the calibration was of another model or options";
        return signalPassFailure();
      }
      Calibration calibration;
      calibration.hessian = h.matrix();
      calibration.factor = factorGPTQ(calibration.hessian, k, gptqSettings());
      quantize(op, &calibration);
    }
  }

  /// One way to store a matrix: bits, group, symmetric; 2 bits with a
  /// wide fraction is mixed 2/4-bit (always asymmetric).
  struct Mode {
    const char *name;
    unsigned bits;
    int64_t group;
    bool symmetric;
    double fraction = 0.0;
    /// Stored bits per weight (weights, scales, zero points), for the
    /// roofline of --quantize=auto.
    double storedBits = 0.0;
    bool mixed() const { return bits == 2 && fraction > 0.0; }
    bool isSymmetric() const { return symmetric && !mixed(); }
  };

  /// A matmul's calibration for GPTQ: its inputs' Hessian and the factor
  /// of it that every layout tried shares.
  struct Calibration {
    std::vector<double> hessian;
    GPTQFactor factor;
  };

  GPTQSettings gptqSettings() const {
    GPTQSettings settings;
    settings.damp = gptqDamp;
    settings.actOrder = gptqActOrder;
    return settings;
  }

  /// `w` stored as `m`: rounded to nearest, or by GPTQ given calibration.
  QuantizedWeights quantizeAs(const Mode &m, const std::vector<float> &w,
                              int64_t k, int64_t n,
                              const Calibration *calibration) {
    bool clip = clipping == "mse";
    if (!calibration)
      return m.mixed() ? quantizeMixed24(w, k, n, m.group, tileColumns,
                                         m.fraction, clip)
                       : quantizeWeights(w, k, n, m.bits, m.group,
                                         m.isSymmetric(), clip);
    GroupFitter fit;
    if (m.mixed()) {
      // The widths come from the float weights' ranges, as without GPTQ.
      std::vector<uint8_t> widths =
          mixedBlockBits(w, k, n, m.group, tileColumns, m.fraction);
      int64_t tiles = (n + tileColumns - 1) / tileColumns, cols = tileColumns;
      fit = [widths, tiles, cols, clip](const float *v, int64_t stride,
                                        int64_t count, int64_t g, int64_t c) {
        return fitGroup(v, stride, count, widths[g * tiles + c / cols],
                        /*symmetric=*/false, clip, /*halfScale=*/true);
      };
    } else {
      unsigned b = m.bits;
      bool sym = m.isSymmetric();
      fit = [b, sym, clip](const float *v, int64_t stride, int64_t count,
                           int64_t, int64_t) {
        return fitGroup(v, stride, count, b, sym, clip, /*halfScale=*/false);
      };
    }
    return quantizeGPTQ(w, k, n, m.group, m.isSymmetric(), fit,
                        calibration->factor, gptqSettings());
  }

  void quantize(MatMulOp op, const Calibration *calibration) {
    auto lt = cast<RankedTensorType>(op.getLhs().getType());
    auto rt = cast<RankedTensorType>(op.getRhs().getType());
    if (op.getLmulAttr() || rt.getRank() != 2 || !lt.getElementType().isF32() ||
        rt.getNumElements() < minWeights)
      return;
    std::optional<std::vector<float>> w = constantF32Values(op.getRhs());
    if (!w)
      return;
    int64_t k = rt.getDimSize(0), n = rt.getDimSize(1);
    Mode mode{"", bits, groupSize, symmetric, wideFraction};
    QuantizedWeights q;
    if (accuracyBudget > 0) {
      std::optional<QuantizedWeights> chosen =
          chooseMode(op, *w, k, n, calibration, mode);
      if (!chosen)
        return;
      q = std::move(*chosen);
    } else {
      q = quantizeAs(mode, *w, k, n, calibration);
    }
    if (calibration)
      ++numGPTQ;
    replace(op, mode, q, k, n);
  }

  /// --quantize=auto: the fewest bits whose relative weight error (output
  /// error on the calibration inputs, given their Hessian) is within the
  /// budget, if the roofline says the matmul gets faster; records why on
  /// the op (`kiln.quantization`). nullopt: the op stays float.
  std::optional<QuantizedWeights>
  chooseMode(MatMulOp op, const std::vector<float> &w, int64_t k, int64_t n,
             const Calibration *calibration, Mode &chosen) {
    auto lt = cast<RankedTensorType>(op.getLhs().getType());
    MatmulShape shape{lt.getNumElements() / k, k, n};
    CpuThroughput cpu = CpuThroughput::forVector(vectorBits, l2Bytes);
    double fp32 = matmulCycles(shape, 32, cpu);
    // Fewest stored bits first (weights + scales + zero points).
    const Mode modes[] = {
        {"w2w4 g64", 2, 64, false, 0.25, 2.0 + 2 * 0.25 + 24.0 / 64},
        {"w4 g32", 4, 32, true, 0.0, 4.0 + 32.0 / 32},
        {"w8 g128", 8, 128, true, 0.0, 8.0 + 32.0 / 128}};
    std::string why;
    llvm::raw_string_ostream os(why);
    os << "M " << shape.m << " K " << k << " N " << n << ": ";
    if (calibration)
      os << "GPTQ, output error on the calibration inputs: ";
    for (const Mode &m : modes) {
      QuantizedWeights q = quantizeAs(m, w, k, n, calibration);
      double error = calibration ? relativeOutputError(w, q, k, n, m.group,
                                                       calibration->hessian)
                                 : relativeError(w, q, k, n, m.group);
      double cycles = matmulCycles(shape, m.storedBits, cpu);
      os << m.name << " error " << llvm::format("%.4f", error) << " est. "
         << llvm::format("%.2f", fp32 / cycles) << "x; ";
      if (error <= accuracyBudget && cycles < fp32) {
        os << "-> " << m.name;
        op->setAttr("kiln.quantization", StringAttr::get(op.getContext(), why));
        chosen = m;
        return q;
      }
    }
    os << "-> float (no mode within the error budget "
       << llvm::format("%g", double(accuracyBudget)) << " and faster)";
    op->setAttr("kiln.quantization", StringAttr::get(op.getContext(), why));
    return std::nullopt;
  }

  void replace(MatMulOp op, const Mode &mode, const QuantizedWeights &q,
               int64_t k, int64_t n) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    Type valueType = IntegerType::get(
        ctx, 8,
        mode.isSymmetric() ? IntegerType::Signless : IntegerType::Unsigned);
    int64_t groups = (k + mode.group - 1) / mode.group;
    Value values = createConstant(
        b, loc, RankedTensorType::get({k, n}, valueType), q.values,
        "quantized_weights");
    Value scales = createConstant(
        b, loc, RankedTensorType::get({groups, n}, b.getF32Type()), q.scales,
        "weight_scales");
    Value zeros;
    if (!mode.isSymmetric())
      zeros = createConstant(b, loc,
                             RankedTensorType::get({groups, n}, valueType),
                             q.zeroPoints, "weight_zero_points");
    auto quantized = QuantizedMatMulOp::create(
        b, loc, op.getType(), op.getLhs(), values, scales, zeros,
        WeightQuantAttr::get(ctx, mode.mixed() ? 4 : mode.bits, mode.group));
    if (Attribute why = op->getAttr("kiln.quantization"))
      quantized->setAttr("kiln.quantization", why);
    op.replaceAllUsesWith(quantized.getResult());
    op.erase();
    ++numQuantized;
  }
};

} // namespace

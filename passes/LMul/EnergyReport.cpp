//===- EnergyReport.cpp - energy per inference with and without L-Mul -----===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/LMul/EnergyReport.h"

#include "dialects/Kiln/KilnAttrs.h"
#include "passes/LMul/Passes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
RankedTensorType floatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType()) ? t : RankedTensorType();
}

/// 1 + exponent + mantissa bits of an L-Mul mode's operands.
unsigned operandBits(LMulAttr mode) {
  StringRef name = mode.getFormat();
  auto f = lmul::lookupFormat(std::string_view(name.data(), name.size()));
  return 1 + (f ? f->exponentBits : 8) + mode.getMantissa();
}

/// Bytes of every ranked-tensor operand and result of `op`.
uint64_t trafficBytes(Operation *op) {
  uint64_t bytes = 0;
  auto add = [&](Type type) {
    if (auto t = dyn_cast<RankedTensorType>(type); t && t.hasStaticShape())
      bytes += uint64_t(t.getNumElements()) *
               std::max<uint64_t>(1, t.getElementTypeBitWidth() / 8);
  };
  for (Type t : op->getOperandTypes())
    add(t);
  for (Type t : op->getResultTypes())
    add(t);
  return bytes;
}

std::string thousands(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0)
      out += ',';
    out += s[i];
  }
  return out;
}
} // namespace

SmallVector<ArithmeticSite> mlir::kiln::collectArithmetic(Operation *root) {
  SmallVector<ArithmeticSite> sites;
  root->walk([&](Operation *op) {
    llvm::TypeSwitch<Operation *>(op)
        .Case([&](MatMulOp mm) {
          auto lt = floatTensor(mm.getLhs());
          if (!lt)
            return;
          uint64_t n = uint64_t(mm.getType().getNumElements()) *
                       uint64_t(lt.getShape().back());
          sites.push_back({op,
                           isAttentionMatMul(mm)
                               ? ArithmeticSite::Kind::AttentionMatMul
                               : ArithmeticSite::Kind::MatMul,
                           n, n, trafficBytes(op)});
        })
        .Case([&](Conv2DOp conv) {
          auto wt = cast<RankedTensorType>(conv.getWeight().getType());
          uint64_t n = uint64_t(conv.getType().getNumElements()) *
                       uint64_t(wt.getNumElements() / wt.getDimSize(0));
          sites.push_back(
              {op, ArithmeticSite::Kind::Conv, n, n, trafficBytes(op)});
        })
        .Case([&](MulOp mul) {
          if (floatTensor(mul.getLhs()))
            sites.push_back({op, ArithmeticSite::Kind::Mul,
                             uint64_t(mul.getType().getNumElements()), 0,
                             trafficBytes(op)});
        })
        .Case<AddOp, SubOp>([&](auto add) {
          if (floatTensor(add.getLhs()))
            sites.push_back({op, ArithmeticSite::Kind::AddSub, 0,
                             uint64_t(add.getType().getNumElements()),
                             trafficBytes(op)});
        });
  });
  return sites;
}

ArithmeticCounts mlir::kiln::countArithmetic(ArrayRef<ArithmeticSite> sites,
                                             std::optional<LMulScope> scope,
                                             unsigned bits) {
  ArithmeticCounts counts;
  for (const ArithmeticSite &site : sites) {
    counts.fp32Adds += site.adds;
    bool lmulHere;
    unsigned siteBits = bits;
    if (scope) {
      lmulHere = inLMulScope(site.op, *scope);
    } else {
      auto mode = site.op->getAttrOfType<LMulAttr>("lmul");
      lmulHere = bool(mode);
      if (mode)
        siteBits = operandBits(mode);
    }
    if (!lmulHere)
      counts.fp32Muls += site.products;
    else if (siteBits <= 8)
      counts.lmul8 += site.products;
    else
      counts.lmul32 += site.products;
  }
  return counts;
}

void mlir::kiln::printEnergyReport(Operation *root,
                                   const KilnLMulPassOptions *mode,
                                   const EnergyTable &table,
                                   llvm::raw_ostream &os) {
  SmallVector<ArithmeticSite> sites = collectArithmetic(root);
  uint64_t products[5] = {}, adds[5] = {};
  unsigned opsOf[5] = {};
  for (const ArithmeticSite &s : sites) {
    products[unsigned(s.kind)] += s.products;
    adds[unsigned(s.kind)] += s.adds;
    ++opsOf[unsigned(s.kind)];
  }
  unsigned bits = 32;
  std::string formatName = "fp32";
  if (mode) {
    auto f = lmul::lookupFormat(mode->format);
    if (f) {
      bits = 1 + f->exponentBits + (mode->mantissa ? mode->mantissa
                                                   : f->mantissaBits);
      formatName = mode->format +
                   (mode->mantissa ? " mantissa " + std::to_string(mode->mantissa)
                                   : std::string());
    }
  }

  os << "kiln: energy estimate per inference (arithmetic only, no memory "
        "traffic; 45 nm op energies, Horowitz ISSCC'14 via Luo & Sun 2024):\n"
     << llvm::format("kiln:   fp32 mul %.2f pJ, fp32 add %.2f pJ, int32 add "
                     "%.2f pJ, int8 add %.2f pJ; an L-Mul product is one "
                     "integer add (int8 for <= 8-bit operands, else int32),\n"
                     "kiln:   accumulation stays fp32\n",
                     table.fp32Mul, table.fp32Add, table.int32Add,
                     table.int8Add);
  const char *names[5] = {"attention matmuls (Q*K^T, softmax*V)",
                          "other matmuls", "convolutions", "elementwise mul",
                          "elementwise add/sub"};
  os << llvm::format("kiln:   %-38s %5s %18s %18s\n", "op class", "ops",
                     "products", "adds");
  for (unsigned k = 0; k < 5; ++k)
    os << llvm::format("kiln:   %-38s %5u %18s %18s\n", names[k], opsOf[k],
                       thousands(products[k]).c_str(),
                       thousands(adds[k]).c_str());

  // fp32 everywhere.
  ArithmeticCounts fp32;
  for (const ArithmeticSite &s : sites) {
    fp32.fp32Muls += s.products;
    fp32.fp32Adds += s.adds;
  }
  EnergyEstimate base = estimateEnergy(fp32, table);
  os << llvm::format(
      "kiln:   fp32: %s products x %.2f pJ + %s adds x %.2f pJ = %.3f uJ\n",
      thousands(fp32.fp32Muls).c_str(), table.fp32Mul,
      thousands(fp32.fp32Adds).c_str(), table.fp32Add, base.totalPJ() * 1e-6);
  os << llvm::format("kiln:   %-34s %16s %14s %9s\n", "L-Mul scope",
                     "L-Mul products", "energy (uJ)", "vs fp32");
  auto row = [&](const std::string &label, const ArithmeticCounts &c) {
    EnergyEstimate e = estimateEnergy(c, table);
    os << llvm::format("kiln:   %-34s %16s %14.3f %8.1f%%\n", label.c_str(),
                       thousands(c.lmul8 + c.lmul32).c_str(),
                       e.totalPJ() * 1e-6,
                       base.totalPJ() > 0
                           ? 100.0 * e.totalPJ() / base.totalPJ()
                           : 100.0);
  };
  row("none (fp32)", fp32);
  for (auto [label, scope] :
       {std::pair<const char *, LMulScope>{"attention", LMulScope::Attention},
        {"matmul", LMulScope::MatMul},
        {"all", LMulScope::All}})
    row(std::string(label) + " (" + formatName + ")",
        countArithmetic(sites, scope, bits));
  row(!mode                      ? std::string("this compile (no --lmul)")
      : mode->objective.empty() ? "this compile (--lmul=" + mode->scope + ")"
                                : "this compile (--objective=" +
                                      mode->objective + ")",
      countArithmetic(sites, std::nullopt, bits));

  // The cost model's latency side: a roofline estimate per op on the
  // target core, fp32 vs as compiled.
  CpuThroughput cpu = CpuThroughput::forVector(mode ? mode->vectorBits : 256,
                                               mode ? mode->l2Bytes : 1 << 20);
  double fp32Total = 0, compiled = 0;
  unsigned candidates = 0, placed = 0;
  for (const ArithmeticSite &s : sites) {
    double f = fp32Cycles(s.work(), cpu);
    bool lmulHere = bool(s.op->getAttrOfType<LMulAttr>("lmul"));
    fp32Total += f;
    compiled += lmulHere ? lmulCycles(s.work(), cpu) : f;
    candidates += s.products > 0;
    placed += lmulHere;
  }
  os << llvm::format("kiln:   estimated core cycles (roofline, %u-bit "
                     "vectors; L-Mul emulated with integer SIMD): fp32 "
                     "%.3f M, this compile %.3f M (%.2fx)\n",
                     unsigned(cpu.fmaLanes / 2 * 32), fp32Total * 1e-6,
                     compiled * 1e-6,
                     fp32Total > 0 ? compiled / fp32Total : 1.0);
  if (mode && !mode->objective.empty())
    os << "kiln:   --objective=" << mode->objective << ": the cost model put "
       << "L-Mul on " << placed << " of " << candidates
       << " ops with float products"
       << (mode->objective == "latency"
               ? " (where it costs no time on this core)\n"
               : " (where it lowers the arithmetic energy)\n");
}

//===- ConformanceReport.cpp - kiln conformance results and reports -------===//
//
// Part of kiln. Outcome names, the JSON form of a case result (what a child
// prints and the report lists), training-only exclusions, expected-pass
// lists, and the JSON report and readable summary of a run.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Conformance.h"

#include "compiler/onnx/TensorFile.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace llvm;
using namespace kiln::conformance;
namespace konnx = mlir::kiln::onnx;

namespace {
struct OutcomeNames {
  Outcome outcome;
  const char *name, *label;
};
constexpr OutcomeNames kOutcomeNames[] = {
    {Outcome::Pass, "pass", "pass"},
    {Outcome::WrongResult, "wrong_result", "wrong result"},
    {Outcome::CompileError, "compile_error", "compile error"},
    {Outcome::UnsupportedOp, "unsupported_op", "unsupported op"},
    {Outcome::RuntimeError, "runtime_error", "runtime error"},
    {Outcome::Crash, "crash", "crash"},
    {Outcome::Timeout, "timeout", "timeout"},
    {Outcome::Excluded, "excluded", "excluded"},
};
} // namespace

StringRef kiln::conformance::outcomeName(Outcome outcome) {
  for (const OutcomeNames &n : kOutcomeNames)
    if (n.outcome == outcome)
      return n.name;
  return "?";
}

StringRef kiln::conformance::outcomeLabel(Outcome outcome) {
  for (const OutcomeNames &n : kOutcomeNames)
    if (n.outcome == outcome)
      return n.label;
  return "?";
}

std::optional<Outcome> kiln::conformance::parseOutcome(StringRef name) {
  for (const OutcomeNames &n : kOutcomeNames)
    if (name == n.name)
      return n.outcome;
  return std::nullopt;
}

nlohmann::ordered_json kiln::conformance::toJson(const CaseResult &r) {
  nlohmann::ordered_json j;
  j["name"] = r.name;
  j["class"] = outcomeName(r.outcome).str();
  j["op"] = r.op;
  j["message"] = r.message;
  j["time_s"] = std::round(r.seconds * 1000) / 1000;
  if (r.compileSeconds > 0)
    j["compile_s"] = std::round(r.compileSeconds * 1000) / 1000;
  if (r.runSeconds > 0)
    j["run_s"] = std::round(r.runSeconds * 1e6) / 1e6;
  if (r.maxAbsError)
    j["max_abs_err"] = *r.maxAbsError;
  if (r.maxRelError)
    j["max_rel_err"] = std::isinf(*r.maxRelError)
                           ? nlohmann::ordered_json("inf")
                           : nlohmann::ordered_json(*r.maxRelError);
  j["ops"] = r.ops;
  if (!r.unsupportedOps.empty())
    j["unsupported_ops"] = r.unsupportedOps;
  if (!r.constantInputs.empty())
    j["constant_inputs"] = r.constantInputs;
  return j;
}

bool kiln::conformance::fromJson(const nlohmann::json &j, CaseResult &r) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() ||
      !j.contains("class") || !j["class"].is_string())
    return false;
  std::optional<Outcome> outcome = parseOutcome(j["class"].get<std::string>());
  if (!outcome)
    return false;
  r.name = j["name"].get<std::string>();
  r.outcome = *outcome;
  auto str = [&](const char *key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                 : std::string();
  };
  auto num = [&](const char *key) -> std::optional<double> {
    if (!j.contains(key))
      return std::nullopt;
    if (j[key].is_number())
      return j[key].get<double>();
    if (j[key].is_string() && j[key].get<std::string>() == "inf")
      return INFINITY;
    return std::nullopt;
  };
  auto strings = [&](const char *key) {
    std::vector<std::string> out;
    if (j.contains(key) && j[key].is_array())
      for (const auto &v : j[key])
        if (v.is_string())
          out.push_back(v.get<std::string>());
    return out;
  };
  r.message = str("message");
  r.op = str("op");
  r.seconds = num("time_s").value_or(0);
  r.compileSeconds = num("compile_s").value_or(0);
  r.runSeconds = num("run_s").value_or(0);
  r.maxAbsError = num("max_abs_err");
  r.maxRelError = num("max_rel_err");
  r.ops = strings("ops");
  r.unsupportedOps = strings("unsupported_ops");
  r.constantInputs = strings("constant_inputs");
  return true;
}

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

const std::vector<std::string> &kiln::conformance::trainingExclusionRules() {
  static const std::vector<std::string> rules = {
      "every op of the ai.onnx.preview.training domain (Adagrad, Adam, "
      "Momentum, Gradient)",
      "every op named *Grad",
      "Dropout with a training_mode input (training-mode Dropout: random "
      "masks)"};
  return rules;
}

std::string kiln::conformance::trainingExclusion(const konnx::ModelInfo &info) {
  for (const konnx::NodeInfo &n : info.nodes) {
    if (n.domain == "ai.onnx.preview.training")
      return "training-only op " + n.domain + "." + n.opType;
    if (StringRef(n.opType).ends_with("Grad"))
      return "training-only op " + n.opType;
    if (n.domain.empty() && n.opType == "Dropout" && n.inputs.size() > 2 &&
        !n.inputs[2].empty())
      return "training-mode Dropout";
  }
  return "";
}

std::vector<std::string>
kiln::conformance::distinctOps(const konnx::ModelInfo &info) {
  std::vector<std::string> ops;
  StringSet<> seen;
  for (const konnx::NodeInfo &n : info.nodes) {
    std::string op = n.domain.empty() ? n.opType : n.domain + "." + n.opType;
    if (seen.insert(op).second)
      ops.push_back(op);
  }
  return ops;
}

bool kiln::conformance::readExpectedList(StringRef path,
                                         std::vector<std::string> &names,
                                         std::string &error) {
  auto buffer = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    error = "cannot read '" + path.str() + "': " + buffer.getError().message();
    return false;
  }
  SmallVector<StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n');
  for (StringRef line : lines) {
    line = line.trim();
    if (!line.empty() && !line.starts_with("#"))
      names.push_back(line.str());
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Reports
//===----------------------------------------------------------------------===//

namespace {
struct Totals {
  size_t excluded = 0, counted = 0;
  /// Passing cases that needed inputs bound as constants.
  size_t passBound = 0;
  std::map<Outcome, size_t> byOutcome;
  /// Unsupported op -> number of cases it blocks, most first.
  std::vector<std::pair<std::string, size_t>> unsupported;
  struct OpRow {
    size_t cases = 0;
    std::map<Outcome, size_t> byOutcome;
  };
  std::map<std::string, OpRow> perOp;

  size_t count(Outcome o) const {
    auto it = byOutcome.find(o);
    return it == byOutcome.end() ? 0 : it->second;
  }
  double passPercent() const {
    return counted ? 100.0 * count(Outcome::Pass) / counted : 0;
  }
};

Totals tally(const std::vector<CaseResult> &results) {
  Totals t;
  StringMap<size_t> unsupported;
  for (const CaseResult &r : results) {
    if (r.outcome == Outcome::Excluded) {
      ++t.excluded;
      continue;
    }
    ++t.counted;
    ++t.byOutcome[r.outcome];
    if (r.outcome == Outcome::Pass && !r.constantInputs.empty())
      ++t.passBound;
    Totals::OpRow &row = t.perOp[r.op.empty() ? "?" : r.op];
    ++row.cases;
    ++row.byOutcome[r.outcome];
    if (r.outcome == Outcome::UnsupportedOp)
      for (const std::string &op : r.unsupportedOps)
        ++unsupported[op];
  }
  for (const auto &e : unsupported)
    t.unsupported.emplace_back(e.getKey().str(), e.getValue());
  llvm::sort(t.unsupported, [](const auto &a, const auto &b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return t;
}
} // namespace

nlohmann::ordered_json
kiln::conformance::makeReport(const RunInfo &info,
                              const std::vector<CaseResult> &results) {
  Totals t = tally(results);
  nlohmann::ordered_json j;
  j["data_dir"] = info.dataDir;
  if (!info.onnxVersion.empty())
    j["onnx_version"] = info.onnxVersion;
  j["jobs"] = info.jobs;
  j["opt_level"] = info.optLevel;
  j["timeout_s"] = info.timeoutSeconds;
  j["bind_constant_inputs"] = info.bindConstantInputs;
  j["wall_s"] = std::round(info.wallSeconds * 10) / 10;
  j["excluded_rules"] = trainingExclusionRules();
  nlohmann::ordered_json totals;
  totals["found"] = info.casesFound;
  totals["run"] = results.size();
  totals["excluded"] = t.excluded;
  totals["counted"] = t.counted;
  totals["pass"] = t.count(Outcome::Pass);
  totals["pass_percent"] = std::round(t.passPercent() * 100) / 100;
  totals["pass_with_constant_inputs"] = t.passBound;
  nlohmann::ordered_json byClass;
  for (Outcome o : kCountedOutcomes)
    byClass[outcomeName(o).str()] = t.count(o);
  totals["by_class"] = byClass;
  j["totals"] = totals;
  nlohmann::ordered_json unsupported = nlohmann::ordered_json::array();
  for (const auto &[op, cases] : t.unsupported)
    unsupported.push_back({{"op", op}, {"cases", cases}});
  j["unsupported_ops"] = unsupported;
  nlohmann::ordered_json perOp = nlohmann::ordered_json::array();
  for (const auto &[op, row] : t.perOp) {
    nlohmann::ordered_json e;
    e["op"] = op;
    e["cases"] = row.cases;
    auto it = row.byOutcome.find(Outcome::Pass);
    e["pass"] = it == row.byOutcome.end() ? 0 : it->second;
    nlohmann::ordered_json fails = nlohmann::ordered_json::object();
    for (const auto &[o, n] : row.byOutcome)
      if (o != Outcome::Pass)
        fails[outcomeName(o).str()] = n;
    e["failures"] = fails;
    perOp.push_back(e);
  }
  j["per_op"] = perOp;
  nlohmann::ordered_json cases = nlohmann::ordered_json::array();
  for (const CaseResult &r : results)
    cases.push_back(toJson(r));
  j["cases"] = cases;
  return j;
}

void kiln::conformance::printSummary(raw_ostream &os, const RunInfo &info,
                                     const std::vector<CaseResult> &results,
                                     bool perOp, size_t topUnsupported) {
  Totals t = tally(results);
  os << "kiln conformance: " << info.dataDir;
  if (!info.onnxVersion.empty())
    os << " (onnx " << info.onnxVersion << ")";
  os << "\n";
  os << format("  cases found      %6zu\n", info.casesFound);
  if (results.size() != info.casesFound)
    os << format("  selected         %6zu\n", results.size());
  os << format("  excluded         %6zu  (training-only)\n", t.excluded);
  os << format("  counted          %6zu\n", t.counted);
  for (Outcome o : kCountedOutcomes) {
    size_t n = t.count(o);
    os << "    " << left_justify(outcomeLabel(o), 14)
       << format("%6zu  %6.2f%%\n", n, t.counted ? 100.0 * n / t.counted : 0);
    if (o == Outcome::Pass && t.passBound)
      os << format("      %zu of them with graph inputs bound as compile-time "
                   "constants\n",
                   t.passBound);
  }
  os << format("  pass rate        %6.2f%%  (%zu of %zu counted cases)\n",
               t.passPercent(), t.count(Outcome::Pass), t.counted);
  os << format("  wall time        %6.1f s  (-j %u, -O%u, timeout %u s%s)\n",
               info.wallSeconds, info.jobs, info.optLevel, info.timeoutSeconds,
               info.bindConstantInputs ? "" : ", no constant binding");
  if (t.excluded) {
    os << "  excluded as training-only:\n";
    for (const std::string &rule : trainingExclusionRules())
      os << "    - " << rule << "\n";
  }
  if (!t.unsupported.empty()) {
    os << "  top unsupported ops (cases blocked):\n";
    for (size_t i = 0; i < t.unsupported.size() && i < topUnsupported; ++i)
      os << "    " << left_justify(t.unsupported[i].first, 34)
         << format("%5zu\n", t.unsupported[i].second);
    if (t.unsupported.size() > topUnsupported)
      os << "    ... and " << t.unsupported.size() - topUnsupported
         << " more\n";
  }
  if (!perOp || t.perOp.empty())
    return;
  os << "  per op (the op a case tests; expanded function cases count for "
        "their op):\n";
  size_t width = 10;
  for (const auto &e : t.perOp)
    width = std::max(width, e.first.size());
  os << "    " << left_justify("op", width) << "   pass/cases  failures\n";
  for (const auto &[op, row] : t.perOp) {
    auto it = row.byOutcome.find(Outcome::Pass);
    size_t pass = it == row.byOutcome.end() ? 0 : it->second;
    os << "    " << left_justify(op, width)
       << format("  %5zu/%-5zu ", pass, row.cases);
    bool first = true;
    for (const auto &[o, n] : row.byOutcome) {
      if (o == Outcome::Pass)
        continue;
      os << (first ? " " : ", ") << outcomeLabel(o) << " " << n;
      first = false;
    }
    os << "\n";
  }
}

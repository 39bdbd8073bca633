//===- EvalCommand.cpp - kiln-costmodel eval ------------------------------===//
//
// Part of kiln. Judges a learned model and the analytic one on the shapes
// held out from training (the same split as train): per kernel kind, the
// median Kendall tau between predicted and measured latencies of a shape's
// candidates, MAPE (models that predict latencies), and the top-1 regret
// (measured latency of the predicted-best candidate / the measured best,
// geometric mean over shapes).
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-costmodel/Commands.h"

#include "costmodel/Training.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace llvm;
using namespace mlir::kiln;

cl::SubCommand kiln::costmodel::evalCommand(
    "eval", "Kendall tau, MAPE and top-1 regret on held-out shapes, for a "
            "learned model and the analytic one");

namespace {
cl::OptionCategory category("kiln-costmodel eval options");
cl::list<std::string> data("data", cl::OneOrMore,
                           cl::desc("Dataset(s) from collect (repeatable)"),
                           cl::sub(kiln::costmodel::evalCommand),
                           cl::cat(category));
cl::opt<std::string> modelPath("model", cl::Required,
                               cl::desc("Learned model (JSON) to judge"),
                               cl::sub(kiln::costmodel::evalCommand),
                               cl::cat(category));
cl::opt<std::string> jsonOut("json", cl::desc("Also write the metrics here"),
                             cl::value_desc("metrics.json"),
                             cl::sub(kiln::costmodel::evalCommand),
                             cl::cat(category));
cl::opt<double> testFraction("test-fraction",
                             cl::desc("Share of shapes held out (as in train)"),
                             cl::init(0.2), cl::sub(kiln::costmodel::evalCommand),
                             cl::cat(category));
cl::opt<unsigned> seed("seed", cl::desc("Seed of the shape split (as in train)"),
                       cl::init(1), cl::sub(kiln::costmodel::evalCommand),
                       cl::cat(category));
cl::opt<bool> all("all-shapes",
                  cl::desc("Judge on every shape, not only the held-out ones "
                           "(for a model trained on other data)"),
                  cl::sub(kiln::costmodel::evalCommand), cl::cat(category));

nlohmann::json nan2null(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}
} // namespace

int kiln::costmodel::evalMain() {
  static const char cmd[] = "eval";
  std::vector<Sample> samples;
  std::string error;
  for (const std::string &path : data)
    if (!loadSamples(path, samples, error))
      return fail(cmd, error);
  std::vector<Sample> train, test;
  if (all)
    test = samples;
  else
    splitByShape(samples, testFraction, seed, train, test);
  if (test.empty())
    return fail(cmd, "no held-out samples (a larger dataset or --all-shapes)");
  std::unique_ptr<CostModel> learned = loadXGBoostModel(modelPath, error);
  if (!learned)
    return fail(cmd, error);
  std::unique_ptr<CostModel> analytic = createAnalyticModel();

  nlohmann::json report = nlohmann::json::object();
  std::map<std::string, Metrics> learnedMetrics;
  outs() << format("%-10s %-18s %6s %8s %8s %8s %8s %8s\n", "model", "kind",
                   "shapes", "samples", "tau", "MAPE", "regret", "margin");
  for (CostModel *model : {learned.get(), analytic.get()}) {
    bool latencies = model->predictsLatency();
    auto predict = [&](const std::vector<Sample> &rows) {
      return predictSamples(*model, rows);
    };
    std::map<std::string, Metrics> metrics =
        evaluate(test, predict, latencies, model->decisionMargin());
    const char *label = model == learned.get() ? "learned" : "analytic";
    if (model == learned.get())
      learnedMetrics = metrics;
    for (auto &[kind, m] : metrics) {
      outs() << format("%-10s %-18s %6d %8d %8.3f %8s %8.3f %8.3f\n", label,
                       kind.c_str(), m.shapes, m.samples, m.kendallTau,
                       std::isnan(m.mape)
                           ? "-"
                           : formatv("{0:F1}%", 100 * m.mape).str().c_str(),
                       m.top1Regret, m.marginRegret);
      report[label][kind] = {{"kendall_tau", m.kendallTau},
                             {"mape", nan2null(m.mape)},
                             {"top1_regret", m.top1Regret},
                             {"decision_margin", model->decisionMargin()},
                             {"margin_regret", nan2null(m.marginRegret)},
                             {"hand_written_regret", nan2null(m.handWrittenRegret)},
                             {"shapes", m.shapes},
                             {"samples", m.samples}};
    }
  }
  // The baseline every model is judged against: the hand-written choice.
  for (auto &[kind, m] : learnedMetrics) {
    outs() << format("%-10s %-18s %6s %8s %8s %8s %8.3f\n", "hand-written",
                     kind.c_str(), "", "", "", "", m.handWrittenRegret);
    report["hand_written"][kind] = {{"top1_regret", nan2null(m.handWrittenRegret)}};
  }
  if (!jsonOut.empty()) {
    std::ofstream file(jsonOut);
    file << report.dump(2) << "\n";
    if (!file)
      return fail(cmd, "cannot write '" + jsonOut + "'");
  }
  return 0;
}

//===- TrainCommand.cpp - kiln-costmodel train ----------------------------===//
//
// Part of kiln. Fits XGBoost twice on the training shapes -- regression on
// log latency and pairwise ranking within a shape -- judges both on the
// held-out shapes (median Kendall tau, then top-1 regret) and saves the
// better one. The saved model has not seen the held-out shapes, so `eval`
// (same split) judges it fairly; --fit-all refits it on every shape, for
// the model that ships.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-costmodel/Commands.h"

#include "costmodel/Training.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <cmath>
#include <fstream>

using namespace llvm;
using namespace mlir::kiln;

cl::SubCommand kiln::costmodel::trainCommand(
    "train", "Fit an XGBoost cost model on a collected dataset");

namespace {
cl::OptionCategory category("kiln-costmodel train options");
cl::list<std::string> data("data", cl::OneOrMore,
                           cl::desc("Dataset(s) from collect (repeatable)"),
                           cl::sub(kiln::costmodel::trainCommand),
                           cl::cat(category));
cl::opt<std::string> out("out", cl::Required, cl::desc("Model file (JSON)"),
                         cl::sub(kiln::costmodel::trainCommand),
                         cl::cat(category));
cl::opt<std::string> objective(
    "objective",
    cl::desc("auto (keep the better on held-out shapes), regression or rank"),
    cl::init("auto"), cl::sub(kiln::costmodel::trainCommand),
    cl::cat(category));
cl::opt<double> decisionMargin(
    "decision-margin",
    cl::desc("Predicted gain a compile needs to leave the hand-written config "
             "(0.1 = 10%; default: the margin with the lowest held-out "
             "regret, for a regression model)"),
    cl::init(-1), cl::sub(kiln::costmodel::trainCommand), cl::cat(category));
cl::opt<double> testFraction("test-fraction",
                             cl::desc("Share of shapes held out (default 0.2)"),
                             cl::init(0.2),
                             cl::sub(kiln::costmodel::trainCommand),
                             cl::cat(category));
cl::opt<unsigned> seed("seed", cl::desc("Seed of the shape split"), cl::init(1),
                       cl::sub(kiln::costmodel::trainCommand),
                       cl::cat(category));
cl::opt<bool> fitAll("fit-all",
                     cl::desc("Refit the chosen objective on every shape "
                              "(the shipped model; eval's held-out numbers "
                              "then no longer apply)"),
                     cl::sub(kiln::costmodel::trainCommand), cl::cat(category));
} // namespace

int kiln::costmodel::trainMain() {
  static const char cmd[] = "train";
  std::vector<Sample> samples;
  std::string error;
  for (const std::string &path : data)
    if (!loadSamples(path, samples, error))
      return fail(cmd, error);
  if (samples.empty())
    return fail(cmd, "the dataset is empty");
  std::vector<Sample> train, test;
  splitByShape(samples, testFraction, seed, train, test);
  outs() << "kiln-costmodel train: " << samples.size() << " samples, "
         << train.size() << " for training, " << test.size()
         << " on held-out shapes\n";

  std::vector<TrainObjective> tried;
  if (objective != "rank")
    tried.push_back(TrainObjective::RegressionLogLatency);
  if (objective != "regression")
    tried.push_back(TrainObjective::PairwiseRank);
  if (objective != "auto" && objective != "rank" && objective != "regression")
    return fail(cmd, "--objective must be auto, regression or rank");

  TrainObjective best = tried.front();
  double bestTau = -2, bestRegret = 1e9;
  std::string bestHeldOut; // `best` fit on the training shapes only
  for (TrainObjective o : tried) {
    const char *name =
        o == TrainObjective::RegressionLogLatency ? "regression" : "rank";
    if (test.empty())
      break;
    std::string json = trainXGBoost(train, o, error);
    if (json.empty())
      return fail(cmd, error);
    std::unique_ptr<CostModel> model = loadXGBoostModel(json, error);
    if (!model)
      return fail(cmd, error);
    auto predict = [&](const std::vector<Sample> &rows) {
      return predictSamples(*model, rows);
    };
    Metrics m = evaluate(test, predict, false)["all"];
    outs() << format("  %-10s held-out: Kendall tau %.3f, top-1 regret %.3f\n",
                     name, m.kendallTau, m.top1Regret);
    if (m.kendallTau > bestTau + 1e-9 ||
        (std::abs(m.kendallTau - bestTau) < 1e-9 && m.top1Regret < bestRegret)) {
      best = o;
      bestTau = m.kendallTau;
      bestRegret = m.top1Regret;
      bestHeldOut = json;
    }
  }
  // The decision margin (CostModel::decisionMargin) with the lowest
  // held-out regret of the choices a compile would make: the hand-written
  // config unless the predicted best beats it by more than the margin.
  double margin = std::max(0.0, decisionMargin.getValue());
  if (decisionMargin < 0 && best == TrainObjective::RegressionLogLatency &&
      !bestHeldOut.empty()) {
    std::unique_ptr<CostModel> model = loadXGBoostModel(bestHeldOut, error);
    if (!model)
      return fail(cmd, error);
    auto predict = [&](const std::vector<Sample> &rows) {
      return predictSamples(*model, rows);
    };
    double bestMarginRegret = 1e9;
    for (double m : {0.0, 0.05, 0.1, 0.15, 0.2, 0.3}) {
      double regret = evaluate(test, predict, true, m)["all"].marginRegret;
      if (std::isnan(regret))
        break; // no shape measured the hand-written config
      outs() << format("  margin %.2f held-out: top-1 regret %.3f\n", m,
                       regret);
      if (regret < bestMarginRegret - 1e-9) {
        bestMarginRegret = regret;
        margin = m;
      }
    }
  }
  const std::vector<Sample> &fit = fitAll || test.empty() ? samples : train;
  std::string json = trainXGBoost(fit, best, error, margin);
  if (json.empty())
    return fail(cmd, error);
  std::ofstream file(out);
  file << json;
  if (!file)
    return fail(cmd, "cannot write '" + out + "'");
  outs() << "kiln-costmodel train: wrote " << out << " ("
         << (best == TrainObjective::RegressionLogLatency ? "regression"
                                                          : "rank")
         << ", fit on " << (&fit == &samples ? "all " : "the training shapes' ")
         << fit.size() << " samples, decision margin " << format("%g", margin) << ")\n";
  return 0;
}

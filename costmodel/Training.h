//===- Training.h - fitting and judging cost models ---------------*- C++ -*-===//
//
// Part of kiln. What `kiln-costmodel train` and `eval` do, as a library.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_TRAINING_H
#define KILN_COSTMODEL_TRAINING_H

#include "costmodel/CostModel.h"
#include "costmodel/Dataset.h"
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace mlir::kiln {

/// Deterministic split by shape: a shape's samples all land on one side.
/// `testFraction` of the shapes (by a hash of the shape key and `seed`)
/// go to `test`.
void splitByShape(const std::vector<Sample> &all, double testFraction,
                  unsigned seed, std::vector<Sample> &train,
                  std::vector<Sample> &test);

enum class TrainObjective { RegressionLogLatency, PairwiseRank };

/// Fits an XGBoost model (C API) and returns its JSON text, or "" and
/// `error`. The model carries attributes that loadXGBoostModel reads:
///   kiln_feature_version  kFeatureVersion as a decimal string;
///   kiln_output           "log_latency_ns" (regression: prediction is
///                         ln(latency in ns)) or "speed_score" (ranking:
///                         higher = faster within a shape);
///   kiln_max_extents      "m,n,k", the largest matmul extents in `train`
///                         (KernelExtents, CostModel::covers);
/// and, when `decisionMargin` > 0, kiln_decision_margin (the model's
/// CostModel::decisionMargin).
std::string trainXGBoost(const std::vector<Sample> &train,
                         TrainObjective objective, std::string &error,
                         double decisionMargin = 0);

/// Quality of a predictor on a set of samples, per kernel kind ("matmul",
/// ...) and overall.
struct Metrics {
  double kendallTau = 0;   // median over shapes of tau(pred, measured)
  double mape = 0;         // mean |pred - measured| / measured (regression only)
  double top1Regret = 1;   // geomean over shapes: measured(pred best) / best
  // The same for the pick under the decision margin (the hand-written
  // config unless the predicted best is more than `margin` faster), and
  // for the hand-written config alone; over shapes that measured it (NaN:
  // none did).
  double marginRegret = NAN, handWrittenRegret = NAN;
  int shapes = 0, samples = 0;
};

/// `predict` returns one score per sample (lower = faster); `margin` is
/// the decision margin of chooseContraction (latency predictions only).
std::map<std::string, Metrics>
evaluate(const std::vector<Sample> &samples,
         const std::function<std::vector<double>(const std::vector<Sample> &)>
             &predict,
         bool scoresAreLatencies, double margin = 0);

/// `model`'s latency prediction (or score) for each sample's kernel.
std::vector<double> predictSamples(const CostModel &model,
                                   const std::vector<Sample> &samples);

/// Kendall's tau-b between two sequences (ties handled).
double kendallTau(const std::vector<double> &a, const std::vector<double> &b);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_TRAINING_H

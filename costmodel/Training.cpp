//===- Training.cpp - fitting and judging cost models ---------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "costmodel/Training.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <xgboost/c_api.h>

using namespace mlir::kiln;

namespace {
/// FNV-1a of the shape key mixed with the seed: a stable split.
uint64_t shapeHash(const std::string &key, unsigned seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : key)
    h = (h ^ c) * 0x100000001b3ull;
  return h;
}

/// Samples grouped by shape, in first-seen order.
std::vector<std::vector<const Sample *>>
groupByShape(const std::vector<Sample> &samples) {
  std::vector<std::vector<const Sample *>> groups;
  std::map<std::string, size_t> index;
  for (const Sample &s : samples) {
    auto [it, added] = index.try_emplace(s.shape, groups.size());
    if (added)
      groups.emplace_back();
    groups[it->second].push_back(&s);
  }
  return groups;
}

double medianOf(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
} // namespace

void mlir::kiln::splitByShape(const std::vector<Sample> &all,
                              double testFraction, unsigned seed,
                              std::vector<Sample> &train,
                              std::vector<Sample> &test) {
  for (const Sample &s : all) {
    double u = double(shapeHash(s.shape, seed) >> 11) / double(1ull << 53);
    (u < testFraction ? test : train).push_back(s);
  }
}

std::string mlir::kiln::trainXGBoost(const std::vector<Sample> &train,
                                     TrainObjective objective,
                                     std::string &error,
                                     double decisionMargin) {
  if (train.empty()) {
    error = "no training samples";
    return "";
  }
  // Rows grouped by shape (ranking needs each query's rows contiguous).
  std::vector<std::vector<const Sample *>> groups = groupByShape(train);
  size_t columns = train.front().features.size();
  std::vector<float> matrix, labels;
  std::vector<unsigned> groupSizes;
  for (const auto &group : groups) {
    // Ranking labels: the speed relative to the shape's best, in 0..31
    // (higher = faster), so pairs are ordered by measured latency.
    double best = 1e300;
    for (const Sample *s : group)
      best = std::min(best, s->latencyNs);
    for (const Sample *s : group) {
      matrix.insert(matrix.end(), s->features.begin(), s->features.end());
      labels.push_back(objective == TrainObjective::RegressionLogLatency
                           ? float(std::log(s->latencyNs))
                           : float(std::round(31.0 * best / s->latencyNs)));
    }
    groupSizes.push_back(unsigned(group.size()));
  }

  DMatrixHandle data = nullptr;
  BoosterHandle booster = nullptr;
  auto fail = [&](const char *what) {
    error = std::string(what) + ": " + XGBGetLastError();
    if (booster)
      XGBoosterFree(booster);
    if (data)
      XGDMatrixFree(data);
    return std::string();
  };
  if (XGDMatrixCreateFromMat(matrix.data(), labels.size(), columns, NAN,
                             &data) != 0 ||
      XGDMatrixSetFloatInfo(data, "label", labels.data(), labels.size()) != 0)
    return fail("cannot build the training matrix");
  if (objective == TrainObjective::PairwiseRank &&
      XGDMatrixSetUIntInfo(data, "group", groupSizes.data(),
                           groupSizes.size()) != 0)
    return fail("cannot set the ranking groups");
  if (XGBoosterCreate(&data, 1, &booster) != 0)
    return fail("cannot create the booster");
  const char *params[][2] = {
      {"objective", objective == TrainObjective::RegressionLogLatency
                        ? "reg:squarederror"
                        : "rank:pairwise"},
      {"max_depth", "8"},
      {"eta", "0.1"},
      {"min_child_weight", "1"},
      {"subsample", "0.9"},
      {"colsample_bytree", "0.9"},
      {"seed", "43"},
      {"nthread", "2"},
  };
  for (auto &p : params)
    if (XGBoosterSetParam(booster, p[0], p[1]) != 0)
      return fail("cannot set a training parameter");
  for (int iter = 0; iter < 300; ++iter)
    if (XGBoosterUpdateOneIter(booster, iter, data) != 0)
      return fail("training failed");
  std::string version = std::to_string(kFeatureVersion);
  XGBoosterSetAttr(booster, "kiln_feature_version", version.c_str());
  XGBoosterSetAttr(booster, "kiln_output",
                   objective == TrainObjective::RegressionLogLatency
                       ? "log_latency_ns"
                       : "speed_score");
  // The extents the model saw bound the kernels it may judge
  // (CostModel::covers).
  KernelExtents seen;
  for (const Sample &s : train)
    seen.include(s.kernel);
  std::string extents = seen.str();
  XGBoosterSetAttr(booster, "kiln_max_extents", extents.c_str());
  std::string margin = std::to_string(decisionMargin);
  if (decisionMargin > 0)
    XGBoosterSetAttr(booster, "kiln_decision_margin", margin.c_str());
  bst_ulong length = 0;
  const char *bytes = nullptr;
  if (XGBoosterSaveModelToBuffer(booster, "{\"format\": \"json\"}", &length,
                                 &bytes) != 0)
    return fail("cannot save the model");
  std::string json(bytes, length);
  XGBoosterFree(booster);
  XGDMatrixFree(data);
  return json;
}

std::vector<double>
mlir::kiln::predictSamples(const CostModel &model,
                           const std::vector<Sample> &samples) {
  std::vector<KernelDesc> kernels;
  for (const Sample &s : samples)
    kernels.push_back(s.kernel);
  std::vector<double> out;
  for (const Estimate &e : model.predictBatch(kernels))
    out.push_back(e.latencyNs);
  return out;
}

double mlir::kiln::kendallTau(const std::vector<double> &a,
                              const std::vector<double> &b) {
  size_t n = std::min(a.size(), b.size());
  double concordant = 0, discordant = 0, tiesA = 0, tiesB = 0;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      double da = a[i] - a[j], db = b[i] - b[j];
      if (da == 0 && db == 0)
        continue;
      if (da == 0)
        ++tiesA;
      else if (db == 0)
        ++tiesB;
      else if ((da > 0) == (db > 0))
        ++concordant;
      else
        ++discordant;
    }
  double denom = std::sqrt((concordant + discordant + tiesA) *
                           (concordant + discordant + tiesB));
  return denom > 0 ? (concordant - discordant) / denom : 0;
}

std::map<std::string, Metrics> mlir::kiln::evaluate(
    const std::vector<Sample> &samples,
    const std::function<std::vector<double>(const std::vector<Sample> &)>
        &predict,
    bool scoresAreLatencies, double margin) {
  struct Accumulator {
    std::vector<double> taus, logRegrets, apes, logMarginRegrets,
        logHandWrittenRegrets;
    int samples = 0;
  };
  std::map<std::string, Accumulator> acc;
  for (const auto &group : groupByShape(samples)) {
    std::vector<Sample> rows;
    for (const Sample *s : group)
      rows.push_back(*s);
    std::vector<double> predicted = predict(rows), measured;
    for (const Sample &s : rows)
      measured.push_back(s.latencyNs);
    size_t bestPredicted = std::min_element(predicted.begin(), predicted.end()) -
                           predicted.begin();
    double best = *std::min_element(measured.begin(), measured.end());
    auto handWritten = std::find_if(rows.begin(), rows.end(),
                                    [](const Sample &s) { return s.heuristic; });
    size_t h = handWritten - rows.begin();
    size_t marginPick =
        handWritten != rows.end() && scoresAreLatencies &&
                !marginBeats(predicted[bestPredicted], predicted[h], margin)
            ? h
            : bestPredicted;
    for (const std::string &key : {rows.front().kind, std::string("all")}) {
      Accumulator &a = acc[key];
      if (rows.size() > 1)
        a.taus.push_back(kendallTau(predicted, measured));
      a.logRegrets.push_back(std::log(measured[bestPredicted] / best));
      if (handWritten != rows.end()) {
        a.logMarginRegrets.push_back(std::log(measured[marginPick] / best));
        a.logHandWrittenRegrets.push_back(std::log(measured[h] / best));
      }
      a.samples += int(rows.size());
      if (scoresAreLatencies)
        for (size_t i = 0; i < rows.size(); ++i)
          a.apes.push_back(std::fabs(predicted[i] - measured[i]) / measured[i]);
    }
  }
  std::map<std::string, Metrics> out;
  for (auto &[key, a] : acc) {
    Metrics m;
    m.kendallTau = medianOf(a.taus);
    auto geomean = [](const std::vector<double> &logs) {
      return logs.empty() ? NAN
                          : std::exp(std::accumulate(logs.begin(), logs.end(),
                                                     0.0) /
                                     double(logs.size()));
    };
    m.top1Regret = geomean(a.logRegrets);
    m.marginRegret = geomean(a.logMarginRegrets);
    m.handWrittenRegret = geomean(a.logHandWrittenRegrets);
    m.mape = a.apes.empty() ? NAN
                            : std::accumulate(a.apes.begin(), a.apes.end(), 0.0) /
                                  double(a.apes.size());
    m.shapes = int(a.logRegrets.size());
    m.samples = a.samples;
    out[key] = m;
  }
  return out;
}

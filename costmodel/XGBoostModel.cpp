//===- XGBoostModel.cpp - a cost model trained on measured kernels --------===//
//
// Part of kiln. Loads a model saved by `kiln-costmodel train` (XGBoost JSON)
// through the XGBoost C API and predicts from kernelFeatures().
//
//===----------------------------------------------------------------------===//

#include "costmodel/CostModel.h"

#include <cmath>
#include <cstdlib>
#include <xgboost/c_api.h>

using namespace mlir::kiln;

namespace {
class XGBoostModel : public CostModel {
public:
  ~XGBoostModel() override {
    if (booster)
      XGBoosterFree(booster);
  }

  bool load(const std::string &pathOrJson, std::string &error) {
    if (XGBoosterCreate(nullptr, 0, &booster) != 0)
      return fail("cannot create a booster", error);
    XGBoosterSetParam(booster, "nthread", "1");
    bool text = !pathOrJson.empty() && pathOrJson.front() == '{';
    int rc = text ? XGBoosterLoadModelFromBuffer(booster, pathOrJson.data(),
                                                 pathOrJson.size())
                  : XGBoosterLoadModel(booster, pathOrJson.c_str());
    source = text ? "built-in" : pathOrJson;
    if (rc != 0)
      return fail("cannot load the cost model '" + source + "'", error);
    std::string version = attribute("kiln_feature_version");
    if (version != std::to_string(kFeatureVersion)) {
      error = "cost model '" + source + "' was trained on feature version " +
              (version.empty() ? "?" : version) + ", this kiln computes " +
              std::to_string(kFeatureVersion) + "; retrain it";
      return false;
    }
    std::string margin = attribute("kiln_decision_margin");
    decisionMarginValue = margin.empty() ? 0 : std::atof(margin.c_str());
    // Models from before the attribute saw what collect draws.
    std::string extents = attribute("kiln_max_extents");
    if (!extents.empty() && !seen.parse(extents)) {
      error = "cost model '" + source + "' has a malformed kiln_max_extents '" +
              extents + "'";
      return false;
    }
    output = attribute("kiln_output");
    if (output != "log_latency_ns" && output != "speed_score") {
      error = "cost model '" + source + "' has no kiln_output attribute";
      return false;
    }
    return true;
  }

  std::string name() const override { return "learned (" + source + ")"; }
  bool predictsLatency() const override { return output == "log_latency_ns"; }
  double decisionMargin() const override { return decisionMarginValue; }
  bool covers(const KernelDesc &kernel) const override {
    return seen.contains(kernel);
  }
  std::string coverage() const override {
    return "m, n, k up to " + seen.str();
  }

  Estimate predict(const KernelDesc &kernel) const override {
    return predictBatch({kernel}).front();
  }

  std::vector<Estimate>
  predictBatch(const std::vector<KernelDesc> &kernels) const override {
    std::vector<Estimate> out(kernels.size());
    if (kernels.empty())
      return out;
    size_t columns = kernelFeatureNames().size();
    std::vector<float> matrix;
    matrix.reserve(kernels.size() * columns);
    for (const KernelDesc &k : kernels) {
      std::vector<float> f = kernelFeatures(k);
      matrix.insert(matrix.end(), f.begin(), f.end());
    }
    DMatrixHandle data = nullptr;
    bst_ulong length = 0;
    const float *scores = nullptr;
    if (XGDMatrixCreateFromMat(matrix.data(), kernels.size(), columns, NAN,
                               &data) != 0 ||
        XGBoosterPredict(booster, data, 0, 0, 0, &length, &scores) != 0 ||
        length != kernels.size()) {
      // Predicting from a loaded model does not fail in practice; if it
      // does, every candidate scores the same and the first one wins.
      if (data)
        XGDMatrixFree(data);
      return out;
    }
    for (size_t i = 0; i < kernels.size(); ++i)
      out[i].latencyNs = output == "log_latency_ns" ? std::exp(scores[i])
                                                    : -double(scores[i]);
    XGDMatrixFree(data);
    return out;
  }

private:
  bool fail(const std::string &what, std::string &error) {
    error = what + ": " + XGBGetLastError();
    return false;
  }
  std::string attribute(const char *key) const {
    const char *value = nullptr;
    int found = 0;
    if (XGBoosterGetAttr(booster, key, &value, &found) != 0 || !found)
      return "";
    return value;
  }

  BoosterHandle booster = nullptr;
  std::string source, output;
  double decisionMarginValue = 0;
  KernelExtents seen = kCollectedMaxExtents;
};
} // namespace

std::unique_ptr<CostModel>
mlir::kiln::loadXGBoostModel(const std::string &pathOrJson,
                             std::string &error) {
  auto model = std::make_unique<XGBoostModel>();
  if (!model->load(pathOrJson, error))
    return nullptr;
  return model;
}

//===- costmodel_test.cpp - features, metrics, XGBoost round trip ---------===//
#include "costmodel/ConvAlgorithmCost.h"
#include "costmodel/CostModel.h"
#include "costmodel/Training.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <unistd.h>

using namespace mlir::kiln;

namespace {
KernelDesc kernel(int64_t m, int64_t n, int64_t k, int64_t mr, int64_t nr,
                  int64_t kc) {
  KernelDesc d;
  d.m = m, d.n = n, d.k = k, d.mr = mr, d.nr = nr, d.kc = kc;
  d.vectorBits = 512, d.vectorRegisters = 32;
  return d;
}
} // namespace

TEST(KernelFeatures, OneValuePerNameAndDeterministic) {
  KernelDesc d = kernel(128, 768, 768, 10, 32, 384);
  std::vector<float> f = kernelFeatures(d);
  EXPECT_EQ(f.size(), kernelFeatureNames().size());
  EXPECT_EQ(f, kernelFeatures(d));
  for (float v : f)
    EXPECT_TRUE(std::isfinite(v));
  // The configuration shows in the features, not in the shape key.
  KernelDesc other = kernel(128, 768, 768, 4, 64, 128);
  EXPECT_NE(f, kernelFeatures(other));
  EXPECT_EQ(d.shapeKey(), other.shapeKey());
  EXPECT_EQ(d.shapeKey(), "matmul b1 m128 n768 k768 v512 t1");
}

TEST(Metrics, KendallTau) {
  EXPECT_DOUBLE_EQ(kendallTau({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(kendallTau({1, 2, 3, 4}, {40, 30, 20, 10}), -1.0);
  // One discordant pair of six: (6 - 2 * 1) / 6.
  EXPECT_NEAR(kendallTau({1, 2, 3, 4}, {1, 3, 2, 4}), 4.0 / 6.0, 1e-12);
}

TEST(Metrics, RegretAndSplit) {
  // Two shapes; the predictor picks the second-best of shape A (1.5x the
  // best) and the best of shape B: geometric mean regret sqrt(1.5).
  std::vector<Sample> samples;
  auto add = [&](const char *shape, double latency, double predicted) {
    Sample s;
    s.kind = "matmul";
    s.shape = shape;
    s.latencyNs = latency;
    s.kernel.kc = int64_t(predicted); // carries the prediction below
    samples.push_back(s);
  };
  add("A", 100, 3), add("A", 150, 1), add("A", 200, 2);
  add("B", 50, 1), add("B", 70, 2);
  auto predict = [](const std::vector<Sample> &rows) {
    std::vector<double> p;
    for (const Sample &s : rows)
      p.push_back(double(s.kernel.kc));
    return p;
  };
  Metrics m = evaluate(samples, predict, true)["all"];
  EXPECT_EQ(m.shapes, 2);
  EXPECT_NEAR(m.top1Regret, std::sqrt(1.5), 1e-9);

  std::vector<Sample> train, test;
  splitByShape(samples, 0.5, 7, train, test);
  EXPECT_EQ(train.size() + test.size(), samples.size());
  for (const Sample &t : test)
    for (const Sample &r : train)
      EXPECT_NE(t.shape, r.shape); // never split a shape
}

TEST(Metrics, DecisionMarginKeepsTheHandWrittenPick) {
  // One shape: the hand-written config runs in 100 ns (predicted 3), the
  // predicted best (1) in 150. A margin the prediction clears (100%: 1 * 2
  // < 3) takes the predicted best; one it does not (250%) keeps the
  // hand-written config.
  std::vector<Sample> samples;
  auto add = [&](double latency, double predicted, bool handWritten) {
    Sample s;
    s.kind = "matmul";
    s.shape = "A";
    s.latencyNs = latency;
    s.heuristic = handWritten;
    s.kernel.kc = int64_t(predicted);
    samples.push_back(s);
  };
  add(100, 3, true), add(150, 1, false), add(400, 5, false);
  auto predict = [](const std::vector<Sample> &rows) {
    std::vector<double> p;
    for (const Sample &s : rows)
      p.push_back(double(s.kernel.kc));
    return p;
  };
  Metrics taken = evaluate(samples, predict, true, 1.0)["all"];
  EXPECT_NEAR(taken.top1Regret, 1.5, 1e-9);
  EXPECT_NEAR(taken.marginRegret, 1.5, 1e-9);
  EXPECT_NEAR(taken.handWrittenRegret, 1.0, 1e-9);
  Metrics kept = evaluate(samples, predict, true, 2.5)["all"];
  EXPECT_NEAR(kept.top1Regret, 1.5, 1e-9);
  EXPECT_NEAR(kept.marginRegret, 1.0, 1e-9);
  // Ranking scores are not latencies: no margin applies.
  EXPECT_NEAR(evaluate(samples, predict, false, 2.5)["all"].marginRegret, 1.5,
              1e-9);
  EXPECT_TRUE(marginBeats(1, 3, 1.0));
  EXPECT_FALSE(marginBeats(1, 3, 2.5));
}

// Latency = flops / (rate that grows with mr, saturating at 8): a model
// must rank a shape's configurations by mr.
static std::vector<Sample> syntheticSamples() {
  std::mt19937 rng(3);
  std::vector<Sample> samples;
  for (int shape = 0; shape < 30; ++shape) {
    int64_t m = 16 + rng() % 200, n = 64 + rng() % 512, k = 64 + rng() % 512;
    for (int64_t mr : {1, 2, 4, 6, 8}) {
      Sample s;
      s.kind = "matmul";
      s.kernel = kernel(m, n, k, mr, 32, 256);
      s.shape = s.kernel.shapeKey();
      s.features = kernelFeatures(s.kernel);
      s.latencyNs = 2.0 * m * n * k / (8.0 * std::min<int64_t>(mr, 8));
      samples.push_back(s);
    }
  }
  return samples;
}

TEST(XGBoost, LearnsASyntheticCostAndRoundTrips) {
  std::vector<Sample> samples = syntheticSamples();
  for (TrainObjective o :
       {TrainObjective::RegressionLogLatency, TrainObjective::PairwiseRank}) {
    std::string error;
    std::string json = trainXGBoost(samples, o, error);
    ASSERT_FALSE(json.empty()) << error;
    std::unique_ptr<CostModel> model = loadXGBoostModel(json, error);
    ASSERT_TRUE(model) << error;
    EXPECT_EQ(model->decisionMargin(), 0);
    Metrics m = evaluate(
        samples,
        [&](const std::vector<Sample> &rows) {
          return predictSamples(*model, rows);
        },
        o == TrainObjective::RegressionLogLatency)["all"];
    EXPECT_GT(m.kendallTau, 0.9);
    EXPECT_LT(m.top1Regret, 1.05);
  }
  // The decision margin travels in the model file.
  std::string error;
  std::string json =
      trainXGBoost(samples, TrainObjective::RegressionLogLatency, error, 0.15);
  std::unique_ptr<CostModel> model = loadXGBoostModel(json, error);
  ASSERT_TRUE(model) << error;
  EXPECT_NEAR(model->decisionMargin(), 0.15, 1e-9);
  // It covers the extents it was trained on (m < 216, n and k < 576 here),
  // not beyond: trees do not extrapolate.
  KernelExtents seen;
  for (const Sample &s : samples)
    seen.include(s.kernel);
  KernelDesc largest = kernel(seen.m, seen.n, seen.k, 6, 32, 256);
  EXPECT_TRUE(model->covers(largest));
  EXPECT_EQ(model->coverage(), "m, n, k up to " + seen.str());
  for (int64_t KernelDesc::*extent :
       {&KernelDesc::m, &KernelDesc::n, &KernelDesc::k}) {
    KernelDesc beyond = largest;
    beyond.*extent += 1;
    EXPECT_FALSE(model->covers(beyond));
  }
  // A conv's extents are image sizes: not judged by the box.
  KernelDesc conv = largest;
  conv.kind = KernelKind::Conv, conv.n = 12544;
  EXPECT_TRUE(model->covers(conv));
  // The roofline judges any kernel.
  KernelDesc huge = kernel(128, 50257, 768, 6, 16, 512);
  EXPECT_TRUE(createAnalyticModel()->covers(huge));
  // A damaged box is refused, not read as some other box.
  std::string key = "\"kiln_max_extents\":\"";
  size_t at = json.find(key);
  ASSERT_NE(at, std::string::npos);
  json.replace(at + key.size(), seen.str().size(), "1,x");
  EXPECT_FALSE(loadXGBoostModel(json, error));
  EXPECT_NE(error.find("malformed kiln_max_extents '1,x'"), std::string::npos)
      << error;
}

TEST(XGBoost, ShippedModelsCoverWhatCollectDraws) {
  // Trained before the attribute: the box of what collect draws. It holds
  // a 4096-wide MLP layer (its extents were all seen, if not together),
  // not GPT-2's 50257-wide logits.
  for (unsigned bits : {256u, 512u}) {
    std::string error;
    std::shared_ptr<const CostModel> model =
        createCostModel("learned", bits, error);
    ASSERT_TRUE(model) << error;
    EXPECT_TRUE(model->covers(kernel(64, 4096, 4096, 6, 16, 512)));
    EXPECT_TRUE(model->covers(kernel(4096, 4096, 4608, 6, 16, 512)));
    EXPECT_FALSE(model->covers(kernel(128, 50257, 768, 6, 16, 512)));
    EXPECT_FALSE(model->covers(kernel(1, 768, 8192, 1, 16, 512)));
  }
}

TEST(CostModels, LoadsEachLearnedModelOnce) {
  std::string error;
  std::shared_ptr<const CostModel> shipped =
      createCostModel("learned", 512, error);
  ASSERT_TRUE(shipped) << error;
  EXPECT_EQ(createCostModel("learned", 512, error), shipped);
  EXPECT_NE(createCostModel("learned", 256, error), shipped);
  // A file is loaded again once its contents change.
  std::string path = testing::TempDir() + "kiln_costmodel_once_" +
                     std::to_string(::getpid()) + ".json";
  auto write = [&](double margin) {
    std::string json =
        trainXGBoost(syntheticSamples(), TrainObjective::RegressionLogLatency,
                     error, margin);
    ASSERT_FALSE(json.empty()) << error;
    std::ofstream(path) << json;
  };
  write(0.15);
  std::shared_ptr<const CostModel> first = createCostModel(path, 512, error);
  ASSERT_TRUE(first) << error;
  EXPECT_EQ(createCostModel(path, 512, error), first);
  write(0.5);
  std::shared_ptr<const CostModel> second = createCostModel(path, 512, error);
  ASSERT_TRUE(second) << error;
  EXPECT_NE(second, first);
  EXPECT_NEAR(second->decisionMargin(), 0.5, 1e-9);
  std::remove(path.c_str());
}

TEST(KernelExtents, ParsesWhatItPrints) {
  KernelExtents e;
  ASSERT_TRUE(e.parse(kCollectedMaxExtents.str()));
  EXPECT_EQ(e.str(), "4096,4096,4608");
  for (const char *bad : {"", "1,2", "1,2,3,4", "1,2,x", "0,2,3", "1,2,3 "})
    EXPECT_FALSE(e.parse(bad)) << bad;
  EXPECT_EQ(e.str(), "4096,4096,4608");
}

TEST(XGBoost, RefusesAnotherFeatureVersionAndGarbage) {
  std::string error;
  EXPECT_FALSE(loadXGBoostModel("/nonexistent/model.json", error));
  EXPECT_NE(error.find("cannot load"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(loadXGBoostModel("{\"not\": \"a model\"}", error));
  EXPECT_FALSE(error.empty());
}

TEST(CostModels, AnalyticPrefersFullRegisterTiles) {
  std::unique_ptr<CostModel> analytic = createAnalyticModel();
  double small = analytic->predict(kernel(512, 512, 512, 1, 16, 256)).latencyNs;
  double big = analytic->predict(kernel(512, 512, 512, 10, 32, 256)).latencyNs;
  EXPECT_LT(big, small);
  EXPECT_GT(analytic->predict(kernel(512, 512, 512, 10, 32, 256)).energyNj, 0);
  std::string error;
  EXPECT_FALSE(createCostModel("/nonexistent.json", 512, error));
  EXPECT_TRUE(createCostModel("analytic", 512, error));
  EXPECT_TRUE(createCostModel("stub", 512, error));
}

// The direct kernel's estimate is its multiply-adds at the FMA peak (9 per
// output, filter and channel); Winograd F(m)'s GEMM does (m + 2)^2 per
// m x m tile and adds U's stream and the transforms' traffic, so it pays
// where tiles are many per transformed weight (large maps) and loses where
// they are few (ResNet-50's measured order: F(4x4) < F(2x2) < direct at
// 56x56, direct < F(2x2) < F(4x4) at 7x7).
TEST(ConvAlgorithmCost, OrdersResNetShapesAsMeasured) {
  CpuThroughput cpu = CpuThroughput::forVector(512, 2 << 20);
  auto order = [&](int64_t channels, int64_t side, bool bf16 = false) {
    Conv3x3Shape s{1, channels, channels, side, side, bf16};
    std::vector<ConvAlgorithmEstimate> e = estimateConvAlgorithms(s, cpu);
    EXPECT_EQ(e.size(), 3u);
    EXPECT_EQ(e[0].winogradTile, 0);
    EXPECT_DOUBLE_EQ(e[0].cycles, double(channels) * channels * 9 * side *
                                      side / cpu.fmaLanes);
    std::vector<int64_t> tiles;
    std::vector<ConvAlgorithmEstimate> sorted = e;
    std::stable_sort(
        sorted.begin(), sorted.end(),
        [](const auto &a, const auto &b) { return a.cycles < b.cycles; });
    for (const ConvAlgorithmEstimate &x : sorted)
      tiles.push_back(x.winogradTile);
    EXPECT_EQ(fastestConvAlgorithm(e).winogradTile, tiles.front());
    return tiles;
  };
  EXPECT_EQ(order(64, 56), (std::vector<int64_t>{4, 2, 0}));
  EXPECT_EQ(order(128, 28), (std::vector<int64_t>{4, 2, 0}));
  EXPECT_EQ(order(256, 14), (std::vector<int64_t>{2, 0, 4}));
  EXPECT_EQ(order(512, 7), (std::vector<int64_t>{0, 2, 4}));
  // AVX2 (Zen 3's measured order): Winograd wins down to 7x7, where
  // F(2x2)'s GEMM hides U's stream and F(4x4)'s 36 points per tile lose.
  cpu = CpuThroughput::forVector(256, 1 << 20);
  EXPECT_EQ(order(64, 56), (std::vector<int64_t>{4, 2, 0}));
  EXPECT_EQ(order(128, 28), (std::vector<int64_t>{4, 2, 0}));
  EXPECT_EQ(order(256, 14), (std::vector<int64_t>{4, 2, 0}));
  EXPECT_EQ(order(512, 7), (std::vector<int64_t>{2, 0, 4}));
  cpu = CpuThroughput::forVector(512, 2 << 20);
  // bf16 halves the direct kernel's cycles (vdpbf16ps).
  Conv3x3Shape f32{1, 64, 64, 56, 56}, bf16{1, 64, 64, 56, 56, true};
  EXPECT_DOUBLE_EQ(estimateConvAlgorithms(bf16, cpu)[0].cycles * 2,
                   estimateConvAlgorithms(f32, cpu)[0].cycles);
  EXPECT_EQ(describeConvAlgorithms({{0, 3e6}, {4, 1e6}, {2, 2e6}}),
            "F(4x4) 1 Mcycles, F(2x2) 2 Mcycles, direct 3 Mcycles");
}

TEST(CostModels, LoopRooflineIsMemoryOrComputeBound) {
  MachinePeaks peaks; // 96 lane-ops/ns at 512 bits, 96 B/ns L2, 15 B/ns DRAM
  LoopWork loop;
  loop.vectorBits = 512;
  loop.iterations = 1 << 20;
  loop.vectorOps = 1;
  loop.bytes = 12.0 * (1 << 20); // two f32 reads and a write per point
  loop.l2Bytes = 1 << 20;
  // 12 MiB from DRAM dominate 1 Mi simple ops.
  EXPECT_DOUBLE_EQ(rooflineLoop(loop, peaks).latencyNs,
                   loop.bytes / peaks.memoryBytesPerNs + peaks.loopOverheadNs);
  // Within L2 the same bytes stream faster.
  loop.l2Bytes = 64 << 20;
  EXPECT_DOUBLE_EQ(rooflineLoop(loop, peaks).latencyNs,
                   loop.bytes / peaks.l2BytesPerNs + peaks.loopOverheadNs);
  // A square root per point makes it compute-bound: 12 ops per point.
  loop.vectorOps = vectorOpWeight(ScalarOpKind::SquareRoot);
  EXPECT_DOUBLE_EQ(rooflineLoop(loop, peaks).latencyNs,
                   loop.iterations * 12 / peaks.flopsPerNs +
                       peaks.loopOverheadNs);
  // Half the vector width, half the rate.
  loop.vectorBits = 256;
  EXPECT_DOUBLE_EQ(rooflineLoop(loop, peaks).latencyNs,
                   loop.iterations * 24 / peaks.flopsPerNs +
                       peaks.loopOverheadNs);
  EXPECT_LT(vectorOpWeight(ScalarOpKind::Simple),
            vectorOpWeight(ScalarOpKind::Divide));
  EXPECT_LT(vectorOpWeight(ScalarOpKind::Divide),
            vectorOpWeight(ScalarOpKind::SquareRoot));
  EXPECT_LT(vectorOpWeight(ScalarOpKind::SquareRoot),
            vectorOpWeight(ScalarOpKind::Transcendental));
  // Every model prices loops; the analytic one at its own peaks.
  MachinePeaks slow = peaks;
  slow.memoryBytesPerNs = 1;
  loop.vectorOps = 1;
  loop.l2Bytes = 1 << 20;
  EXPECT_GT(createAnalyticModel(slow)->predictLoop(loop).latencyNs,
            createAnalyticModel(peaks)->predictLoop(loop).latencyNs);
  EXPECT_DOUBLE_EQ(createStubModel()->predictLoop(loop).latencyNs,
                   rooflineLoop(loop, peaks).latencyNs);
}

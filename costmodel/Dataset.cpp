//===- Dataset.cpp - measured kernels, as kiln-costmodel stores them ------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "costmodel/Dataset.h"

#include <fstream>
#include <stdexcept>
#include <nlohmann/json.hpp>

using namespace mlir::kiln;

namespace {
const KernelKind kKinds[] = {KernelKind::MatMul, KernelKind::MatMulRuntimeB,
                             KernelKind::BatchMatMul, KernelKind::Conv};

nlohmann::json kernelToJson(const KernelDesc &d) {
  return {{"kind", kernelKindName(d.kind)},
          {"batch", d.batch}, {"m", d.m}, {"n", d.n}, {"k", d.k},
          {"mr", d.mr}, {"nr", d.nr}, {"kc", d.kc},
          {"vector_bits", d.vectorBits}, {"vector_registers", d.vectorRegisters},
          {"l1_bytes", d.l1Bytes}, {"l2_bytes", d.l2Bytes},
          {"threads", d.threads}, {"fused_ops", d.fusedOps},
          {"element_bits", d.elementBits}};
}

KernelDesc kernelFromJson(const nlohmann::json &j) {
  KernelDesc d;
  std::string kind = j.at("kind").get<std::string>();
  bool known = false;
  for (KernelKind k : kKinds)
    if (kind == kernelKindName(k)) {
      d.kind = k;
      known = true;
    }
  if (!known)
    throw std::runtime_error("unknown kernel kind '" + kind + "'");
  d.batch = j.at("batch");
  d.m = j.at("m");
  d.n = j.at("n");
  d.k = j.at("k");
  d.mr = j.at("mr");
  d.nr = j.at("nr");
  d.kc = j.at("kc");
  d.vectorBits = j.at("vector_bits");
  d.vectorRegisters = j.at("vector_registers");
  d.l1Bytes = j.at("l1_bytes");
  d.l2Bytes = j.at("l2_bytes");
  d.threads = j.at("threads");
  d.fusedOps = j.at("fused_ops");
  d.elementBits = j.at("element_bits");
  return d;
}
} // namespace

std::string mlir::kiln::sampleToJson(const Sample &s) {
  nlohmann::json j = {{"version", kFeatureVersion},
                      {"kernel", kernelToJson(s.kernel)},
                      {"kind", s.kind},
                      {"target", s.target},
                      {"shape", s.shape},
                      {"config", {{"mr", s.mr}, {"nr", s.nr}, {"kc", s.kc}}},
                      {"features", s.features},
                      {"latency_ns", s.latencyNs},
                      {"runs", s.runs},
                      {"heuristic", s.heuristic}};
  return j.dump();
}

bool mlir::kiln::loadSamples(const std::string &path, std::vector<Sample> &out,
                             std::string &error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::string line;
  size_t columns = kernelFeatureNames().size();
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty())
      continue;
    auto where = [&] { return path + ":" + std::to_string(number) + ": "; };
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      error = where() + "not a JSON object";
      return false;
    }
    try {
      if (j.at("version").get<int>() != kFeatureVersion) {
        error = where() + "feature version " +
                std::to_string(j.at("version").get<int>()) + ", expected " +
                std::to_string(kFeatureVersion);
        return false;
      }
      Sample s;
      s.kind = j.at("kind").get<std::string>();
      s.target = j.at("target").get<std::string>();
      s.shape = j.at("shape").get<std::string>();
      s.mr = j.at("config").at("mr").get<int64_t>();
      s.nr = j.at("config").at("nr").get<int64_t>();
      s.kc = j.at("config").at("kc").get<int64_t>();
      s.kernel = kernelFromJson(j.at("kernel"));
      s.features = j.at("features").get<std::vector<float>>();
      s.latencyNs = j.at("latency_ns").get<double>();
      s.runs = j.value("runs", 0);
      s.heuristic = j.value("heuristic", false);
      if (s.features.size() != columns || !(s.latencyNs > 0)) {
        error = where() + "expected " + std::to_string(columns) +
                " features and a positive latency";
        return false;
      }
      out.push_back(std::move(s));
    } catch (const std::exception &e) {
      error = where() + e.what();
      return false;
    }
  }
  return true;
}

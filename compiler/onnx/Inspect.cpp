//===- Inspect.cpp - ONNX model summary for `kiln inspect` ----------------===//
//
// Part of kiln. Summarizes an ONNX model without importing it: opsets, op
// types with counts, parameters, inputs/outputs (symbolic dims by name) and
// the op types the importer cannot handle. Text or JSON.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"
#include "compiler/onnx/TensorFile.h"

#include "onnx.pb.h"

#include "llvm/Support/Format.h"

#include <nlohmann/json.hpp>

using namespace mlir;
using namespace mlir::kiln::onnx;

namespace {

/// Insertion-ordered string -> int64 map.
class OrderedCounts {
public:
  int64_t &operator[](const std::string &key) {
    auto [it, inserted] = index.try_emplace(key, entries.size());
    if (inserted)
      entries.emplace_back(key, 0);
    return entries[it->second].second;
  }
  bool empty() const { return entries.empty(); }
  auto begin() const { return entries.begin(); }
  auto end() const { return entries.end(); }

private:
  llvm::StringMap<size_t> index;
  std::vector<std::pair<std::string, int64_t>> entries;
};

struct TensorSummary {
  std::string name;
  std::string dtype;
  /// One entry per dim: a number, a dim_param, or "?" when unknown.
  std::vector<std::string> dims;
  std::vector<bool> isStatic;
  bool hasShape = false;
};

TensorSummary summarize(const ::onnx::ValueInfoProto &v) {
  TensorSummary s;
  s.name = v.name();
  if (!v.type().has_tensor_type()) {
    s.dtype = "non-tensor";
    return s;
  }
  const auto &tt = v.type().tensor_type();
  s.dtype = dataTypeName(tt.elem_type());
  s.hasShape = tt.has_shape();
  for (const auto &d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      s.dims.push_back(std::to_string(d.dim_value()));
      s.isStatic.push_back(true);
    } else {
      s.dims.push_back(d.dim_param().empty() ? "?" : d.dim_param());
      s.isStatic.push_back(false);
    }
  }
  return s;
}

std::string shapeString(const TensorSummary &s) {
  if (!s.hasShape)
    return "[unknown rank]";
  std::string out = "[";
  for (size_t i = 0; i < s.dims.size(); ++i)
    out += (i ? ", " : "") + s.dims[i];
  return out + "]";
}

nlohmann::ordered_json toJson(const TensorSummary &s) {
  nlohmann::ordered_json j;
  j["name"] = s.name;
  j["dtype"] = s.dtype;
  if (s.hasShape) {
    nlohmann::ordered_json dims = nlohmann::ordered_json::array();
    for (size_t i = 0; i < s.dims.size(); ++i) {
      if (s.isStatic[i])
        dims.push_back(std::stoll(s.dims[i]));
      else
        dims.push_back(s.dims[i]);
    }
    j["shape"] = dims;
  } else {
    j["shape"] = nullptr;
  }
  return j;
}

std::string humanBytes(uint64_t bytes) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (bytes >= (uint64_t(1) << 30))
    os << llvm::format("%.2f GiB", bytes / double(uint64_t(1) << 30));
  else if (bytes >= (uint64_t(1) << 20))
    os << llvm::format("%.2f MiB", bytes / double(uint64_t(1) << 20));
  else if (bytes >= 1024)
    os << llvm::format("%.2f KiB", bytes / 1024.0);
  else
    os << bytes << " B";
  return s;
}

} // namespace

LogicalResult mlir::kiln::onnx::inspectOnnxFile(MLIRContext &ctx,
                                                StringRef path,
                                                llvm::raw_ostream &os,
                                                bool json) {
  Location loc = UnknownLoc::get(&ctx);
  ::onnx::ModelProto model;
  if (failed(loadModelProto(ctx, path, loc, model)))
    return failure();
  const auto &graph = model.graph();

  // Opsets.
  OrderedCounts opsets;
  for (const auto &op : model.opset_import())
    opsets[op.domain().empty() ? "ai.onnx" : op.domain()] = op.version();
  int64_t opset = getDefaultOpset(model);

  // Op types with counts (in first-appearance order).
  OrderedCounts ops;
  for (const auto &n : graph.node()) {
    bool defaultDomain = n.domain().empty() || n.domain() == "ai.onnx";
    std::string key =
        defaultDomain ? n.op_type() : n.domain() + "." + n.op_type();
    ++ops[key];
  }
  // Every op type the importer lacks, in subgraphs too, each with its node
  // count and first node: all of them at once, not just the first.
  std::vector<UnsupportedOp> unsupported =
      findUnsupportedOps(getModelInfo(model));
  int64_t unsupportedNodes = 0;
  for (const UnsupportedOp &u : unsupported)
    unsupportedNodes += u.count;

  // Parameters.
  llvm::StringSet<> initNames;
  uint64_t params = 0, paramBytes = 0;
  int64_t externalCount = 0;
  for (const auto &t : graph.initializer()) {
    initNames.insert(t.name());
    SmallVector<int64_t> dims(t.dims().begin(), t.dims().end());
    int64_t n = checkedNumElements(dims).value_or(0);
    params += n;
    paramBytes += n * elementByteSize(t.data_type());
    if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
      ++externalCount;
  }

  std::vector<TensorSummary> inputs, outputs;
  for (const auto &in : graph.input())
    if (!initNames.contains(in.name()))
      inputs.push_back(summarize(in));
  for (const auto &out : graph.output())
    outputs.push_back(summarize(out));

  if (json) {
    nlohmann::ordered_json j;
    j["path"] = path.str();
    j["ir_version"] = model.ir_version();
    j["producer"] = {{"name", model.producer_name()},
                     {"version", model.producer_version()}};
    j["graph"] = graph.name();
    nlohmann::ordered_json jo = nlohmann::ordered_json::object();
    for (const auto &[domain, version] : opsets)
      jo[domain] = version;
    j["opsets"] = jo;
    j["opset"] = opset;
    nlohmann::ordered_json ji = nlohmann::ordered_json::array();
    for (const auto &s : inputs)
      ji.push_back(toJson(s));
    j["inputs"] = ji;
    nlohmann::ordered_json jout = nlohmann::ordered_json::array();
    for (const auto &s : outputs)
      jout.push_back(toJson(s));
    j["outputs"] = jout;
    j["initializers"] = graph.initializer_size();
    j["external_initializers"] = externalCount;
    j["parameters"] = params;
    j["parameter_bytes"] = paramBytes;
    j["nodes"] = graph.node_size();
    nlohmann::ordered_json jops = nlohmann::ordered_json::object();
    for (const auto &[op, count] : ops)
      jops[op] = count;
    j["ops"] = jops;
    nlohmann::ordered_json junsup = nlohmann::ordered_json::array();
    for (const UnsupportedOp &u : unsupported)
      junsup.push_back(
          {{"op", u.op}, {"count", u.count}, {"first_node", u.firstNode}});
    j["unsupported_ops"] = junsup;
    os << j.dump(2) << "\n";
    return success();
  }

  os << "model: " << path << "\n";
  os << "  ir_version " << model.ir_version();
  if (!model.producer_name().empty())
    os << ", producer " << model.producer_name() << " "
       << model.producer_version();
  os << "\n  opsets:";
  for (const auto &[domain, version] : opsets)
    os << " " << domain << " " << version;
  os << "\n  inputs:\n";
  for (const auto &s : inputs)
    os << "    " << s.name << ": " << s.dtype << " " << shapeString(s) << "\n";
  os << "  outputs:\n";
  for (const auto &s : outputs)
    os << "    " << s.name << ": " << s.dtype << " " << shapeString(s) << "\n";
  os << "  initializers: " << graph.initializer_size();
  if (externalCount)
    os << " (" << externalCount << " with external data)";
  os << "\n  parameters: " << params << " (" << humanBytes(paramBytes) << ")\n";
  os << "  nodes: " << graph.node_size() << "\n  ops:\n";
  for (const auto &[op, count] : ops)
    os << "    " << op << " " << count << "\n";
  if (unsupported.empty()) {
    os << "  unsupported ops: none\n";
    return success();
  }
  os << "  unsupported ops: " << unsupported.size() << " op type"
     << (unsupported.size() == 1 ? "" : "s") << " in " << unsupportedNodes
     << " node" << (unsupportedNodes == 1 ? "" : "s") << "\n";
  size_t width = 2;
  for (const UnsupportedOp &u : unsupported)
    width = std::max(width, u.op.size());
  os << "    " << llvm::left_justify("op", width) << "  count  first node\n";
  for (const UnsupportedOp &u : unsupported)
    os << "    " << llvm::left_justify(u.op, width) << "  "
       << llvm::right_justify(std::to_string(u.count), 5) << "  '"
       << u.firstNode << "'\n";
  return success();
}

//===- GraphImporter.cpp - ONNX graph to kiln function --------------------===//
//
// Part of kiln. Walks an ONNX graph in topological order and builds one
// `func.func` of kiln ops: graph inputs (symbolic dims fixed from
// --shape) become arguments, initializers become lazily materialized
// constants, every node goes through its op handler, graph outputs become
// results.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "dialects/Kiln/KilnDialect.h"
#include "dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

#include <queue>

using namespace mlir;
using namespace mlir::kiln::onnx;

//===----------------------------------------------------------------------===//
// Handler table
//===----------------------------------------------------------------------===//

const llvm::StringMap<OpHandler> &mlir::kiln::onnx::getOpHandlers() {
  static const llvm::StringMap<OpHandler> handlers = [] {
    llvm::StringMap<OpHandler> map;
    registerElementwiseOps(map);
    registerShapeOps(map);
    registerNNOps(map);
    registerMathOps(map);
    registerReduceOps(map);
    registerLayoutOps(map);
    registerIndexingOps(map);
    registerNormOps(map);
    registerConvPoolOps(map);
    registerResizeOps(map);
    registerAttentionOps(map);
    registerRecurrentOps(map);
    registerQuantizeOps(map);
    registerContribQuantOps(map);
    registerSignalOps(map);
    registerControlOps(map);
    registerSequenceOps(map);
    return map;
  }();
  return handlers;
}

bool mlir::kiln::onnx::isSupportedOp(StringRef opType) {
  return getOpHandlers().contains(opType);
}

static bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

//===----------------------------------------------------------------------===//
// Node access
//===----------------------------------------------------------------------===//

GraphImporter::GraphImporter(MLIRContext &ctx, ::onnx::ModelProto &model,
                             StringRef path, const ImportOptions &options)
    : ctx(&ctx), builder(&ctx), loc(UnknownLoc::get(&ctx)), model(model),
      graph(*model.mutable_graph()), path(path.str()), options(options),
      fileLoc(NameLoc::get(StringAttr::get(&ctx, path))),
      diagLoc(UnknownLoc::get(&ctx)) {
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  modelDir = std::string(dir);
}

StringRef GraphImporter::opType() const {
  return node ? StringRef(node->op_type()) : StringRef();
}

InFlightDiagnostic GraphImporter::error() {
  InFlightDiagnostic diag = emitError(diagLoc);
  if (node) {
    diag << "node '" << nodeName << "' (";
    if (!isDefaultDomain(node->domain()))
      diag << node->domain() << ".";
    diag << node->op_type() << "): ";
  }
  return diag;
}

int GraphImporter::numInputs() const { return node->input_size(); }

bool GraphImporter::hasInput(int i) const {
  return i >= 0 && i < node->input_size() && !node->input(i).empty();
}

FailureOr<TV *> GraphImporter::input(int i) {
  if (!hasInput(i))
    return error() << "missing input #" << i;
  auto it = values.find(node->input(i));
  if (it == values.end())
    return error() << "uses unknown value '" << node->input(i) << "'";
  if (it->second.isSequence())
    return error() << "input #" << i << " ('" << node->input(i)
                   << "') is a sequence; this op takes a tensor";
  return &it->second;
}

FailureOr<const Sequence *> GraphImporter::sequenceInput(int i) {
  if (!hasInput(i))
    return error() << "missing input #" << i;
  auto it = values.find(node->input(i));
  if (it == values.end())
    return error() << "uses unknown value '" << node->input(i) << "'";
  if (!it->second.isSequence())
    return error() << "input #" << i << " ('" << node->input(i)
                   << "') is a tensor; this op takes a sequence";
  return it->second.sequence.get();
}

FailureOr<TV *> GraphImporter::constInput(int i, StringRef what) {
  FailureOr<TV *> in = input(i);
  if (failed(in))
    return failure();
  if (!(*in)->hasData()) {
    InFlightDiagnostic diag = error() << what << " ('" << node->input(i)
                                      << "') must be a compile-time constant";
    // Name the graph inputs it is computed from (the ones to fix with
    // --shape-style binding or to make initializers).
    SmallVector<std::string> from = graphInputsFeeding(node->input(i));
    if (!from.empty() && !(from.size() == 1 && from[0] == node->input(i))) {
      diag << " (it is computed from graph input" << (from.size() > 1 ? "s " : " ");
      for (auto [k, name] : llvm::enumerate(from))
        diag << (k ? ", '" : "'") << name << "'";
      diag << ")";
    }
    return diag;
  }
  return in;
}

SmallVector<std::string> GraphImporter::graphInputsFeeding(StringRef name) {
  // Producers in the graph and its subgraphs (names are unique across
  // scopes); a node depends on its inputs and what its subgraphs read.
  llvm::StringMap<const ::onnx::NodeProto *> producer;
  std::function<void(const ::onnx::GraphProto &)> collect =
      [&](const ::onnx::GraphProto &g) {
        for (const auto &n : g.node()) {
          for (const auto &o : n.output())
            if (!o.empty())
              producer[o] = &n;
          for (const auto &a : n.attribute()) {
            if (a.has_g())
              collect(a.g());
            for (const auto &sub : a.graphs())
              collect(sub);
          }
        }
      };
  collect(graph);
  llvm::StringSet<> inits, inputs;
  for (const auto &t : graph.initializer())
    inits.insert(t.name());
  for (const auto &in : graph.input())
    if (!inits.contains(in.name()))
      inputs.insert(in.name());
  SmallVector<std::string> result, work{name.str()};
  llvm::StringSet<> seen;
  while (!work.empty()) {
    std::string v = work.pop_back_val();
    if (v.empty() || !seen.insert(v).second)
      continue;
    if (inputs.contains(v)) {
      result.push_back(v);
      continue;
    }
    auto it = producer.find(v);
    if (it == producer.end())
      continue;
    const ::onnx::NodeProto &n = *it->second;
    // Shape and Size read only their input's (static) shape, CastLike only
    // its second input's type.
    if (n.op_type() == "Shape" || n.op_type() == "Size")
      continue;
    SmallVector<std::string> ins = nodeInputs(n);
    for (auto [j, in] : llvm::enumerate(ins))
      if (!(n.op_type() == "CastLike" && j == 1))
        work.push_back(in);
  }
  llvm::sort(result);
  return result;
}

int GraphImporter::numOutputs() const { return node->output_size(); }

bool GraphImporter::outputUsed(int i) const {
  return i >= 0 && i < node->output_size() && !node->output(i).empty() &&
         consumed.contains(node->output(i));
}

LogicalResult GraphImporter::setOutput(int i, const TV &value) {
  if (i < 0 || i >= node->output_size() || node->output(i).empty())
    return success();
  const std::string &name = node->output(i);
  if (!value.type && !value.isSequence())
    return error() << "internal error: output '" << name << "' has no type";
  if (!values.try_emplace(name, value).second)
    return error() << "value '" << name << "' is defined twice";
  return success();
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const ::onnx::AttributeProto *
mlir::kiln::onnx::findAttribute(const ::onnx::NodeProto &n, StringRef name) {
  for (const auto &a : n.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

const ::onnx::AttributeProto *GraphImporter::getAttr(StringRef name) const {
  return findAttribute(*node, name);
}

bool GraphImporter::hasAttr(StringRef name) const {
  return getAttr(name) != nullptr;
}

FailureOr<int64_t> GraphImporter::intAttr(StringRef name, int64_t dflt) {
  const auto *a = getAttr(name);
  if (!a)
    return dflt;
  if (a->type() == ::onnx::AttributeProto::INT ||
      (a->type() == ::onnx::AttributeProto::UNDEFINED && a->has_i()))
    return a->i();
  return error() << "attribute '" << name << "' must be an int";
}

FailureOr<float> GraphImporter::floatAttr(StringRef name, float dflt) {
  const auto *a = getAttr(name);
  if (!a)
    return dflt;
  if (a->type() == ::onnx::AttributeProto::FLOAT ||
      (a->type() == ::onnx::AttributeProto::UNDEFINED && a->has_f()))
    return a->f();
  return error() << "attribute '" << name << "' must be a float";
}

FailureOr<std::string> GraphImporter::stringAttr(StringRef name,
                                                 StringRef dflt) {
  const auto *a = getAttr(name);
  if (!a)
    return dflt.str();
  if (a->type() == ::onnx::AttributeProto::STRING ||
      (a->type() == ::onnx::AttributeProto::UNDEFINED && a->has_s()))
    return a->s();
  return error() << "attribute '" << name << "' must be a string";
}

FailureOr<SmallVector<int64_t>>
GraphImporter::intsAttr(StringRef name, ArrayRef<int64_t> dflt) {
  const auto *a = getAttr(name);
  if (!a)
    return SmallVector<int64_t>(dflt);
  if (a->type() == ::onnx::AttributeProto::INTS ||
      a->type() == ::onnx::AttributeProto::UNDEFINED)
    return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
  return error() << "attribute '" << name << "' must be a list of ints";
}

FailureOr<SmallVector<float>> GraphImporter::floatsAttr(StringRef name) {
  const auto *a = getAttr(name);
  if (!a)
    return SmallVector<float>();
  if (a->type() == ::onnx::AttributeProto::FLOATS ||
      a->type() == ::onnx::AttributeProto::UNDEFINED)
    return SmallVector<float>(a->floats().begin(), a->floats().end());
  return error() << "attribute '" << name << "' must be a list of floats";
}

FailureOr<SmallVector<int64_t>> GraphImporter::intsOf(const TV &value,
                                                      StringRef what) {
  if (!value.hasData() || !isa<IntegerType>(value.elementType()))
    return error() << what << " must be a constant integer tensor";
  if (value.rank() > 1)
    return error() << what << " must be 1-D, got " << value.type;
  return SmallVector<int64_t>(value.data->ints);
}

FailureOr<int64_t> GraphImporter::normalizeAxis(int64_t axis, int64_t rank,
                                                StringRef what) {
  if (axis < -rank || axis >= rank)
    return error() << what << " " << axis << " is out of range for rank "
                   << rank;
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// Op creation
//===----------------------------------------------------------------------===//

std::function<LogicalResult(Diagnostic &)>
GraphImporter::captureInto(std::string &message) {
  return [&message](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error && message.empty())
      message = diag.str();
    return success();
  };
}

LogicalResult GraphImporter::opFailure(StringRef opName, StringRef message) {
  return error() << "cannot build " << opName << ": " << message;
}

FailureOr<Value> GraphImporter::finishCreate(OperationState &state) {
  std::string opName = state.name.getStringRef().str();
  Operation *op = builder.create(state);
  std::string message;
  bool verified;
  {
    ScopedDiagnosticHandler capture(ctx, captureInto(message));
    verified = succeeded(mlir::verify(op, /*verifyRecursively=*/false));
  }
  if (!verified) {
    op->erase();
    return opFailure(opName, message);
  }
  return op->getResult(0);
}

//===----------------------------------------------------------------------===//
// Graph pieces
//===----------------------------------------------------------------------===//

LogicalResult GraphImporter::checkSupported() {
  const auto &handlers = getOpHandlers();
  llvm::StringSet<> reported;
  bool ok = true;
  for (auto [i, n] : llvm::enumerate(graph.node())) {
    std::string name =
        n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    if (isDefaultDomain(n.domain())) {
      if (handlers.contains(n.op_type()))
        continue;
      if (!reported.insert(n.op_type()).second)
        continue;
      emitError(diagLoc) << "unsupported op '" << n.op_type() << "' (node '"
                         << name << "', opset " << opset << ")";
      ok = false;
      continue;
    }
    std::string full = n.domain() + "." + n.op_type();
    if (handlers.contains(full))
      continue;
    if (!reported.insert(full).second)
      continue;
    int64_t version = -1;
    for (const auto &op : model.opset_import())
      if (op.domain() == n.domain())
        version = op.version();
    emitError(diagLoc) << "unsupported op '" << full << "' (node '" << name
                       << "', opset " << version << ")";
    ok = false;
  }
  return success(ok);
}

LogicalResult GraphImporter::importInitializers() {
  for (auto &t : *graph.mutable_initializer()) {
    if (t.name().empty())
      return emitError(diagLoc) << "an initializer has no name";
    FailureOr<TV> tv = decodeTensor(ctx, t, modelDir, diagLoc,
                                    "initializer '" + t.name() + "'");
    if (failed(tv))
      return failure();
    // The data now lives in the blob; free the protobuf copy.
    t.clear_raw_data();
    if (!values.try_emplace(t.name(), std::move(*tv)).second)
      return emitError(diagLoc)
             << "initializer '" << t.name() << "' is defined twice";
  }
  if (graph.sparse_initializer_size() > 0)
    return emitError(diagLoc)
           << "sparse initializers are not supported ('"
           << graph.sparse_initializer(0).values().name() << "')";
  return success();
}

LogicalResult
GraphImporter::importInputs(SmallVectorImpl<Type> &argTypes,
                            SmallVectorImpl<std::string> &argNames) {
  // Every --shape name must be a graph input or a dim_param: anything else
  // is most likely a typo.
  llvm::StringSet<> knownNames;
  for (const auto &in : graph.input()) {
    knownNames.insert(in.name());
    if (in.type().has_tensor_type())
      for (const auto &dim : in.type().tensor_type().shape().dim())
        if (dim.has_dim_param())
          knownNames.insert(dim.dim_param());
  }
  for (const auto &entry : options.shapes)
    if (!knownNames.contains(entry.getKey()))
      return emitError(diagLoc)
             << "--shape " << entry.getKey()
             << " names neither a graph input nor a symbolic dim";

  for (const auto &in : graph.input()) {
    const std::string &name = in.name();
    if (values.contains(name))
      continue; // An initializer listed as input (IR < 4): a constant.
    if (name.empty())
      return emitError(diagLoc) << "a graph input has no name";
    if (!in.has_type() || !in.type().has_tensor_type())
      return emitError(diagLoc) << "input '" << name << "' is not a tensor";
    const auto &tt = in.type().tensor_type();
    Type elt = getElementType(ctx, tt.elem_type());
    if (!elt)
      return emitError(diagLoc)
             << "input '" << name << "' has unsupported element type "
             << dataTypeName(tt.elem_type());

    // Full shape from --shape NAME=...
    SmallVector<int64_t> shape;
    auto full = options.shapes.find(name);
    if (full != options.shapes.end()) {
      shape.assign(full->second.begin(), full->second.end());
      if (tt.has_shape() && tt.shape().dim_size() != (int)shape.size())
        return emitError(diagLoc)
               << "--shape " << name << "=" << shapeText(shape) << " has "
               << shape.size() << " dims but input '" << name << "' has rank "
               << tt.shape().dim_size();
      for (auto [d, v] : llvm::enumerate(shape)) {
        if (v < 0)
          return emitError(diagLoc) << "--shape " << name << ": negative dim";
        if (tt.has_shape() && tt.shape().dim(d).has_dim_value() &&
            tt.shape().dim(d).dim_value() != v)
          return emitError(diagLoc)
                 << "--shape " << name << "=" << shapeText(shape)
                 << " conflicts with the model's dim " << d << " of size "
                 << tt.shape().dim(d).dim_value();
      }
    } else {
      if (!tt.has_shape())
        return emitError(diagLoc)
               << "input '" << name << "' has no shape: give it with --shape "
               << name << "=1x...";
      // Example shape for the hint: static dims, 1 for symbolic ones.
      std::string example;
      for (int d = 0; d < tt.shape().dim_size(); ++d) {
        const auto &dim = tt.shape().dim(d);
        example += (d ? "x" : "") +
                   std::to_string(dim.has_dim_value() && dim.dim_value() > 0
                                      ? dim.dim_value()
                                      : 1);
      }
      for (int d = 0; d < tt.shape().dim_size(); ++d) {
        const auto &dim = tt.shape().dim(d);
        if (dim.has_dim_value()) {
          if (dim.dim_value() < 0)
            return emitError(diagLoc) << "input '" << name << "' has dim " << d
                                      << " of negative size";
          shape.push_back(dim.dim_value());
          continue;
        }
        if (dim.has_dim_param() && !dim.dim_param().empty()) {
          auto it = options.shapes.find(dim.dim_param());
          if (it != options.shapes.end()) {
            if (it->second.size() != 1 || it->second[0] < 0)
              return emitError(diagLoc)
                     << "--shape " << dim.dim_param()
                     << " names a symbolic dim and needs one size, got '"
                     << shapeText(it->second) << "'";
            shape.push_back(it->second[0]);
            continue;
          }
          return emitError(diagLoc)
                 << "input '" << name << "' has symbolic dim '"
                 << dim.dim_param() << "' (dim " << d
                 << "): give its size with --shape " << name << "=" << example
                 << " or --shape " << dim.dim_param() << "=N";
        }
        return emitError(diagLoc)
               << "input '" << name << "' has an unknown dim " << d
               << ": give its size with --shape " << name << "=" << example;
      }
    }
    if (!checkedNumElements(shape))
      return emitError(diagLoc) << "input '" << name << "' is too large ("
                                << shapeText(shape) << ")";
    auto type = RankedTensorType::get(shape, elt);
    argTypes.push_back(type);
    argNames.push_back(name);
    TV tv;
    tv.type = type;
    if (!values.try_emplace(name, tv).second)
      return emitError(diagLoc) << "input '" << name << "' is listed twice";
  }
  return success();
}

/// Names a subgraph reads from enclosing scopes (recursively), in order.
static void outerReferences(const ::onnx::GraphProto &g,
                            SmallVectorImpl<std::string> &refs) {
  llvm::StringSet<> local;
  for (const auto &in : g.input())
    local.insert(in.name());
  for (const auto &t : g.initializer())
    local.insert(t.name());
  for (const auto &n : g.node())
    for (const auto &out : n.output())
      local.insert(out);
  auto add = [&](const std::string &name) {
    if (!name.empty() && !local.contains(name))
      refs.push_back(name);
  };
  for (const auto &n : g.node()) {
    for (const auto &in : n.input())
      add(in);
    for (const auto &a : n.attribute()) {
      SmallVector<std::string> inner;
      if (a.has_g())
        outerReferences(a.g(), inner);
      for (const auto &sub : a.graphs())
        outerReferences(sub, inner);
      for (const std::string &r : inner)
        add(r);
    }
  }
  for (const auto &out : g.output())
    add(out.name());
}

SmallVector<std::string>
GraphImporter::nodeInputs(const ::onnx::NodeProto &n) {
  SmallVector<std::string> names(n.input().begin(), n.input().end());
  for (const auto &a : n.attribute()) {
    if (a.has_g())
      outerReferences(a.g(), names);
    for (const auto &sub : a.graphs())
      outerReferences(sub, names);
  }
  return names;
}

LogicalResult GraphImporter::sortNodes(const ::onnx::GraphProto &graph,
                                      SmallVectorImpl<int> &order) {
  int n = graph.node_size();
  llvm::StringMap<int> producer;
  auto nameOf = [&](int i) {
    const auto &nd = graph.node(i);
    return nd.name().empty() ? nd.op_type() + "_" + std::to_string(i)
                             : nd.name();
  };
  for (int i = 0; i < n; ++i)
    for (const auto &out : graph.node(i).output()) {
      if (out.empty())
        continue;
      if (values.contains(out))
        return emitError(diagLoc)
               << "node '" << nameOf(i) << "' (" << graph.node(i).op_type()
               << ") redefines graph input or initializer '" << out << "'";
      auto [it, inserted] = producer.try_emplace(out, i);
      if (!inserted)
        return emitError(diagLoc)
               << "value '" << out << "' is produced by both node '"
               << nameOf(it->second) << "' and node '" << nameOf(i) << "'";
    }
  std::vector<SmallVector<int, 2>> users(n);
  std::vector<int> pending(n, 0);
  for (int i = 0; i < n; ++i) {
    llvm::SmallDenseSet<int, 4> deps;
    for (const std::string &in : nodeInputs(graph.node(i))) {
      if (in.empty() || values.contains(in))
        continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return emitError(diagLoc)
               << "node '" << nameOf(i) << "' (" << graph.node(i).op_type()
               << ") uses value '" << in
               << "' that no node, graph input or initializer produces";
      if (deps.insert(it->second).second) {
        users[it->second].push_back(i);
        ++pending[i];
      }
    }
  }
  // Kahn's algorithm, preferring the file's order.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (pending[i] == 0)
      ready.push(i);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[i])
      if (--pending[u] == 0)
        ready.push(u);
  }
  if ((int)order.size() != n) {
    for (int i = 0; i < n; ++i)
      if (pending[i] > 0)
        return emitError(diagLoc)
               << "the graph has a cycle through node '" << nameOf(i) << "' ("
               << graph.node(i).op_type() << ")";
  }
  return success();
}

LogicalResult GraphImporter::importNode(const ::onnx::NodeProto &n, int index,
                                       StringRef scope) {
  node = &n;
  nodeIndex = index;
  nodeName = n.name().empty() ? n.op_type() + "_" + std::to_string(index)
                              : n.name();
  if (!scope.empty())
    nodeName = scope.str() + "/" + nodeName;
  loc = NameLoc::get(StringAttr::get(ctx, nodeName));
  OpHandler handler = getOpHandlers().lookup(
      isDefaultDomain(n.domain()) ? n.op_type()
                                  : n.domain() + "." + n.op_type());
  if (!handler)
    return error() << "unsupported op";
  if (failed(handler(*this)))
    return failure();
  for (int i = 0; i < node->output_size(); ++i)
    if (outputUsed(i) && !values.contains(node->output(i)))
      return error() << "does not produce output '" << node->output(i) << "'";
  return success();
}

FailureOr<SmallVector<TV>>
GraphImporter::importSubgraph(const ::onnx::GraphProto &g, ArrayRef<TV> inputs,
                              StringRef what, bool allowSequenceOutputs) {
  if (subgraphDepth >= 32)
    return error() << what << ": subgraphs nest too deeply";
  if (g.input_size() != static_cast<int>(inputs.size()))
    return error() << what << " takes " << g.input_size()
                   << " inputs, the node gives it " << inputs.size();
  const ::onnx::NodeProto *savedNode = node;
  std::string savedName = nodeName;
  Location savedLoc = loc;
  int savedIndex = nodeIndex;
  std::string scope = nodeName + "/" + what.str();
  ++subgraphDepth;
  SmallVector<std::string> defined;
  llvm::scope_exit restore([&] {
    for (const std::string &name : defined)
      values.erase(name);
    node = savedNode;
    nodeName = savedName;
    loc = savedLoc;
    nodeIndex = savedIndex;
    --subgraphDepth;
  });
  auto define = [&](const std::string &name, TV tv) -> LogicalResult {
    if (name.empty())
      return success();
    if (!values.try_emplace(name, std::move(tv)).second)
      return error() << what << " redefines value '" << name << "'";
    defined.push_back(name);
    return success();
  };
  for (auto [i, in] : llvm::enumerate(g.input()))
    if (failed(define(in.name(), inputs[i])))
      return failure();
  for (const auto &t : g.initializer()) {
    FailureOr<TV> tv = decodeTensor(ctx, t, modelDir, diagLoc,
                                    "initializer '" + t.name() + "' of " +
                                        scope);
    if (failed(tv) || failed(define(t.name(), *tv)))
      return failure();
  }
  for (const auto &n : g.node())
    for (const std::string &in : nodeInputs(n))
      consumed.insert(in);
  for (const auto &out : g.output())
    consumed.insert(out.name());
  SmallVector<int> order;
  if (failed(sortNodes(g, order)))
    return failure();
  for (int i : order) {
    const ::onnx::NodeProto &n = g.node(i);
    LogicalResult r = importNode(n, i, scope);
    for (const auto &out : n.output())
      if (!out.empty() && values.contains(out) &&
          !llvm::is_contained(defined, out))
        defined.push_back(out);
    if (failed(r))
      return failure();
  }
  node = savedNode;
  nodeName = savedName;
  SmallVector<TV> outputs;
  for (const auto &out : g.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return error() << what << " output '" << out.name()
                     << "' is not produced";
    if (it->second.isSequence() && !allowSequenceOutputs)
      return error() << what << " output '" << out.name()
                     << "' is a sequence; only tensors are supported here";
    outputs.push_back(it->second);
  }
  return outputs;
}

//===----------------------------------------------------------------------===//
// The whole graph
//===----------------------------------------------------------------------===//

FailureOr<OwningOpRef<ModuleOp>> GraphImporter::run() {
  ctx->loadDialect<kiln::KilnDialect, func::FuncDialect>();
  if (options.functionName.empty())
    return emitError(diagLoc) << "the entry function name is empty";
  opset = getDefaultOpset(model);
  if (opset < 0) {
    bool usesDefault = llvm::any_of(graph.node(), [](const auto &n) {
      return isDefaultDomain(n.domain());
    });
    if (usesDefault)
      return emitError(diagLoc) << "cannot parse ONNX model '" << path
                                << "': it imports no opset of the default "
                                   "ONNX domain";
    opset = 0;
  }
  if (failed(checkSupported()))
    return failure();

  for (const auto &n : graph.node())
    for (const std::string &in : nodeInputs(n))
      consumed.insert(in);
  for (const auto &out : graph.output())
    consumed.insert(out.name());

  if (failed(importInitializers()))
    return failure();
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  if (failed(importInputs(argTypes, argNames)))
    return failure();

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  (*module)->setAttr("kiln.source", builder.getStringAttr(path));
  (*module)->setAttr("kiln.opset", builder.getI64IntegerAttr(opset));
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, options.functionName,
                                   builder.getFunctionType(argTypes, {}));
  func->setAttr("kiln.entry", builder.getUnitAttr());
  Block *entry = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    values[name].value = entry->getArgument(i);
    func.setArgAttr(i, "kiln.name", builder.getStringAttr(name));
  }
  builder.setInsertionPointToEnd(entry);

  SmallVector<int> order;
  if (failed(sortNodes(graph, order)))
    return failure();
  for (int i : order)
    if (failed(importNode(graph.node(i), i, {})))
      return failure();

  node = nullptr;
  loc = fileLoc;
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &out : graph.output()) {
    auto it = values.find(out.name());
    if (it == values.end())
      return emitError(diagLoc) << "graph output '" << out.name()
                                << "' is not produced by any node, input "
                                   "or initializer";
    if (it->second.isSequence())
      return emitError(diagLoc)
             << "graph output '" << out.name()
             << "' is a sequence; kiln compiles models with tensor outputs "
                "only";
    loc = NameLoc::get(StringAttr::get(ctx, out.name()));
    FailureOr<Value> v = materialize(it->second, out.name());
    if (failed(v))
      return failure();
    results.push_back(*v);
    resultTypes.push_back(v->getType());
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, out] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "kiln.name", builder.getStringAttr(out.name()));
  if (failed(mlir::verify(*module)))
    return failure();
  return module;
}

//===----------------------------------------------------------------------===//
// Entry point
//===----------------------------------------------------------------------===//

FailureOr<OwningOpRef<ModuleOp>>
mlir::kiln::onnx::importOnnxFile(MLIRContext &ctx, StringRef path,
                                 const ImportOptions &options) {
  auto model = std::make_unique<::onnx::ModelProto>();
  if (failed(loadModelProto(ctx, path, UnknownLoc::get(&ctx), *model)))
    return failure();
  if (!options.checkpointDir.empty() &&
      failed(applyQuantizedCheckpoint(*model, options.checkpointDir,
                                      UnknownLoc::get(&ctx),
                                      options.warnUnusedCheckpointTensors)))
    return failure();
  GraphImporter importer(ctx, *model, path, options);
  return importer.run();
}

bool mlir::kiln::onnx::parseShapeOption(StringRef value, ImportOptions &options,
                                        std::string &error) {
  auto [name, dims] = value.split('=');
  name = name.trim();
  if (name.empty() || !value.contains('=')) {
    error = "expected NAME=DIMS (e.g. x=1x128 or batch=4), got '" +
            value.str() + "'";
    return false;
  }
  SmallVector<int64_t> shape;
  dims = dims.trim();
  if (!dims.empty() && dims != "scalar") {
    SmallVector<StringRef> parts;
    dims.split(parts, dims.contains(',') ? ',' : 'x');
    for (StringRef p : parts) {
      int64_t v;
      if (p.trim().getAsInteger(10, v) || v < 0) {
        error = "bad dim '" + p.str() + "' in --shape " + value.str();
        return false;
      }
      shape.push_back(v);
    }
  }
  options.shapes[name] = shape;
  return true;
}

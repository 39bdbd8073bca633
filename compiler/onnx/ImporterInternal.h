//===- ImporterInternal.h - ONNX importer internals ---------------*- C++
//-*-===//
//
// Part of kiln. Private to compiler/onnx/: the graph importer's value table,
// compile-time contents of small tensors, and the op handler interface.
//
// Every ONNX value becomes a `TV`: its static type, its MLIR value once one
// exists, and, when known at import time, its contents. Handlers compute
// results through the `emit*` helpers, which evaluate in C++ whenever all
// operands are known (so shape arithmetic leaves no ops behind) and otherwise
// create kiln ops, checking operands first so that a bad model gives a
// diagnostic, never an assertion.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_ONNX_IMPORTERINTERNAL_H
#define KILN_COMPILER_ONNX_IMPORTERINTERNAL_H

#include "compiler/onnx/Importer.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <memory>
#include <optional>

namespace onnx {
class ModelProto;
class GraphProto;
class NodeProto;
class TensorProto;
class AttributeProto;
class ValueInfoProto;
} // namespace onnx

namespace mlir::kiln::onnx {

/// Tensors with more elements than this become `dense_resource` blobs;
/// smaller ones stay `dense<...>` so they print and fold.
constexpr int64_t kInlineElements = 64;
/// Largest tensor whose contents the importer keeps and computes on:
/// integer/bool results (shapes, indices, masks) up to kMaxFoldElements,
/// float results up to kMaxFloatFoldElements (larger float results stay ops,
/// so folding never inflates small weight tables into big constants).
constexpr int64_t kMaxFoldElements = int64_t(1) << 20;
constexpr int64_t kMaxFloatFoldElements = int64_t(1) << 16;
inline bool canFoldElements(Type elt, int64_t n) {
  return n >= 0 &&
         n <= (isa<FloatType>(elt) ? kMaxFloatFoldElements : kMaxFoldElements);
}
/// Initializers whose contents are decoded for folding (integers are shape
/// data; float initializers this small are scalars and tiny tables).
constexpr int64_t kMaxIntInitContents = int64_t(1) << 16;
constexpr int64_t kMaxFloatInitContents = 4096;

//===----------------------------------------------------------------------===//
// Compile-time contents and values
//===----------------------------------------------------------------------===//

/// Known contents of a tensor, row-major: integer and boolean elements as
/// int64 (already wrapped to the element width), floating-point elements as
/// double (already rounded to the element type). Exactly one is used.
struct Contents {
  SmallVector<int64_t> ints;
  SmallVector<double> floats;
};

struct TV;
/// An ONNX sequence value, known at import: its tensors, in order, and the
/// element type they share (an empty sequence from SequenceEmpty has one).
struct Sequence {
  Type elementType;
  std::vector<TV> elements;
};

/// One ONNX value during import: a tensor, or (with `sequence` set and no
/// `type`) a sequence of tensors. Sequences exist only while importing: the
/// sequence ops (OpsSequence.cpp) resolve them to their tensors, and op
/// handlers, which read operands with `GraphImporter::input`, see tensors
/// only.
struct TV {
  RankedTensorType type;
  /// The SSA value, once materialized (graph inputs, op results, constants
  /// already used by an op).
  Value value;
  /// Known contents (small tensors).
  std::shared_ptr<const Contents> data;
  /// A constant attribute (initializers, large splats) when there is no
  /// `data`, or a cached one.
  ElementsAttr attr;

  /// Set (and `type` null) for a sequence value.
  std::shared_ptr<const Sequence> sequence;

  bool isSequence() const { return sequence != nullptr; }
  bool isConstant() const { return data || attr; }
  bool hasData() const { return data != nullptr; }
  Type elementType() const { return type.getElementType(); }
  int64_t rank() const { return type.getRank(); }
  ArrayRef<int64_t> shape() const { return type.getShape(); }
};

/// Elementwise functions the emit helpers know.
enum class UnaryKind {
  Neg,
  Abs,
  Sqrt,
  Exp,
  Log,
  Erf,
  Tanh,
  Sigmoid,
  Relu,
  Reciprocal,
  Not
};
enum class BinaryKind {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Max,
  Min,
  And,
  Or,
  Equal,
  Less,
  Greater,
  /// Remainder with the divisor's sign (ONNX Mod, fmod=0).
  Mod,
  /// Remainder with the dividend's sign (ONNX Mod, fmod=1; C fmod and %).
  FMod
};
enum class ReduceKind { Sum, Mean, Max };

//===----------------------------------------------------------------------===//
// Helpers shared by the importer files (OnnxModel.cpp)
//===----------------------------------------------------------------------===//

/// MLIR element type of an ONNX TensorProto data type, or null.
Type getElementType(MLIRContext *ctx, int32_t onnxType);
/// Readable name of an ONNX data type ("float", "int64", ...).
std::string dataTypeName(int32_t onnxType);
/// Size in bytes of one element in ONNX raw_data, 0 if unsupported (and for
/// the packed sub-byte types).
int64_t elementByteSize(int32_t onnxType);
/// Bits per element of the packed sub-byte types (INT4, UINT4, FLOAT4E2M1:
/// 4; INT2, UINT2: 2), else 0. ONNX packs them low bits first.
int64_t packedElementBits(int32_t onnxType);
/// Unpacks `n` elements of `bits` bits into one byte each (zero-extended).
void unpackElements(const char *packed, int64_t n, int64_t bits, char *out);
/// "1x128xf32"-style shape text; "scalar" for rank 0.
std::string shapeText(ArrayRef<int64_t> shape);
/// Product of dims, or nullopt on overflow / negative dims.
std::optional<int64_t> checkedNumElements(ArrayRef<int64_t> shape);
/// Resource blob key for a tensor name: [A-Za-z0-9_.] kept, others -> '_'.
std::string sanitizeBlobName(StringRef name);

/// Parses `path` into `model`, emitting `cannot open` / `cannot parse ONNX
/// model` diagnostics at `loc`.
LogicalResult loadModelProto(MLIRContext &ctx, StringRef path, Location loc,
                             ::onnx::ModelProto &model);

/// Default-domain opset of the model, or -1 when it imports none.
int64_t getDefaultOpset(const ::onnx::ModelProto &model);

/// Whether an op has a handler: `opType` for the default domain,
/// "DOMAIN.OpType" for others (handler tables use the same keys).
bool isSupportedOp(StringRef opType);

/// Rounds `v` to the precision of float type `elt`.
double roundToFloatType(Type elt, double v);
/// Wraps `v` to the width (and signedness) of integer type `elt`.
int64_t wrapToIntType(Type elt, int64_t v);

/// Builds an elements attribute for known contents: a splat when all
/// elements agree, `dense<...>` up to kInlineElements, else a resource blob
/// named after `nameHint`.
ElementsAttr contentsToAttr(RankedTensorType type, const Contents &data,
                            StringRef nameHint);

/// The contents of a constant `v`: its `data`, or decoded from its attribute
/// (dense or resource blob) for tensors too large to keep `data`. nullopt
/// when `v` is not a constant (or its blob is gone).
std::optional<Contents> readContents(const TV &v);

/// Decodes a TensorProto (any storage form, external data relative to
/// `modelDir`). Returns a TV with `attr` set, and `data` for small tensors.
/// Diagnostics go to `loc` and name `what` ("initializer 'w'"). A blob is
/// named after `blobName`, by default the tensor's name.
FailureOr<TV> decodeTensor(MLIRContext *ctx, const ::onnx::TensorProto &tensor,
                           StringRef modelDir, Location loc, const Twine &what,
                           bool forceContents = false, StringRef blobName = {});

/// Attribute `name` of node `n`, or null.
const ::onnx::AttributeProto *findAttribute(const ::onnx::NodeProto &n,
                                            StringRef name);
/// Loads the GPTQ/AWQ checkpoint in directory `dir` into `model`
/// (ApplyCheckpoint.cpp): its quantized layers replace the linear layers
/// reading their float weights (as MatMulNBits nodes), its other tensors the
/// initializers of the same name. Diagnostics go to `loc`; a warning lists
/// unused checkpoint tensors when `warnUnused`.
LogicalResult applyQuantizedCheckpoint(::onnx::ModelProto &model, StringRef dir,
                                       Location loc, bool warnUnused);
//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

class GraphImporter;
using OpHandler = LogicalResult (*)(GraphImporter &);

/// Handler tables filled by OpsElementwise.cpp, OpsShape.cpp and OpsNN.cpp.
void registerElementwiseOps(llvm::StringMap<OpHandler> &map);
void registerShapeOps(llvm::StringMap<OpHandler> &map);
void registerNNOps(llvm::StringMap<OpHandler> &map);
/// OpsMath.cpp: activations, float functions, integer ops; OpsReduce.cpp:
/// Reduce*, ArgMax/ArgMin, TopK, Hardmax, LogSoftmax.
void registerMathOps(llvm::StringMap<OpHandler> &map);
void registerReduceOps(llvm::StringMap<OpHandler> &map);
/// Layout/structure ops (OpsLayout.cpp).
void registerLayoutOps(llvm::StringMap<OpHandler> &map);
/// Gather/scatter/cumsum/einsum ops (OpsIndexing.cpp).
void registerIndexingOps(llvm::StringMap<OpHandler> &map);
/// Normalization ops (OpsNorm.cpp).
void registerNormOps(llvm::StringMap<OpHandler> &map);
/// Conv, ConvTranspose and pooling ops (OpsConvPool.cpp).
void registerConvPoolOps(llvm::StringMap<OpHandler> &map);
/// Resize and Upsample (OpsResize.cpp).
void registerResizeOps(llvm::StringMap<OpHandler> &map);
/// Attention and RotaryEmbedding (OpsAttention.cpp).
void registerAttentionOps(llvm::StringMap<OpHandler> &map);
/// RNN, GRU and LSTM (OpsRecurrent.cpp).
void registerRecurrentOps(llvm::StringMap<OpHandler> &map);
/// QuantizeLinear family (OpsQuantize.cpp).
void registerQuantizeOps(llvm::StringMap<OpHandler> &map);
/// ONNX Runtime's com.microsoft quantized ops: MatMulNBits, ...
/// (OpsContribQuant.cpp).
void registerContribQuantOps(llvm::StringMap<OpHandler> &map);
/// Window functions and DFT (OpsSignal.cpp).
void registerSignalOps(llvm::StringMap<OpHandler> &map);
/// If, Loop and Scan, resolved at import (OpsControl.cpp).
void registerControlOps(llvm::StringMap<OpHandler> &map);
/// Sequence ops (SplitToSequence, SequenceAt, ...), resolved at import
/// (OpsSequence.cpp).
void registerSequenceOps(llvm::StringMap<OpHandler> &map);

class GraphImporter;
/// Split/SplitToSequence sizes: none negative, summing to `dim`; otherwise
/// reports the node's error (OpsShape.cpp).
LogicalResult checkSplitSizes(GraphImporter &imp, ArrayRef<int64_t> sizes,
                              int64_t dim);
const llvm::StringMap<OpHandler> &getOpHandlers();

class GraphImporter {
public:
  GraphImporter(MLIRContext &ctx, ::onnx::ModelProto &model, StringRef path,
                const ImportOptions &options);

  /// Imports the whole graph.
  FailureOr<OwningOpRef<ModuleOp>> run();

  //===--------------------------------------------------------------------===//
  // The node being imported (for handlers)
  //===--------------------------------------------------------------------===//

  MLIRContext *ctx;
  OpBuilder builder;
  /// Default-domain opset version.
  int64_t opset = 0;
  const ::onnx::NodeProto *node = nullptr;
  /// Node name (or op_type + index when unnamed) and its location (a NameLoc
  /// that every op created for the node carries).
  std::string nodeName;
  Location loc;

  StringRef opType() const;
  /// Emits "node 'NAME' (OpType): " and returns the diagnostic to extend.
  InFlightDiagnostic error();

  /// Number of inputs the node lists (including empty optional ones).
  int numInputs() const;
  /// Whether input `i` exists and is not the empty (omitted) name.
  bool hasInput(int i) const;
  /// Input `i`, a tensor; emits an error when absent, unknown or a
  /// sequence.
  FailureOr<TV *> input(int i);
  /// Input `i`, a sequence; emits an error when absent, unknown or a tensor.
  FailureOr<const Sequence *> sequenceInput(int i);
  /// Input `i` that must be known at compile time (`what` names it in the
  /// error: "the shape input").
  FailureOr<TV *> constInput(int i, StringRef what);
  int numOutputs() const;
  /// Whether output `i` exists and is consumed (by a node or graph output).
  bool outputUsed(int i) const;
  /// Defines output `i` (a tensor or a sequence).
  LogicalResult setOutput(int i, const TV &value);

  // Attributes. A missing attribute yields the default; one of the wrong
  // type is an error.
  bool hasAttr(StringRef name) const;
  const ::onnx::AttributeProto *getAttr(StringRef name) const;
  FailureOr<int64_t> intAttr(StringRef name, int64_t dflt);
  FailureOr<float> floatAttr(StringRef name, float dflt);
  FailureOr<std::string> stringAttr(StringRef name, StringRef dflt);
  FailureOr<SmallVector<int64_t>> intsAttr(StringRef name,
                                           ArrayRef<int64_t> dflt = {});
  FailureOr<SmallVector<float>> floatsAttr(StringRef name);

  /// Reads integer contents (axes, shapes) from a constant TV.
  FailureOr<SmallVector<int64_t>> intsOf(const TV &value, StringRef what);
  /// Normalizes an axis into [0, rank) (ONNX allows [-rank, rank)).
  FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                   StringRef what = "axis");

  //===--------------------------------------------------------------------===//
  // Emission helpers (Emit.cpp). Results fold when operands are known.
  //===--------------------------------------------------------------------===//

  /// The SSA value of `v`, creating a kiln.constant for constants (a new
  /// blob is named after `nameHint`, by default the node's name).
  FailureOr<Value> materialize(TV &v, StringRef nameHint = {});
  /// A value with known contents.
  TV makeConst(RankedTensorType type, Contents data);
  /// A scalar (0-d) or splat constant of float or integer type.
  TV makeSplat(RankedTensorType type, double value);
  /// A TV for an MLIR value (op result).
  static TV fromValue(Value v);

  FailureOr<TV> emitUnary(UnaryKind kind, TV &x);
  FailureOr<TV> emitBinary(BinaryKind kind, TV &a, TV &b);
  FailureOr<TV> emitWhere(TV &cond, TV &a, TV &b);
  /// `saturate` and `roundMode` (ONNX Cast's attributes) matter for 8-bit
  /// float results.
  FailureOr<TV> emitCast(TV &x, Type elementType, bool saturate = true,
                         StringRef roundMode = "up");
  FailureOr<TV> emitReshape(TV &x, ArrayRef<int64_t> shape);
  FailureOr<TV> emitTranspose(TV &x, ArrayRef<int64_t> perm);
  FailureOr<TV> emitExpand(TV &x, ArrayRef<int64_t> shape);
  /// Normalized slice (kiln.slice semantics: in-range starts, sizes >= 0).
  FailureOr<TV> emitSlice(TV &x, ArrayRef<int64_t> starts,
                          ArrayRef<int64_t> sizes, ArrayRef<int64_t> steps);
  FailureOr<TV> emitConcat(ArrayRef<TV *> xs, int64_t axis);
  FailureOr<TV> emitGather(TV &data, TV &indices, int64_t axis);
  FailureOr<TV> emitMatMul(TV &a, TV &b);
  /// `axes` sorted, unique, non-negative and non-empty.
  FailureOr<TV> emitReduce(ReduceKind kind, TV &x, ArrayRef<int64_t> axes,
                           bool keepdims);

  /// Creates `OpTy` from builder arguments. With a null `resultType` the
  /// result type is inferred (InferTypeOpAdaptor ops). Operands are checked
  /// by the op's type inference and verifier before anything can assert; a
  /// failure becomes one diagnostic naming the node.
  template <typename OpTy, typename... Args>
  FailureOr<Value> create(Type resultType, Args &&...args) {
    OperationState state(loc, OpTy::getOperationName());
    OpTy::build(builder, state, resultType, std::forward<Args>(args)...);
    if (!resultType) {
      if constexpr (OpTy::template hasTrait<InferTypeOpInterface::Trait>()) {
        state.types.clear();
        SmallVector<Type, 1> inferred;
        std::string message;
        bool inferredOk;
        {
          ScopedDiagnosticHandler capture(ctx, captureInto(message));
          inferredOk = succeeded(OpTy::inferReturnTypes(
              ctx, loc, state.operands, state.attributes.getDictionary(ctx),
              state.getRawProperties(), state.regions, inferred));
        }
        if (!inferredOk)
          return opFailure(OpTy::getOperationName(), message);
        state.addTypes(inferred);
      } else {
        return opFailure(OpTy::getOperationName(),
                         "internal error: no result type");
      }
    }
    return finishCreate(state);
  }

  /// Location for the importer's diagnostics (see `diagLoc`).
  Location getDiagLoc() const { return diagLoc; }

  /// Directory external data files are resolved against.
  StringRef getModelDir() const { return modelDir; }

  /// Imports subgraph `g` inline (an If branch, one iteration of an
  /// unrolled Loop or Scan body): binds its inputs to `inputs`, imports its
  /// nodes (named NODE/`what`/...), and returns its outputs. The names it
  /// defines are forgotten afterwards, so a body can be imported again.
  /// Sequence outputs are an error unless `allowSequenceOutputs` (If, which
  /// only forwards its branch's outputs).
  FailureOr<SmallVector<TV>> importSubgraph(const ::onnx::GraphProto &g,
                                            ArrayRef<TV> inputs,
                                            StringRef what,
                                            bool allowSequenceOutputs = false);

  /// Whether any graph output or node consumes `name`.
  bool isConsumed(StringRef name) const { return consumed.contains(name); }

  /// The graph inputs (not initializers) whose values `name` is computed
  /// from, sorted; reading a shape (Shape, Size) is no dependence.
  SmallVector<std::string> graphInputsFeeding(StringRef name);

private:
  std::function<LogicalResult(Diagnostic &)> captureInto(std::string &msg);
  LogicalResult opFailure(StringRef opName, StringRef message);
  FailureOr<Value> finishCreate(OperationState &state);

  LogicalResult importInitializers();
  LogicalResult importInputs(SmallVectorImpl<Type> &argTypes,
                             SmallVectorImpl<std::string> &argNames);
  LogicalResult sortNodes(const ::onnx::GraphProto &graph,
                          SmallVectorImpl<int> &order);
  /// A node's inputs and the names its subgraphs read from enclosing scopes.
  static SmallVector<std::string> nodeInputs(const ::onnx::NodeProto &n);
  LogicalResult checkSupported();
  /// Imports one node; `scope` prefixes its name inside subgraphs.
  LogicalResult importNode(const ::onnx::NodeProto &n, int index,
                           StringRef scope);

  ::onnx::ModelProto &model;
  ::onnx::GraphProto &graph;
  std::string path;
  std::string modelDir;
  const ImportOptions &options;
  /// Location of the module and function: NameLoc of the model path. Not a
  /// FileLineColLoc: diagnostic handlers would load the (binary, possibly
  /// huge) model file to show a source line.
  Location fileLoc;
  /// Where the importer's own diagnostics go. Their messages name the file,
  /// node or value themselves, so they print as plain `error: <message>`.
  Location diagLoc;
  llvm::StringMap<TV> values;
  llvm::StringSet<> consumed;
  int nodeIndex = 0;
  int subgraphDepth = 0;
};

} // namespace mlir::kiln::onnx

#endif // KILN_COMPILER_ONNX_IMPORTERINTERNAL_H

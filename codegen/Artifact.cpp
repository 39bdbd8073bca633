//===- Artifact.cpp - what a compiled model exposes -----------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Artifact.h"

#include "kiln/abi.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::kiln;

int64_t TensorSignature::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

uint64_t StateSignature::bytes() const {
  // States hold caches (f32/f16/bf16 or int8 rows, f32 scales) and their
  // bookkeeping (i64 positions): whole-byte element types.
  uint64_t element;
  switch (dtype) {
  case KILN_DTYPE_F64: case KILN_DTYPE_I64: case KILN_DTYPE_U64:
    element = 8;
    break;
  case KILN_DTYPE_F32: case KILN_DTYPE_I32: case KILN_DTYPE_U32:
    element = 4;
    break;
  case KILN_DTYPE_F16: case KILN_DTYPE_BF16: case KILN_DTYPE_I16:
  case KILN_DTYPE_U16:
    element = 2;
    break;
  default:
    element = 1;
  }
  return uint64_t(numElements()) * element;
}

int32_t mlir::kiln::dtypeOf(Type t) {
  if (isa<Float8E4M3FNType>(t))
    return KILN_DTYPE_F8E4M3FN;
  if (isa<Float8E4M3FNUZType>(t))
    return KILN_DTYPE_F8E4M3FNUZ;
  if (isa<Float8E5M2Type>(t))
    return KILN_DTYPE_F8E5M2;
  if (isa<Float8E5M2FNUZType>(t))
    return KILN_DTYPE_F8E5M2FNUZ;
  if (isa<Float4E2M1FNType>(t))
    return KILN_DTYPE_F4E2M1;
  if (isa<Float8E8M0FNUType>(t))
    return KILN_DTYPE_F8E8M0;
  if (t.isUnsignedInteger(4))
    return KILN_DTYPE_U4;
  if (t.isUnsignedInteger(2))
    return KILN_DTYPE_U2;
  if (t.isInteger(4))
    return KILN_DTYPE_I4;
  if (t.isInteger(2))
    return KILN_DTYPE_I2;
  if (t.isF32())
    return KILN_DTYPE_F32;
  if (t.isF16())
    return KILN_DTYPE_F16;
  if (t.isBF16())
    return KILN_DTYPE_BF16;
  if (t.isF64())
    return KILN_DTYPE_F64;
  if (t.isInteger(1))
    return KILN_DTYPE_BOOL;
  if (t.isUnsignedInteger(8))
    return KILN_DTYPE_U8;
  if (t.isUnsignedInteger(16))
    return KILN_DTYPE_U16;
  if (t.isUnsignedInteger(32))
    return KILN_DTYPE_U32;
  if (t.isUnsignedInteger(64))
    return KILN_DTYPE_U64;
  if (t.isInteger(8))
    return KILN_DTYPE_I8;
  if (t.isInteger(16))
    return KILN_DTYPE_I16;
  if (t.isInteger(32))
    return KILN_DTYPE_I32;
  if (t.isInteger(64))
    return KILN_DTYPE_I64;
  return KILN_DTYPE_INVALID;
}

const char *mlir::kiln::dtypeName(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32: return "float32";
  case KILN_DTYPE_F16: return "float16";
  case KILN_DTYPE_BF16: return "bfloat16";
  case KILN_DTYPE_F64: return "float64";
  case KILN_DTYPE_I8: return "int8";
  case KILN_DTYPE_I16: return "int16";
  case KILN_DTYPE_I32: return "int32";
  case KILN_DTYPE_I64: return "int64";
  case KILN_DTYPE_U8: return "uint8";
  case KILN_DTYPE_BOOL: return "bool";
  case KILN_DTYPE_U16: return "uint16";
  case KILN_DTYPE_U32: return "uint32";
  case KILN_DTYPE_U64: return "uint64";
  case KILN_DTYPE_F8E4M3FN: return "float8e4m3fn";
  case KILN_DTYPE_F8E4M3FNUZ: return "float8e4m3fnuz";
  case KILN_DTYPE_F8E5M2: return "float8e5m2";
  case KILN_DTYPE_F8E5M2FNUZ: return "float8e5m2fnuz";
  case KILN_DTYPE_F4E2M1: return "float4e2m1";
  case KILN_DTYPE_I4: return "int4";
  case KILN_DTYPE_U4: return "uint4";
  case KILN_DTYPE_I2: return "int2";
  case KILN_DTYPE_U2: return "uint2";
  case KILN_DTYPE_F8E8M0: return "float8e8m0";
  default: return "invalid";
  }
}

const char *mlir::kiln::dtypeCType(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32: return "float";
  case KILN_DTYPE_F64: return "double";
  case KILN_DTYPE_F16:
  case KILN_DTYPE_BF16: return "uint16_t";
  case KILN_DTYPE_I8: return "int8_t";
  case KILN_DTYPE_I16: return "int16_t";
  case KILN_DTYPE_I32: return "int32_t";
  case KILN_DTYPE_I64: return "int64_t";
  case KILN_DTYPE_U8:
  case KILN_DTYPE_BOOL:
  case KILN_DTYPE_F8E4M3FN:
  case KILN_DTYPE_F8E4M3FNUZ:
  case KILN_DTYPE_F8E5M2:
  case KILN_DTYPE_F8E5M2FNUZ:
  case KILN_DTYPE_F4E2M1:
  case KILN_DTYPE_F8E8M0:
  case KILN_DTYPE_U4:
  case KILN_DTYPE_U2: return "uint8_t";
  case KILN_DTYPE_I4:
  case KILN_DTYPE_I2: return "int8_t";
  case KILN_DTYPE_U16: return "uint16_t";
  case KILN_DTYPE_U32: return "uint32_t";
  case KILN_DTYPE_U64: return "uint64_t";
  default: return "void";
  }
}

std::string mlir::kiln::sanitizeIdentifier(StringRef name) {
  std::string out;
  for (char c : name)
    out += llvm::isAlnum(c) || c == '_' ? c : '_';
  if (out.empty() || llvm::isDigit(out[0]))
    out.insert(out.begin(), '_');
  return out;
}

namespace {
FailureOr<TensorSignature> tensorSignature(func::FuncOp func, Type type,
                                           DictionaryAttr attrs,
                                           StringRef role, unsigned index) {
  TensorSignature sig;
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("kiln.name"))
      sig.name = name.str();
  if (sig.name.empty())
    sig.name = (role + Twine(index)).str();
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return func.emitError() << role << " '" << sig.name
                            << "' must be a statically shaped tensor, got "
                            << type;
  if (tensor.getRank() > KILN_MAX_RANK)
    return func.emitError() << role << " '" << sig.name << "' has rank "
                            << tensor.getRank() << "; the runtime supports "
                            << KILN_MAX_RANK;
  sig.dtype = dtypeOf(tensor.getElementType());
  if (sig.dtype == KILN_DTYPE_INVALID)
    return func.emitError() << role << " '" << sig.name
                            << "' has unsupported element type "
                            << tensor.getElementType();
  sig.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return sig;
}
} // namespace

FailureOr<ModelSignature> mlir::kiln::prepareEntries(ModuleOp module,
                                                     StringRef modelName) {
  ModelSignature model;
  model.name = modelName.str();
  SmallVector<func::FuncOp> entries;
  for (auto func : module.getOps<func::FuncOp>())
    if (func->hasAttr("kiln.entry"))
      entries.push_back(func);
  if (entries.empty())
    return module.emitError("module has no kiln.entry function");
  for (func::FuncOp func : entries) {
    EntrySignature entry;
    entry.name = "run";
    entry.kind = KILN_ENTRY_RUN;
    if (auto kind = func->getAttrOfType<StringAttr>("kiln.entry_kind")) {
      entry.name = kind.str();
      entry.kind = kind == "decode" ? KILN_ENTRY_DECODE : KILN_ENTRY_PREFILL;
      if (auto tokens = func->getAttrOfType<IntegerAttr>("kiln.tokens"))
        entry.tokens = tokens.getInt();
      if (auto rows = func->getAttrOfType<IntegerAttr>("kiln.max_seq_len"))
        model.maxSeqLen = rows.getInt();
      if (auto block =
              func->getAttrOfType<IntegerAttr>("kiln.kv_block_tokens"))
        model.kvBlockTokens = block.getInt();
    }
    if (entries.size() > 1 && entry.kind == KILN_ENTRY_RUN)
      return func.emitError("a model with several entries needs a KV cache "
                            "in each (kiln compile --max-seq-len)");
    for (const EntrySignature &other : model.entries)
      if (other.name == entry.name)
        return func.emitError("two entries would be called '")
               << entry.name << "' (one decode entry of 1 token and one "
               << "prefill entry of more are allowed)";
    FunctionType type = func.getFunctionType();
    // Inputs, then (stateful entries) the position, then the states.
    enum { Inputs, Position, States } part = Inputs;
    std::vector<StateSignature> states;
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      auto sig = tensorSignature(func, type.getInput(i), func.getArgAttrDict(i),
                                 "input", i);
      if (failed(sig))
        return failure();
      bool isPosition = bool(func.getArgAttr(i, "kiln.position"));
      bool isState = bool(func.getArgAttr(i, "kiln.state"));
      if (isPosition && part == Inputs && entry.kind != KILN_ENTRY_RUN) {
        part = Position;
        continue;
      }
      if (isState && part != Inputs) {
        part = States;
        StateSignature state;
        static_cast<TensorSignature &>(state) = *sig;
        if (func.getArgAttr(i, "kiln.paged"))
          state.flags |= KILN_STATE_PAGED;
        if (func.getArgAttr(i, "kiln.block_table"))
          state.flags |= KILN_STATE_BLOCK_TABLE;
        states.push_back(state);
        continue;
      }
      if (isPosition || isState || part != Inputs)
        return func.emitError("internal error: argument ")
               << i << " is out of order (inputs, position, states)";
      entry.inputs.push_back(*sig);
    }
    if (entry.kind != KILN_ENTRY_RUN &&
        (part != States || entry.tokens <= 0 || model.maxSeqLen <= 0))
      return func.emitError("internal error: a stateful entry needs a "
                            "position, states, tokens and max_seq_len");
    // Every stateful entry reads and appends the same caches.
    if (model.entries.empty()) {
      model.states = std::move(states);
    } else {
      bool same = states.size() == model.states.size();
      for (size_t i = 0; same && i < states.size(); ++i)
        same = states[i].name == model.states[i].name &&
               states[i].dtype == model.states[i].dtype &&
               states[i].shape == model.states[i].shape &&
               states[i].flags == model.states[i].flags;
      if (!same)
        return func.emitError("entry '")
               << entry.name << "' has other KV caches than entry '"
               << model.entries.front().name << "'";
    }
    for (unsigned i = 0; i < type.getNumResults(); ++i) {
      auto sig = tensorSignature(func, type.getResult(i),
                                 func.getResultAttrDict(i), "output", i);
      if (failed(sig))
        return failure();
      entry.outputs.push_back(*sig);
    }
    if (entry.outputs.empty())
      return func.emitError("the model has no outputs");
    entry.symbol = model.name + "_" + entry.name + "_kernel";
    if (failed(SymbolTable::replaceAllSymbolUses(
            func, StringAttr::get(module.getContext(), entry.symbol), module)))
      return failure();
    func.setSymName(entry.symbol);
    model.entries.push_back(std::move(entry));
  }
  return model;
}

void mlir::kiln::readWorkspaceSizes(ModuleOp module, ModelSignature &model) {
  auto sizes = module->getAttrOfType<DictionaryAttr>("kiln.workspace_bytes");
  for (EntrySignature &entry : model.entries)
    if (sizes)
      if (auto bytes = sizes.getAs<IntegerAttr>(entry.symbol))
        entry.workspaceBytes = bytes.getInt();
}

//===- HeaderEmitter.cpp - the C header of a compiled model ---------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/HeaderEmitter.h"

#include "kiln/abi.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
std::string shapeString(const TensorSignature &t) {
  std::string s;
  for (auto [i, d] : llvm::enumerate(t.shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

std::string dimsInitializer(const TensorSignature &t) {
  if (t.shape.empty())
    return "{0} /* rank 0: no dims; C has no empty initializer */";
  std::string s = "{";
  for (auto [i, d] : llvm::enumerate(t.shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "}";
}

/// C string literal for an arbitrary ONNX name.
std::string cString(StringRef s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    // '?' too: "??/" would be a trigraph in strict C modes.
    if (c == '"' || c == '\\' || c == '?')
      out += '\\', out += c;
    else if (c < 0x20 || c >= 0x7f)
      out += llvm::formatv("\\{0:o3}", (unsigned)c).str();
    else
      out += c;
  }
  return out + "\"";
}

/// A comment-safe rendering (no "*/").
std::string commentSafe(StringRef s) {
  std::string out = s.str();
  for (size_t pos; (pos = out.find("*/")) != std::string::npos;)
    out.replace(pos, 2, "*_/");
  return out;
}

const char *const kReserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
    "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned",
    "void", "volatile", "while", "bool", "true", "false", "ctx", "inputs",
    "outputs", "state", "class", "new", "delete", "this", "template", "namespace"};

void emitTensorMacros(llvm::raw_ostream &os, StringRef prefix,
                      const char *role, const char *macroRole, unsigned index,
                      const TensorSignature &t) {
  std::string m = (prefix + "_" + macroRole + Twine(index)).str();
  os << "/* " << role << " " << index << " \"" << commentSafe(t.name)
     << "\": " << dtypeName(t.dtype) << "[" << shapeString(t) << "] */\n";
  os << "#define " << m << "_NAME " << cString(t.name) << "\n";
  os << "#define " << m << "_DTYPE " << t.dtype << " /* "
     << dtypeName(t.dtype) << " */\n";
  os << "#define " << m << "_RANK " << t.shape.size() << "\n";
  os << "#define " << m << "_SIZE " << t.numElements() << " /* elements */\n";
  os << "#define " << m << "_DIMS " << dimsInitializer(t) << "\n";
}
} // namespace

namespace {
/// The macros of one entry's inputs and outputs, under `prefix`.
void emitEntryMacros(llvm::raw_ostream &os, StringRef prefix,
                     const EntrySignature &entry) {
  os << "#define " << prefix << "_NUM_INPUTS " << entry.inputs.size() << "\n";
  os << "#define " << prefix << "_NUM_OUTPUTS " << entry.outputs.size()
     << "\n";
  for (auto [i, t] : llvm::enumerate(entry.inputs))
    emitTensorMacros(os, prefix, "input", "INPUT", i, t);
  for (auto [i, t] : llvm::enumerate(entry.outputs))
    emitTensorMacros(os, prefix, "output", "OUTPUT", i, t);
  os << "/* Scratch bytes the run needs (held by the context). */\n";
  os << "#define " << prefix << "_WORKSPACE_BYTES " << entry.workspaceBytes
     << "\n\n";
}

/// `static inline <name>_<run|entry>(ctx, [state,] inputs..., outputs...)`
/// calling entry `index` of the descriptor.
void emitEntryFunction(llvm::raw_ostream &os, const ModelSignature &model,
                       const EntrySignature &entry, size_t index) {
  // Parameter names: the sanitized tensor names, made unique and kept
  // clear of C keywords and the function's own names.
  llvm::StringSet<> used;
  for (const char *r : kReserved)
    used.insert(r);
  // The kiln_ namespace belongs to the runtime, <name>_ to this model's own
  // functions: a parameter there could shadow a function the body calls.
  auto reserved = [&](StringRef name) {
    return used.contains(name) || name.starts_with("kiln_") ||
           name.starts_with("KILN_") || name.starts_with(model.name + "_");
  };
  auto paramName = [&](const TensorSignature &t, unsigned i,
                       const char *role) {
    std::string name = sanitizeIdentifier(t.name);
    if (reserved(name))
      name = (name + "_" + role + Twine(i)).str();
    used.insert(name);
    return name;
  };
  SmallVector<std::string> inNames, outNames;
  for (auto [i, t] : llvm::enumerate(entry.inputs))
    inNames.push_back(paramName(t, i, "in"));
  for (auto [i, t] : llvm::enumerate(entry.outputs))
    outNames.push_back(paramName(t, i, "out"));

  bool stateful = entry.kind != KILN_ENTRY_RUN;
  os << "/* Runs the model" << (stateful ? "'s " + entry.name + " entry" : "")
     << " on `ctx`" << (stateful ? " and `state`" : "");
  if (stateful)
    os << ", appending " << entry.tokens << " token(s) to its KV cache";
  os << ". Returns KILN_OK or a\n * status; kiln_last_error_message() says "
        "why. */\n";
  os << "static inline kiln_status_code " << model.name << "_"
     << (stateful ? entry.name : std::string("run")) << "(kiln_context *ctx"
     << (stateful ? ", kiln_state *state" : "");
  for (auto [i, t] : llvm::enumerate(entry.inputs))
    os << ",\n    const " << dtypeCType(t.dtype) << " *" << inNames[i];
  for (auto [i, t] : llvm::enumerate(entry.outputs))
    os << ",\n    " << dtypeCType(t.dtype) << " *" << outNames[i];
  os << ") {\n";
  os << "  const void *inputs[" << std::max<size_t>(1, entry.inputs.size())
     << "] = {";
  if (entry.inputs.empty())
    os << "0";
  for (auto [i, n] : llvm::enumerate(inNames))
    os << (i ? ", " : "") << n;
  os << "};\n";
  os << "  void *outputs[" << entry.outputs.size() << "] = {";
  for (auto [i, n] : llvm::enumerate(outNames))
    os << (i ? ", " : "") << n;
  os << "};\n";
  if (stateful)
    os << "  return kiln_model_run_state(ctx, " << model.name
       << "_descriptor(), " << index << ", state, inputs, outputs);\n}\n\n";
  else
    os << "  return kiln_model_run(ctx, " << model.name
       << "_descriptor(), inputs, outputs);\n}\n\n";
}
} // namespace

void mlir::kiln::emitCHeader(const ModelSignature &model, StringRef source,
                             StringRef headerFile, StringRef artifactFile,
                             llvm::raw_ostream &os) {
  std::string prefix = llvm::StringRef(model.name).upper();

  os << "/* " << commentSafe(headerFile) << ": generated by kiln from "
     << commentSafe(source) << ". Do not edit.\n"
     << " *\n"
     << " * Link with " << commentSafe(artifactFile) << " and libkiln_runtime:\n"
     << " *   cc app.c " << commentSafe(artifactFile)
     << " -lkiln_runtime -lm -lpthread -ldl\n"
     << (model.weightsFile.empty()
             ? ""
             : " * and ship " + commentSafe(model.weightsFile) +
                   " (the weights) with it.\n")
     << " * Buffers are dense, row-major (C order). Threading: a context is\n"
     << " * used by one thread at a time; the model itself is immutable.\n"
     << " */\n";
  std::string guard = "KILN_MODEL_" + prefix + "_H";
  os << "#ifndef " << guard << "\n#define " << guard << "\n\n";
  os << "#include <kiln/runtime.h>\n#include <stdint.h>\n\n";
  os << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  os << "/* The model's descriptor: entries, tensors, workspace size. */\n";
  os << "const kiln_model_desc *" << model.name << "_descriptor(void);\n\n";
  // The first entry's macros carry the model's prefix; later entries' add
  // their name (<NAME>_PREFILL_INPUT0_...).
  for (auto [i, entry] : llvm::enumerate(model.entries))
    emitEntryMacros(os, i == 0 ? prefix
                               : prefix + "_" + StringRef(entry.name).upper(),
                    entry);
  if (!model.weightsFile.empty()) {
    os << "/* The weights are in a separate file (kiln compile\n"
       << " * --weights=external), checked for size and checksum when loaded.\n"
       << " * Load it once, before the first run; `path` is where it is now. */\n";
    os << "#define " << prefix << "_WEIGHTS_FILE "
       << cString(model.weightsFile) << "\n";
    os << "static inline kiln_status_code " << model.name
       << "_load_weights(const char *path) {\n"
       << "  return kiln_model_load_weights(" << model.name
       << "_descriptor(), path);\n}\n\n";
  }
  if (!model.states.empty()) {
    os << "/* A compiler-owned KV cache (kiln compile --max-seq-len): the\n"
       << " * stateful entries append to a kiln_state holding at most\n"
       << " * " << prefix << "_MAX_SEQ_LEN tokens; see kiln/state.h. */\n";
    os << "#define " << prefix << "_MAX_SEQ_LEN " << model.maxSeqLen << "\n";
    os << "#define " << prefix << "_NUM_STATES " << model.states.size()
       << "\n";
    uint64_t stateBytes = 0;
    for (const StateSignature &st : model.states)
      stateBytes += st.bytes();
    os << "#define " << prefix << "_STATE_BYTES " << stateBytes << "\n";
    for (const EntrySignature &entry : model.entries)
      os << "#define " << prefix << "_" << StringRef(entry.name).upper()
         << "_TOKENS " << entry.tokens << "\n";
    os << "static inline kiln_status_code " << model.name
       << "_state_create(kiln_state **out) {\n"
       << "  return kiln_state_create(" << model.name
       << "_descriptor(), NULL, out);\n}\n\n";
    if (model.kvBlockTokens > 0) {
      os << "/* Paged (kiln compile --kv-block): many sequences share one\n"
         << " * pool of blocks of " << prefix << "_KV_BLOCK_TOKENS tokens. */\n"
         << "#define " << prefix << "_KV_BLOCK_TOKENS " << model.kvBlockTokens
         << "\n"
         << "static inline kiln_status_code " << model.name
         << "_kv_pool_create(kiln_kv_pool **out) {\n"
         << "  return kiln_kv_pool_create(" << model.name
         << "_descriptor(), NULL, out);\n}\n\n";
    }
  }
  for (auto [i, entry] : llvm::enumerate(model.entries))
    emitEntryFunction(os, model, entry, i);
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
}

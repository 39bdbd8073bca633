//===- Artifact.h - what a compiled model exposes -----------------*- C++ -*-===//
//
// Part of kiln. The model's public signature (entries, their inputs and
// outputs with names, dtypes and static shapes), read from the kiln-level
// entry functions before lowering. The header emitter and the object
// emitter's descriptor both write it out, so they cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_ARTIFACT_H
#define KILN_CODEGEN_ARTIFACT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include <string>
#include <vector>

namespace mlir {
namespace kiln {

struct TensorSignature {
  std::string name;   // the ONNX name
  int32_t dtype = 0;  // kiln_dtype
  SmallVector<int64_t> shape;
  int64_t numElements() const;
};

struct EntrySignature {
  std::string name;   // "run", "prefill" or "decode"
  int32_t kind = 0;   // kiln_entry_kind
  int64_t tokens = 0; // rows a stateful entry appends to its caches
  std::string symbol; // the kernel function's symbol in the module
  std::vector<TensorSignature> inputs, outputs;
  uint64_t workspaceBytes = 0; // filled in after memory planning
};

/// A persistent tensor the entries share (a KV cache), in the order the
/// kernels take them after their inputs and the position.
struct StateSignature : TensorSignature {
  int32_t flags = 0; // kiln_state_flags: a paged pool, the block table
  uint64_t bytes() const;
};

struct ModelSignature {
  std::string name; // symbol prefix, a C identifier
  std::vector<EntrySignature> entries;
  std::vector<StateSignature> states;
  int64_t maxSeqLen = 0; // rows of each cache; 0 without states
  int64_t kvBlockTokens = 0; // tokens per block of paged caches; 0: none
  std::string weightsFile; // external weight file's name; empty: embedded
};

/// kiln_dtype of an MLIR element type, or 0 (KILN_DTYPE_INVALID).
int32_t dtypeOf(Type elementType);
/// "float32", "int64", ... for messages and header comments.
const char *dtypeName(int32_t dtype);
/// The C type the header uses for a dtype's buffers ("float", "int64_t").
const char *dtypeCType(int32_t dtype);
/// Replaces characters that may not appear in a C identifier with '_'.
std::string sanitizeIdentifier(StringRef name);

/// Reads every `kiln.entry` function of `module` (at the kiln/tensor level)
/// into a signature (a stateful entry's arguments are its inputs, then the
/// `kiln.position` scalar, then its `kiln.state` caches), renames each kernel to `<modelName>_<entry>_kernel` so
/// several models link into one program, and reports unsupported I/O types.
FailureOr<ModelSignature> prepareEntries(ModuleOp module, StringRef modelName);

/// Reads the workspace sizes the memory planner recorded on the module.
void readWorkspaceSizes(ModuleOp module, ModelSignature &signature);

} // namespace kiln
} // namespace mlir

#endif // KILN_CODEGEN_ARTIFACT_H

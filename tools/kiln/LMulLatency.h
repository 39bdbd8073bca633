//===- LMulLatency.h - measured CPU latency with and without L-Mul -*- C++ -*-===//
//
// Part of kiln. For `kiln compile --report`: the energy estimate says what
// L-Mul would save on hardware with an adder datapath; this says what it
// costs on the CPU the compile targets, where it is an integer-SIMD
// emulation, by compiling and timing both builds here.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_LMULLATENCY_H
#define KILN_TOOLS_KILN_LMULLATENCY_H

#include "compiler/Compiler.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {

/// Compiles `options`' model into two temporary shared libraries -- fp32,
/// and with L-Mul as `options` places it (or every matmul when it places
/// none) -- runs each `runs` times on one thread on deterministic inputs,
/// alternating, and prints the medians to `os`; for a target this CPU
/// cannot run (a cross-compile), it says so instead. Returns false (with the
/// diagnostics already printed, or `error` set) on failure.
bool reportLMulLatency(mlir::MLIRContext &context,
                       const mlir::kiln::CompileOptions &options, int runs,
                       llvm::raw_ostream &os, std::string &error);

} // namespace kiln

#endif // KILN_TOOLS_KILN_LMULLATENCY_H

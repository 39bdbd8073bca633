//===- Conformance.h - kiln conformance: cases, results, reports --*- C++
//-*-===//
//
// Part of kiln. `kiln conformance` runs the ONNX backend node tests: each
// case is a folder with model.onnx and test_data_set_<N>/{input,output}_<i>.pb.
// The parent process schedules one child per case (`kiln conformance --one
// CASE --json`), so a crash or hang costs one case, not the run; the child
// compiles, runs and compares (ConformanceCase.cpp) and prints a CaseResult
// as JSON; the parent classifies what came back and writes the reports
// (ConformanceReport.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_CONFORMANCE_H
#define KILN_TOOLS_KILN_CONFORMANCE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mlir::kiln::onnx {
struct ModelInfo;
} // namespace mlir::kiln::onnx

namespace kiln::conformance {

/// How a case ended. Every counted case has exactly one.
enum class Outcome {
  Pass,
  WrongResult,   // ran, but an output differs (or has the wrong dtype/shape)
  CompileError,  // the compiler rejected the model (message: its diagnostic)
  UnsupportedOp, // the model uses ops the importer has no handler for
  RuntimeError,  // loading or running returned an error status
  Crash,         // the child died from a signal (or exited without a result)
  Timeout,       // the child ran past --timeout and was killed
  Excluded       // training-only: not run, not counted
};
constexpr Outcome kCountedOutcomes[] = {
    Outcome::Pass,          Outcome::WrongResult,  Outcome::CompileError,
    Outcome::UnsupportedOp, Outcome::RuntimeError, Outcome::Crash,
    Outcome::Timeout};

/// "pass", "wrong_result", "compile_error", ... (as in the JSON report).
llvm::StringRef outcomeName(Outcome outcome);
/// "pass", "wrong result", "compile error", ... (for the summary).
llvm::StringRef outcomeLabel(Outcome outcome);
std::optional<Outcome> parseOutcome(llvm::StringRef name);

/// The suite's tolerances: |actual - expected| <= atol + rtol * |expected|
/// for floating-point outputs (NaN equals NaN); integers and booleans exact.
struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

struct CaseResult {
  std::string name;
  Outcome outcome = Outcome::Crash;
  /// Compiler diagnostic, mismatch description, signal, exclusion reason...
  std::string message;
  /// Distinct op types of the model (domain-prefixed outside ai.onnx).
  std::vector<std::string> ops;
  /// The op the case tests (see primaryOp), for the per-op table.
  std::string op;
  std::vector<std::string> unsupportedOps;
  /// Graph inputs the compiler needed as compile-time constants, bound to
  /// the test data's values (CaseOptions::bindConstantInputs).
  std::vector<std::string> constantInputs;
  /// Largest errors over all compared float elements (wrong results).
  std::optional<double> maxAbsError, maxRelError;
  /// Wall time of the whole case (child process), compile and run parts.
  double seconds = 0, compileSeconds = 0, runSeconds = 0;
};

nlohmann::ordered_json toJson(const CaseResult &result);
/// Reads what `toJson` wrote; false on a malformed object.
bool fromJson(const nlohmann::json &j, CaseResult &result);

//===----------------------------------------------------------------------===//
// One case (the child)
//===----------------------------------------------------------------------===//

struct CaseOptions {
  /// LLVM optimization level of the compile.
  unsigned optLevel = 3;
  /// Where the compiled .so and header go (created if missing).
  std::string workDir;
  /// Print "kiln conformance: <phase>" lines to stderr (for the parent).
  bool tracePhases = false;
  /// When the compiler rejects the model because a graph input must be a
  /// compile-time constant (a Reshape's shape, a reduction's axes, a Pad's
  /// pads), bind that input to the test data's value and compile again: the
  /// model is specialized to it, as --shape specializes symbolic dims.
  bool bindConstantInputs = true;
};

/// Compiles, runs and checks the case in `caseDir` in this process. With
/// `tracePhases`, prints "kiln conformance: <phase>" lines to stderr as it
/// goes, so that the parent can tell where a crashed child was.
CaseResult runCase(llvm::StringRef caseDir, const CaseOptions &options);

//===----------------------------------------------------------------------===//
// Case selection
//===----------------------------------------------------------------------===//

/// Op types and rules excluded as training-only, for the reports.
const std::vector<std::string> &trainingExclusionRules();

/// Why a model is excluded as training-only, or "" when it is counted:
/// any op in the ai.onnx.preview.training domain (Adagrad, Adam, Momentum,
/// Gradient), any op named *Grad, and Dropout given a training_mode input
/// (the random-mask training form).
std::string trainingExclusion(const mlir::kiln::onnx::ModelInfo &info);

/// Distinct op types of a model, in order of first appearance.
std::vector<std::string> distinctOps(const mlir::kiln::onnx::ModelInfo &info);

/// Reads an expected-pass list: one case name per line, '#' comments and
/// blank lines ignored. False with `error` set when unreadable.
bool readExpectedList(llvm::StringRef path, std::vector<std::string> &names,
                      std::string &error);

//===----------------------------------------------------------------------===//
// Reports
//===----------------------------------------------------------------------===//

struct RunInfo {
  std::string dataDir;
  /// onnx version from the generator's stamp, when known.
  std::string onnxVersion;
  unsigned jobs = 0, optLevel = 3, timeoutSeconds = 0;
  bool bindConstantInputs = true;
  double wallSeconds = 0;
  /// Cases in the data directory (before --filter / --expected).
  size_t casesFound = 0;
};

/// The JSON report: run info, totals, per-class counts, unsupported ops by
/// case count, per-op table and every case.
nlohmann::ordered_json makeReport(const RunInfo &info,
                                  const std::vector<CaseResult> &results);

/// The readable summary: counts per class, pass %, top unsupported ops, the
/// per-op pass table (when `perOp`).
void printSummary(llvm::raw_ostream &os, const RunInfo &info,
                  const std::vector<CaseResult> &results, bool perOp,
                  size_t topUnsupported = 20);

} // namespace kiln::conformance

#endif // KILN_TOOLS_KILN_CONFORMANCE_H

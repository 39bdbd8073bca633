//===- kiln.cpp - the kiln command-line driver ----------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Commands.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

int kiln::fail(StringRef command, const Twine &message) {
  WithColor::error(errs(), ("kiln " + command).str()) << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "kiln 0.1.0 (MLIR/LLVM " << LLVM_VERSION_STRING << ")\n";
  });
  const char *overview =
      "kiln: an ahead-of-time compiler for ONNX models\n\n"
      "  kiln compile model.onnx -o out/model.o   native object + out/model.h\n"
      "  kiln compile model.onnx -o out/model.so  shared library + header\n"
      "  kiln run out/model.so --input x=x.npy --output-dir out/\n"
      "  kiln bench out/model.so --threads 2 --iterations 50\n"
      "  kiln inspect model.onnx                  ops, opset, params, I/O\n"
      "  kiln conformance [DIR] --report r.json   ONNX backend node tests\n\n"
      "Run 'kiln <command> --help' for a command's options.\n";
  if (!cl::ParseCommandLineOptions(argc, argv, overview, &errs()))
    return 1;
  if (kiln::compileCommand)
    return kiln::compileMain();
  if (kiln::runCommand)
    return kiln::runMain();
  if (kiln::benchCommand)
    return kiln::benchMain();
  if (kiln::inspectCommand)
    return kiln::inspectMain();
  if (kiln::conformanceCommand)
    return kiln::conformanceMain();
  errs() << "kiln: no command given. Commands: compile, run, bench, inspect, conformance.\n"
            "Run 'kiln --help' for an overview.\n";
  return 1;
}

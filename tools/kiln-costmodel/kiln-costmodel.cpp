//===- kiln-costmodel.cpp - collect, train and evaluate cost models -------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-costmodel/Commands.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

int kiln::costmodel::fail(StringRef command, const Twine &message) {
  WithColor::error(errs(), ("kiln-costmodel " + command).str())
      << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  const char *overview =
      "kiln-costmodel: kiln's learned kernel cost model\n\n"
      "  kiln-costmodel collect --out data.jsonl [--minutes 25] [--shard i/n]\n"
      "  kiln-costmodel train --data data.jsonl --out model.json\n"
      "  kiln-costmodel eval --data data.jsonl --model model.json [--json m.json]\n\n"
      "Run 'kiln-costmodel <command> --help' for a command's options.\n";
  if (!cl::ParseCommandLineOptions(argc, argv, overview, &errs()))
    return 1;
  if (kiln::costmodel::collectCommand)
    return kiln::costmodel::collectMain();
  if (kiln::costmodel::trainCommand)
    return kiln::costmodel::trainMain();
  if (kiln::costmodel::evalCommand)
    return kiln::costmodel::evalMain();
  errs() << "kiln-costmodel: no command given. Commands: collect, train, eval.\n";
  return 1;
}

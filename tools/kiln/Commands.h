//===- Commands.h - the kiln driver's subcommands -----------------*- C++ -*-===//
//
// Part of kiln. Each subcommand lives in its own file with its own
// llvm::cl options; kiln.cpp dispatches on the one the user chose.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_COMMANDS_H
#define KILN_TOOLS_KILN_COMMANDS_H

#include "llvm/Support/CommandLine.h"

namespace kiln {

extern llvm::cl::SubCommand compileCommand;
extern llvm::cl::SubCommand runCommand;
extern llvm::cl::SubCommand benchCommand;
extern llvm::cl::SubCommand inspectCommand;
extern llvm::cl::SubCommand conformanceCommand;

int compileMain();
int runMain();
int benchMain();
int inspectMain();
int conformanceMain();

/// Prints "kiln <cmd>: error: <message>" to stderr and returns 1.
int fail(llvm::StringRef command, const llvm::Twine &message);

} // namespace kiln

#endif // KILN_TOOLS_KILN_COMMANDS_H

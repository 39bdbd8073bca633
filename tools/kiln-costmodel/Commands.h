//===- Commands.h - kiln-costmodel's subcommands ------------------*- C++ -*-===//
//
// Part of kiln. collect (measure kernels), train (fit XGBoost), eval
// (Kendall tau, MAPE, top-1 regret on held-out shapes). Each subcommand
// lives in its own file with its own llvm::cl options.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_COSTMODEL_COMMANDS_H
#define KILN_TOOLS_KILN_COSTMODEL_COMMANDS_H

#include "llvm/Support/CommandLine.h"

namespace kiln::costmodel {

extern llvm::cl::SubCommand collectCommand;
extern llvm::cl::SubCommand trainCommand;
extern llvm::cl::SubCommand evalCommand;

int collectMain();
int trainMain();
int evalMain();

/// Prints "kiln-costmodel <cmd>: error: <message>" and returns 1.
int fail(llvm::StringRef command, const llvm::Twine &message);

} // namespace kiln::costmodel

#endif // KILN_TOOLS_KILN_COSTMODEL_COMMANDS_H

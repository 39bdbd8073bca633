//===- Registration.h - register kiln dialects and passes ---------*- C++ -*-===//
//
// Part of kiln. One place that knows every dialect and pass kiln uses, for
// the driver, kiln-opt and plugins.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_REGISTRATION_H
#define KILN_COMPILER_REGISTRATION_H

namespace mlir {
class DialectRegistry;
namespace kiln {

/// Adds the kiln dialect and every upstream dialect (with its interface
/// models) that kiln's pipelines produce.
void registerAllDialects(DialectRegistry &registry);

/// Registers kiln's passes and the upstream passes its pipelines use, so
/// they can be named in textual pipelines (kiln-opt, --plugin-pipeline).
void registerAllPasses();

} // namespace kiln
} // namespace mlir

#endif // KILN_COMPILER_REGISTRATION_H

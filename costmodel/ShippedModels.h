//===- ShippedModels.h - the XGBoost models built into kiln -------*- C++ -*-===//
//
// Part of kiln. costmodel/models/*.json, embedded at build time so an
// installed kiln needs no data files.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COSTMODEL_SHIPPEDMODELS_H
#define KILN_COSTMODEL_SHIPPEDMODELS_H

namespace mlir::kiln {

/// The JSON of the model trained for x86-64 with `vectorBits`-wide float
/// vectors (512: AVX-512, 256: AVX2), or null if none ships.
const char *shippedModelFor(unsigned vectorBits);

} // namespace mlir::kiln

#endif // KILN_COSTMODEL_SHIPPEDMODELS_H

//===- KilnDialect.td - kiln dialect definition ------------*- tablegen -*-===//
//
// Part of kiln. The kiln dialect: tensor-level, static-shaped model ops close
// to ONNX semantics but normalized (explicit attributes, no implicit optional
// inputs, broadcasting verified).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT
#define KILN_DIALECT

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let summary = "Static-shaped, tensor-level model ops for the kiln compiler.";
  let description = [{
    The kiln dialect is the first IR an imported ONNX model lives in. Every op
    works on ranked tensors with static shapes (symbolic ONNX dims are fixed
    at import time). Compared with ONNX, kiln ops are normalized: attributes
    are explicit and canonical (axes non-negative, pads spelled out), optional
    inputs are materialized, and broadcasting follows numpy rules verified by
    each op. Decisions later passes make (tile configs, L-Mul modes, KV
    layouts) are recorded as attributes on the ops.
  }];
  let cppNamespace = "::mlir::kiln";
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 0;
  let hasConstantMaterializer = 1;
  let extraClassDeclaration = [{
    /// Adds the attributes of KilnAttrs.td (KilnAttrs.cpp).
    void registerAttributes();
  }];
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

#endif // KILN_DIALECT

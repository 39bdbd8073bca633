//===- KilnAttrs.td - kiln dialect attributes ---------------*- tablegen -*-===//
//
// Part of kiln. Attributes that record decisions graph passes make, so that
// `kiln compile --emit=mlir` shows every one of them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_ATTRS
#define KILN_ATTRS

include "dialects/Kiln/KilnDialect.td"
include "mlir/IR/AttrTypeBase.td"

class Kiln_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Kiln_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Kiln_LMulAttr : Kiln_Attr<"LMul", "lmul"> {
  let summary = "L-Mul mode of a multiplication: operand format and rounding.";
  let description = [{
    Present on `kiln.matmul`, `kiln.conv2d` or `kiln.mul`, it replaces every
    scalar product of the op by L-Mul (Luo & Sun 2024): one integer add of
    the operands' exponent|mantissa bits minus a constant, emulated in fp32
    bit patterns, with sums accumulated in f32. Operands are first rounded to
    `mantissa` bits (`rounding` = "nearest" (ties to even) or "truncate"),
    saturated to the `format`'s largest finite value and flushed to zero
    below its smallest normal. `format` is one of fp32, bf16, fp16, e4m3
    (OCP e4m3fn: max 448), e5m2; `mantissa` is 1 up to the format's mantissa
    width. The offset is 2^-l(mantissa) with l(k) = k for k <= 3, 3 for
    k = 4 and 4 above. Overflow saturates, NaN/Inf propagate. The exact
    semantics are in dialects/Kiln/LMulNumerics.h.

    ```mlir
    %c = kiln.matmul %a, %b {lmul = #kiln.lmul<format = "e4m3", mantissa = 3,
                                               rounding = "nearest">}
         : tensor<4x8xf32>, tensor<8x16xf32>
    ```
  }];
  let parameters = (ins StringRefParameter<"operand format">:$format,
                        "unsigned":$mantissa,
                        StringRefParameter<"nearest or truncate">:$rounding);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The fp32-container constants of this mode (valid once verified).
    ::mlir::kiln::lmul::Params getParams() const;
  }];
}

def Kiln_WeightQuantAttr : Kiln_Attr<"WeightQuant", "weight_quant"> {
  let summary = "Group-wise integer weight quantization: bits and group size.";
  let description = [{
    On `kiln.quantized_matmul`: each weight is an integer of `bits` bits
    (2 to 8), and every `group` consecutive weights along the
    reduction dim K of one output column share a scale (and a zero point
    when the op has them). Signed weights span [-2^(bits-1), 2^(bits-1)-1],
    unsigned ones [0, 2^bits - 1].

    ```mlir
    #kiln.weight_quant<bits = 4, group = 32>
    ```
  }];
  let parameters = (ins "unsigned":$bits, "int64_t":$group);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // KILN_ATTRS

#!/usr/bin/env python3
"""MatMulInteger nodes in the forms kiln's int8 kernel takes and in those it
leaves to the generic integer lowering, for run_e2e.py to compare with ONNX
Runtime exactly (int32 outputs, rtol 0, atol 0).

usage: matmulinteger_models.py NAME OUT.onnx
       matmulinteger_models.py --list

Kernel forms (int8 B constant, zero point 0 or absent): uint8 or int8 A,
with a zero point that is a constant, a graph input (known only at run
time, as DynamicQuantizeLinear's) or absent; K with a tail that is not a
multiple of 4 or 16, N not a multiple of the 64-column panel, rank-3 A.
Fallback forms: B's zero point not 0, uint8 B, B a graph input.
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# name -> (A dtype, A shape, N, A zero point: None | "input" | value,
#          B dtype, B zero point or None, B constant?)
MODELS = {
    "u8_zp_input_rank3": (np.uint8, [2, 5, 37], 20, "input", np.int8, None, True),
    "u8_zp_const": (np.uint8, [6, 64], 70, 131, np.int8, 0, True),
    "u8_no_zp": (np.uint8, [1, 100], 33, None, np.int8, None, True),
    "i8_zp_const": (np.int8, [7, 64], 20, -3, np.int8, None, True),
    "i8_zp_input": (np.int8, [13, 19], 130, "input", np.int8, 0, True),
    "i8_no_zp": (np.int8, [3, 19], 70, None, np.int8, None, True),
    # Not the kernel's form: computed by casts and an i32 matmul.
    "b_zp_nonzero": (np.uint8, [4, 24], 16, 7, np.int8, 2, True),
    "b_uint8": (np.uint8, [4, 24], 16, 7, np.uint8, 128, True),
    "b_input": (np.uint8, [4, 24], 16, 7, np.int8, None, False),
}

ONNX_TYPE = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}


def random_ints(rng, dtype, shape):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def model(name, a_dtype, a_shape, n, a_zp, b_dtype, b_zp, b_const, seed=0):
    rng = np.random.default_rng(seed)
    k = a_shape[-1]
    vi = helper.make_tensor_value_info
    inputs = [vi("A", ONNX_TYPE[a_dtype], a_shape)]
    inits = []
    names = ["A", "B", "", ""]
    if b_const:
        inits.append(numpy_helper.from_array(random_ints(rng, b_dtype, [k, n]), "B"))
    else:
        inputs.append(vi("B", ONNX_TYPE[b_dtype], [k, n]))
    if a_zp == "input":
        inputs.append(vi("a_zp", ONNX_TYPE[a_dtype], []))
        names[2] = "a_zp"
    elif a_zp is not None:
        inits.append(numpy_helper.from_array(np.array(a_zp, a_dtype), "a_zp"))
        names[2] = "a_zp"
    if b_zp is not None:
        inits.append(numpy_helper.from_array(np.array(b_zp, b_dtype), "b_zp"))
        names[3] = "b_zp"
    while names[-1] == "":
        names.pop()
    node = helper.make_node("MatMulInteger", names, ["Y"], name="mmi")
    out_shape = list(a_shape[:-1]) + [n]
    graph = helper.make_graph([node], name, inputs,
                              [vi("Y", TensorProto.INT32, out_shape)],
                              initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    onnx.checker.check_model(m)
    return m


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--list", action="store_true")
    a = p.parse_args(argv)
    if a.list or not a.name:
        print("\n".join(MODELS))
        return 0
    if a.name not in MODELS:
        p.error(f"unknown model {a.name}")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    onnx.save(model(a.name, *MODELS[a.name]), a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

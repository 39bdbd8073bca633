#!/usr/bin/env python3
"""An 8-bit embedding as QDQ models store it: Gather(DequantizeLinear(table
uint8 [V, D], scale, zero point), ids) -> [1, S, D] float, written for
qdq_gather.test (kiln gathers the 8-bit rows, then dequantizes them).

usage: qdq_gather_model.py OUT.onnx
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(vocab=2000, dim=48, seq=7, seed=0):
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 256, (vocab, dim)).astype(np.uint8)
    inits = [numpy_helper.from_array(table, "table_q"),
             numpy_helper.from_array(np.array(0.0173, np.float32), "scale"),
             numpy_helper.from_array(np.array(131, np.uint8), "zero_point")]
    nodes = [helper.make_node("DequantizeLinear", ["table_q", "scale", "zero_point"],
                              ["table"], name="dq"),
             helper.make_node("Gather", ["table", "ids"], ["Y"], axis=0, name="embed")]
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "qdq_gather", [vi("ids", TensorProto.INT64, [1, seq])],
                              [vi("Y", TensorProto.FLOAT, [1, seq, dim])], initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    onnx.checker.check_model(m)
    return m


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    onnx.save(model(), sys.argv[1])

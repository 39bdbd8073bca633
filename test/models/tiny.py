"""Tiny models for importer and driver error paths.

  bad_unknown_op     a node with op_type "FooBar" named "foo_node" (opset 17);
                     the compiler must refuse it with a clear error.
  initializer_forms  one initializer in each TensorProto storage form: raw_data,
                     float_data (incl. a 0-d scalar), int32_data, int64_data, and
                     external data in `<model>.data` next to the model (two
                     tensors, the second at a non-zero offset). The output
                     depends on every one of them.
  symbolic_dim       input `x` [batch, 8] (dim_param "batch") -> MatMul -> Relu.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from util import GraphBuilder, mark_external


def build_bad_unknown_op(seed: int = 0):
    b = GraphBuilder("bad_unknown_op")
    x = b.input("x", np.float32, [2, 4])
    h = b.op("Relu", [x])
    h = b.op("FooBar", [h], name="foo_node")
    b.nodes[-1].name = "foo_node"  # exact name, no scope prefix
    b.output(h, np.float32, [2, 4], name="y")
    return b.model(doc=__doc__)


def build_initializer_forms(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("initializer_forms")
    x = b.input("x", np.float32, [2, 8])

    w_raw = (rng.standard_normal((8, 8)) / np.sqrt(8)).astype(np.float32)
    t = numpy_helper.from_array(w_raw, "w_raw")                      # raw_data
    assert t.HasField("raw_data")
    b.add_initializer(t)

    bias = (rng.standard_normal(8) * 0.1).astype(np.float32)
    t = helper.make_tensor("b_float_data", TensorProto.FLOAT, [8], bias.tolist())
    assert len(t.float_data) == 8 and not t.raw_data                # float_data
    b.add_initializer(t)

    scale = rng.integers(1, 4, 8).astype(np.int32) * rng.choice([-1, 1], 8).astype(np.int32)
    t = helper.make_tensor("s_int32_data", TensorProto.INT32, [8], scale.tolist())
    assert len(t.int32_data) == 8 and not t.raw_data                # int32_data
    b.add_initializer(t)

    offs = rng.integers(-3, 4, 8).astype(np.int64)
    t = helper.make_tensor("o_int64_data", TensorProto.INT64, [8], offs.tolist())
    assert len(t.int64_data) == 8 and not t.raw_data                # int64_data
    b.add_initializer(t)

    w_ext = (rng.standard_normal((8, 8)) / np.sqrt(8)).astype(np.float32)
    b.add_initializer(mark_external(numpy_helper.from_array(w_ext, "w_external")))
    b_ext = (rng.standard_normal(8) * 0.1).astype(np.float32)
    b.add_initializer(mark_external(numpy_helper.from_array(b_ext, "b_external")))

    t = helper.make_tensor("scalar_float_data", TensorProto.FLOAT, [], [0.5])
    assert len(t.float_data) == 1                                   # 0-d float_data
    b.add_initializer(t)
    t = helper.make_tensor("shape_int64_data", TensorProto.INT64, [2], [4, 4])
    b.add_initializer(t)

    h = b.op("MatMul", [x, "w_raw"])
    h = b.op("Add", [h, "b_float_data"])
    h = b.op("Mul", [h, b.op("Cast", ["s_int32_data"], to=TensorProto.FLOAT)])
    h = b.op("Add", [h, b.op("Cast", ["o_int64_data"], to=TensorProto.FLOAT)])
    h = b.op("MatMul", [h, "w_external"])
    h = b.op("Add", [h, "b_external"])
    h = b.op("Mul", [h, "scalar_float_data"])
    h = b.op("Reshape", [h, "shape_int64_data"])
    b.output(h, np.float32, [4, 4], name="y")
    return b.model(doc=__doc__)


def build_symbolic_dim(seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("symbolic_dim")
    x = b.input("x", np.float32, ["batch", 8])
    w = b.init("w", (rng.standard_normal((8, 16)) / np.sqrt(8)).astype(np.float32))
    h = b.op("Relu", [b.op("MatMul", [x, w])])
    b.output(h, np.float32, ["batch", 16], name="y")
    return b.model(doc=__doc__)

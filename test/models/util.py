"""Shared helpers for kiln's test-model generators.

`GraphBuilder` writes ONNX graphs the way PyTorch's TorchScript exporter does:
scoped node names (`/layer.0/attn/MatMul`), output names `<node>_output_0`,
small constants as `Constant` nodes, weights as initializers.

`sanitize` is the file-naming rule shared by make_inputs.py, reference.py,
run_e2e.py and the `kiln run` driver: every character outside
[A-Za-z0-9_.-] becomes `_` (so `logits:0` -> `logits_0.npy`), per UTF-8 byte;
"", "." and ".." get a leading `_`.
"""

import contextlib
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DEFAULT_OPSET = 17
# IR version PyTorch's exporter writes for opsets 15-17.
DEFAULT_IR_VERSION = 8
PRODUCER = "kiln-test-models"

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def sanitize(name: str) -> str:
    """File stem for a tensor name, byte for byte as `kiln run` writes it: each
    UTF-8 byte outside [A-Za-z0-9_.-] becomes '_'; "", "." and ".." get a
    leading '_'."""
    out = "".join(chr(c) if c in _SAFE else "_" for c in name.encode("utf-8"))
    return "_" + out if out in ("", ".", "..") else out


def he_normal(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def xavier_normal(rng, shape, fan_in, fan_out=None):
    fan_out = fan_in if fan_out is None else fan_out
    return (rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))).astype(
        np.float32
    )


def small(rng, shape, scale=0.05):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def np_dtype_to_onnx(dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class GraphBuilder:
    """Small exporter-style graph builder.

    b = GraphBuilder("mlp")
    x = b.input("input", np.float32, [4, 64])
    with b.scope("/fc1"):
        y = b.op("Gemm", [x, b.init("fc1.weight", w), b.init("fc1.bias", bias)],
                 transB=1)
    b.output(y, np.float32, [4, 10], name="output")
    model = b.model()
    """

    def __init__(self, name: str, opset: int = DEFAULT_OPSET):
        self.name = name
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []
        self._scopes = []
        self._used_node_names = {}
        self._init_names = set()

    # -- naming ---------------------------------------------------------------
    @contextlib.contextmanager
    def scope(self, name: str):
        self._scopes.append(name.strip("/"))
        try:
            yield
        finally:
            self._scopes.pop()

    def _node_name(self, op_type: str, name=None) -> str:
        base = name or op_type
        prefix = "/" + "/".join(self._scopes) if self._scopes else ""
        full = f"{prefix}/{base}"
        n = self._used_node_names.get(full, 0)
        self._used_node_names[full] = n + 1
        return full if n == 0 else f"{full}_{n}"

    # -- graph pieces ---------------------------------------------------------
    def input(self, name, dtype, shape):
        self.inputs.append(
            helper.make_tensor_value_info(name, np_dtype_to_onnx(dtype), shape)
        )
        return name

    def output(self, value, dtype, shape, name=None):
        """Mark `value` as a graph output, renaming it via Identity if needed."""
        if name is not None and name != value:
            self.nodes.append(
                helper.make_node(
                    "Identity", [value], [name], name=self._node_name("Identity")
                )
            )
            value = name
        self.outputs.append(
            helper.make_tensor_value_info(value, np_dtype_to_onnx(dtype), shape)
        )
        return value

    def init(self, name: str, array) -> str:
        """Add a weight initializer (raw_data storage)."""
        if name in self._init_names:
            raise ValueError(f"duplicate initializer {name}")
        self._init_names.add(name)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def add_initializer(self, tensor: TensorProto) -> str:
        if tensor.name in self._init_names:
            raise ValueError(f"duplicate initializer {tensor.name}")
        self._init_names.add(tensor.name)
        self.initializers.append(tensor)
        return tensor.name

    def const(self, value, dtype=None) -> str:
        """A `Constant` node, as the exporter emits for scalars and shapes."""
        arr = np.asarray(value, dtype=dtype)
        node_name = self._node_name("Constant")
        out = f"{node_name}_output_0"
        self.nodes.append(
            helper.make_node(
                "Constant",
                [],
                [out],
                name=node_name,
                value=numpy_helper.from_array(arr, ""),
            )
        )
        return out

    def i64(self, *values) -> str:
        """1-D int64 Constant (shapes, axes, starts/ends)."""
        return self.const(np.array(values, dtype=np.int64))

    def f32(self, value) -> str:
        """0-D float32 Constant."""
        return self.const(np.array(value, dtype=np.float32))

    def op(self, op_type, inputs, outputs=1, name=None, domain=None, **attrs):
        node_name = self._node_name(op_type, name)
        if isinstance(outputs, int):
            outs = [f"{node_name}_output_{i}" for i in range(outputs)]
        else:
            outs = list(outputs)
        node = helper.make_node(
            op_type, list(inputs), outs, name=node_name, domain=domain, **attrs
        )
        self.nodes.append(node)
        return outs[0] if len(outs) == 1 else outs

    # -- finishing ------------------------------------------------------------
    def model(self, doc: str = "", metadata=None) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            self.name,
            self.inputs,
            self.outputs,
            initializer=self.initializers,
            doc_string=doc,
        )
        model = helper.make_model(
            graph,
            producer_name=PRODUCER,
            opset_imports=[helper.make_opsetid("", self.opset)],
        )
        model.ir_version = DEFAULT_IR_VERSION if self.opset <= 17 else 9
        for k, v in (metadata or {}).items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, str(v)
        return model


# -- exporter-style idioms used by several models -------------------------------


def shape_dims(b: GraphBuilder, x: str, *indices) -> list:
    """`x.size(i)` for each index: Shape -> Gather(scalar) per dim."""
    shape = b.op("Shape", [x])
    dims = []
    for i in indices:
        dims.append(b.op("Gather", [shape, b.const(np.array(i, np.int64))], axis=0))
    return dims


def concat_shape(b: GraphBuilder, parts) -> str:
    """Concat of scalar dims (Unsqueeze'd) and int constants into a 1-D shape."""
    pieces = []
    for p in parts:
        if isinstance(p, (int, np.integer)):
            pieces.append(b.i64(int(p)))
        else:
            pieces.append(b.op("Unsqueeze", [p, b.i64(0)]))
    return b.op("Concat", pieces, axis=0)


# -- saving ---------------------------------------------------------------------

EXTERNAL_MARK = "__kiln_external__"
EXTERNAL_ALIGN = 64


def mark_external(tensor: TensorProto) -> TensorProto:
    """Flag a tensor (holding raw_data) to be moved to the side file on save."""
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", EXTERNAL_MARK
    return tensor


def save_model(model: onnx.ModelProto, path: str) -> list:
    """Write `model` to `path`; tensors flagged by `mark_external` go to
    `<basename>.data` next to it (64-byte aligned offsets). Returns the list of
    files written."""
    path = os.fspath(path)
    out_dir = os.path.dirname(os.path.abspath(path))
    data_name = os.path.basename(path) + ".data"
    blob = bytearray()
    for t in _all_tensors(model):
        if t.data_location != TensorProto.EXTERNAL:
            continue
        loc = {e.key: e.value for e in t.external_data}.get("location")
        if loc != EXTERNAL_MARK:
            continue
        raw = bytes(t.raw_data)
        if not raw:
            raise ValueError(f"external tensor {t.name} needs raw_data")
        pad = (-len(blob)) % EXTERNAL_ALIGN
        blob += b"\0" * pad
        offset = len(blob)
        blob += raw
        del t.external_data[:]
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in (
            ("location", data_name),
            ("offset", str(offset)),
            ("length", str(len(raw))),
        ):
            e = t.external_data.add()
            e.key, e.value = k, v
    written = [path]
    if blob:
        data_path = os.path.join(out_dir, data_name)
        with open(data_path, "wb") as f:
            f.write(blob)
        written.append(data_path)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return written


def _all_tensors(model: onnx.ModelProto):
    yield from model.graph.initializer
    for node in model.graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                yield a.t

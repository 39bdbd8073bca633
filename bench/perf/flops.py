"""Work counts from an ONNX graph: FLOPs of MatMul, Gemm, Conv and
com.microsoft MatMulNBits (a
multiply-add counts 2; bias adds, activations, normalizations, softmax and
every other op are not counted), and the bytes of the initializers those
nodes read (weights and biases: what a memory-bound run must stream).

Operand shapes come from onnx shape inference; any left unknown (shape
arithmetic that inference does not fold) are read from one ONNX Runtime run
with optimizations off and those tensors added as graph outputs.
"""

import numpy as np
import onnx
from onnx import helper, shape_inference

COUNTED = ("MatMul", "Gemm", "Conv", "MatMulNBits")


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _static(vi):
    dims = []
    for d in vi.type.tensor_type.shape.dim:
        if not d.HasField("dim_value"):
            return None
        dims.append(int(d.dim_value))
    return dims if vi.type.tensor_type.HasField("shape") else None


def _shapes_from_ort(model_path, names, inputs):
    import onnxruntime as ort

    m = onnx.load(model_path)
    existing = {o.name for o in m.graph.output}
    for n in names:
        if n not in existing:
            m.graph.output.append(onnx.ValueInfoProto(name=n))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    outs = sess.run(list(names), {k: np.load(v) for k, v in inputs.items()})
    return {n: list(o.shape) for n, o in zip(names, outs)}


def count(model_path, inputs):
    """-> dict(flops, weight_bytes, by_op={op: flops}, nodes=count).
    `inputs`: {graph input name: .npy path} (only used when shapes must
    come from a run)."""
    model = onnx.load(model_path, load_external_data=False)
    inits = {t.name: t for t in model.graph.initializer}
    try:
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # noqa: BLE001 - fall back to a run for everything
        inferred = model
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + \
            list(inferred.graph.output):
        s = _static(vi)
        if s is not None:
            shapes[vi.name] = s
    for name, t in inits.items():
        shapes[name] = list(t.dims)
    nodes = [n for n in model.graph.node if n.op_type in COUNTED]
    needed = set()
    for n in nodes:
        for t in list(n.input[:2]) + [n.output[0]]:
            if t and t not in shapes:
                needed.add(t)
    if needed:
        shapes.update(_shapes_from_ort(model_path, sorted(needed), inputs))

    flops, by_op, weight = 0, {}, 0
    seen_weights = set()
    for n in nodes:
        out = shapes[n.output[0]]
        if n.op_type == "MatMul":
            a = shapes[n.input[0]]
            k = a[-1]
            f = 2 * int(np.prod(out, dtype=np.int64)) * k
        elif n.op_type == "MatMulNBits":  # com.microsoft; K is an attribute
            f = 2 * int(np.prod(out, dtype=np.int64)) * _attr(n, "K", 0)
        elif n.op_type == "Gemm":
            a = shapes[n.input[0]]
            k = a[0] if _attr(n, "transA", 0) else a[1]
            f = 2 * out[0] * out[1] * k
        else:  # Conv: output N x Cout x spatial; weight Cout x Cin/g x kernel
            w = shapes[n.input[1]]
            f = 2 * int(np.prod(out, dtype=np.int64)) * int(np.prod(w[1:], dtype=np.int64))
        flops += f
        by_op[n.op_type] = by_op.get(n.op_type, 0) + f
        for t in n.input:
            if t in inits and t not in seen_weights:
                seen_weights.add(t)
                arr_bytes = _tensor_bytes(inits[t])
                weight += arr_bytes
    return {"flops": int(flops), "weight_bytes": int(weight),
            "by_op": {k: int(v) for k, v in by_op.items()}, "nodes": len(nodes),
            "shapes_from_ort": len(needed)}


def _tensor_bytes(t):
    n = int(np.prod(t.dims, dtype=np.int64)) if len(t.dims) else 1
    return n * np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize

"""Weight-quantized benchmark models: fp32 models from dense.py quantized by
ONNX Runtime's own MatMulNBitsQuantizer (com.microsoft MatMulNBits), so kiln
and ORT run the same 4-bit weights.

  gemv_4096_nbits4   gemv_4096 (x [1,4096] x W [4096,4096]) with W in 4 bits,
                     blocks of 32 along K, symmetric (zero point 8), ORT's
                     accuracy_level 0 (fp32 compute); 8 MiB of packed weights
                     plus 2 MiB of f32 scales

Quantized variants of the fp32 models (registry.VARIANTS): each side
quantizing with its own tool, or both running the file ORT's tool wrote: kiln compiles the fp32 file with its flag
(`--quantize=w8a8`), ONNX Runtime runs the file its quantize_dynamic wrote
(QInt8 weights; ORT quantizes activations to uint8 at run time and fuses
its own int8 matmul kernels). The outputs
differ by the two quantizations, so the harness reports their cosine
instead of requiring allclose.
"""

import logging

import dense


def _nbits(model, bits=4, block=32, symmetric=True):
    from onnxruntime.quantization import matmul_nbits_quantizer as mnb

    logging.getLogger().setLevel(logging.WARNING)  # the quantizer logs at INFO
    cfg = mnb.DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=symmetric,
                                           accuracy_level=0, bits=bits)
    quant = mnb.MatMulNBitsQuantizer(model, bits=bits, block_size=block,
                                     is_symmetric=symmetric, accuracy_level=0,
                                     algo_config=cfg)
    quant.process()
    return quant.model.model


def ort_dynamic(src, dst):
    """ORT's dynamic quantization of the fp32 model `src` into `dst`."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.WARNING)
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)


def ort_static_qdq(src, dst, samples=4, seed=0):
    """ORT's quantize_static of `src` into `dst` in QDQ format (uint8
    activations, int8 weights per tensor, MinMax over `samples` random
    inputs of the model's own shapes and dtypes)."""
    import numpy as np
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                          QuantType, quantize_static)

    logging.getLogger().setLevel(logging.WARNING)
    model = onnx.load(src, load_external_data=False)
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(samples):
        feed = {}
        for i in model.graph.input:
            t = i.type.tensor_type
            shape = [d.dim_value for d in t.shape.dim]
            if t.elem_type == onnx.TensorProto.INT64:  # token ids
                feed[i.name] = rng.integers(0, 1000, shape).astype(np.int64)
            else:
                feed[i.name] = rng.standard_normal(shape).astype(np.float32)
        batches.append(feed)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches)

        def get_next(self):
            return next(self.it, None)

    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def build_gemv_4096_nbits4(seed=0):
    return _nbits(dense.build_gemv_4096(seed))

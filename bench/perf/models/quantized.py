"""Weight-quantized benchmark models: fp32 models from dense.py quantized by
ONNX Runtime's own MatMulNBitsQuantizer (com.microsoft MatMulNBits), so kiln
and ORT run the same 4-bit weights.

  gemv_4096_nbits4   gemv_4096 (x [1,4096] x W [4096,4096]) with W in 4 bits,
                     blocks of 32 along K, symmetric (zero point 8), ORT's
                     accuracy_level 0 (fp32 compute); 8 MiB of packed weights
                     plus 2 MiB of f32 scales
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


def build_gemv_4096_nbits4(seed=0):
    return _nbits(dense.build_gemv_4096(seed))

//===- Passes.td - kiln code generation passes --------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_PASSES
#define KILN_CODEGEN_PASSES

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalgPass : Pass<"convert-kiln-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lowers kiln ops to linalg/tensor/arith/math on tensors.";
  let description = [{
    Every kiln op becomes destination-style linalg ops (mostly
    `linalg.generic`) plus tensor/arith/math ops, still on tensors, ready for
    fusion, tiling and bufferization. Constants become `arith.constant`
    with the same elements attribute (dense_resource blobs stay blobs).
  }];
  let options = [
    Option<"columnPhases", "column-phases", "bool", "true",
           "Split the input of a strided KxK conv into column phases (for "
           "the column-vector conv kernel); off, the channel-vector kernel "
           "reads the strided windows (kiln compile --precision=bf16, whose "
           "pair kernel is a channel-vector kernel)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::LLVM::LLVMDialect"
  ];
}

def KilnFuseElementwisePass : Pass<"kiln-fuse-elementwise", "ModuleOp"> {
  let summary = "Fuses elementwise linalg producers into their consumers.";
  let description = [{
    Like upstream elementwise fusion, but only when the consumer is itself
    all-parallel: fusing into a reduction (a matmul's operand, say) would
    recompute the producer once per reduction step.

    Without a cost model a producer fuses into its single consumer. With
    one, each fusion that recomputes work is a decision between the loop
    nests' predicted costs (CostModel::predictLoop): a producer broadcast
    into a larger consumer may stay a loop of its own, and a producer with
    several all-parallel users may be recomputed in each of them instead
    of being written once and read back. The decisions are recorded in the
    module's `kiln.fusion` attribute (for `kiln compile --report`).
  }];
  let options = [
    Option<"costModel", "cost-model", "std::string", "\"\"",
           "Decide fusions that recompute work with this cost model: "
           "analytic, learned, stub or an XGBoost JSON file (empty: fuse "
           "single-use producers only)">,
    Option<"vectorBits", "vector-bits", "unsigned", "256",
           "Width of the target's float vector registers in bits">,
    Option<"l2Bytes", "l2-bytes", "unsigned", "1048576",
           "L2 cache per core in bytes">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KilnInterchangeReductionsPass : Pass<"kiln-interchange-reductions"> {
  let summary = "Moves the output's contiguous dim innermost in reductions.";
  let description = [{
    A `linalg.generic` whose innermost loop is a reduction (a matmul's K, a
    convolution's window) lowers to a scalar accumulation LLVM cannot
    vectorize without reassociating floats. When the output's last dim
    indexes every operand it touches only in that operand's last position,
    making it the innermost loop gives unit-stride, vectorizable inner loops
    (C[m, n:n+8] += A[m, k] * B[k, n:n+8]) with the same summation order.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnProtectInputsPass : Pass<"kiln-protect-inputs", "::mlir::ModuleOp"> {
  let summary = "Marks entry-function inputs read-only for bufferization.";
  let description = [{
    Inputs of a `kiln.entry` function are the caller's buffers (`const T*`
    in the generated header): bufferization must never write into them, so
    each tensor argument gets `bufferization.writable = false`. Outputs are
    written into the caller's buffers, so a returned input, constant or
    value returned twice is copied first.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KilnUnshareFillsPass : Pass<"kiln-unshare-fills", "::mlir::ModuleOp"> {
  let summary = "Gives each destination-style op its own fill of its init.";
  let description = [{
    CSE merges identical `linalg.fill`s (zeros of one shape), so several
    linalg ops can take one filled tensor as their init. Bufferization can
    then write in place for only one of them and copies the filled buffer
    for every other (a full extra pass over it, on one thread: ResNet-50's
    Winograd convs copied 48 MB per inference). This pass clones the fill
    (and the tensor.empty it fills) for every use after the first, right
    before that use. A bare tensor.empty that several ops write is cloned
    likewise: bufferization would give them one buffer, each writing it once
    the previous value is dead, and a kernel that fuses a later op (an
    epilogue) would then write the buffer it still reads (the workspace
    planner shares buffers whose lifetimes do not overlap anyway).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def KilnDedupeGlobalsPass : Pass<"kiln-dedupe-globals", "::mlir::ModuleOp"> {
  let summary = "Keeps one copy of constant memref globals with equal contents.";
  let description = [{
    Two constant `memref.global`s with the same type, alignment and bytes
    (weights packed the same way for two entries of one model, such as a
    decoder's prefill and decode functions, or a tied embedding) become
    one: every `memref.get_global` of a duplicate reads the kept global,
    and the duplicate is erased.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
  let statistics = [
    Statistic<"numRemoved", "num-removed", "Duplicate globals removed">,
  ];
}

def KilnFlattenGlobalsPass : Pass<"kiln-flatten-globals", "::mlir::ModuleOp"> {
  let summary = "Makes constant memref globals 1-D (the uses reshape them back).";
  let description = [{
    A `memref<64x3x7x7xf32>` global becomes an LLVM constant of nested
    arrays whose translation visits every innermost row (ResNet-50: ~35 s).
    Stored 1-D with the same bytes, it is one flat array; each
    `memref.get_global` is followed by a `memref.expand_shape` to the
    original shape, which costs nothing at run time.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def KilnPlanMemoryPass : Pass<"kiln-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Places every intermediate buffer in one static workspace.";
  let description = [{
    After bufferization, replaces each statically shaped `memref.alloc` in a
    function marked `kiln.entry` with a `memref.view` into a new trailing
    workspace argument (`memref<Nxi8>`). Offsets come from a first-fit plan
    over buffer live ranges, aligned to 64 bytes; buffers whose live ranges
    do not overlap share bytes. The total is recorded in the function's
    `kiln.workspace_bytes` attribute. Deallocations are removed: the run path
    never calls malloc or free.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnSimplifyRequantizePass : Pass<"kiln-simplify-requantize"> {
  let summary = "Cheaper exact clamps for fused QuantizeLinear tails.";
  let description = [{
    fptosi(clamp(roundeven(t) + zp, lo, hi)) with integer constants zp, lo,
    hi becomes fptosi(roundeven(clamp(t, lo - zp, hi - zp))) + zp, the clamp
    as compare-and-select (one x86 max/min each instead of NaN-propagating
    maximumf/minimumf). Same integers for every input (NaN aside, where
    fptosi was poison). With x86-avx512, fptosi(roundeven(x)) on 16 f32
    lanes becomes one vcvtps2dq with embedded round-to-nearest-even.
  }];
  let options = [
    Option<"x86Avx512", "x86-avx512", "bool", /*default=*/"false",
           "Round and convert 16 f32 lanes with one vcvtps2dq">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect"];
}

def KilnApproximateMathPass : Pass<"kiln-approximate-math"> {
  let summary = "Replaces math functions with inline polynomial approximations.";
  let description = [{
    tanh, erf, exp, log, ... become arithmetic (MLIR's polynomial
    approximations, accurate to a few ulp in f32), so the generated object
    calls no libm and the loops can vectorize. Ops without an approximation
    (e.g. powf) are left for math-to-llvm / math-to-libm. bf16 conversions
    are expanded to integer arithmetic too (no compiler-rt call).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnFillPadBordersPass : Pass<"kiln-fill-pad-borders"> {
  let summary = "Fills only the border of a padded buffer.";
  let description = [{
    A bufferized tensor.pad fills the whole new buffer with the pad value
    and then copies the source into its interior, so the interior is
    written twice. When a constant fill of a buffer is followed by a
    memref.copy into a static, unit-stride subview of it (and nothing reads
    or writes the buffer in between), the fill is replaced by fills of the
    boxes around that subview. MobileNetV2 spent 4% of its time in memset
    on its depthwise convolutions' padded inputs.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect"];
}

def KilnLowerStridedCopiesPass : Pass<"kiln-lower-strided-copies"> {
  let summary = "Lowers memref.copy between strided buffers to loops.";
  let description = [{
    memref.copy between strided (non-identity layout) buffers would lower to
    a call into MLIR's C runner library, which kiln artifacts do not link.
    One whose innermost dim is contiguous on both sides becomes vector loops
    (the trailing contiguous dims collapsed into one run, copied 64 bytes at
    a time with a masked tail) under an scf.parallel over the other dims;
    the others become linalg.copy (scalar loops). Contiguous copies stay
    memref.copy (an llvm.memcpy). A linalg.generic that only copies through
    a linear index map (an im2col gather) first becomes a memref.copy from a
    strided view (memref.reinterpret_cast) of its input, when that view's
    innermost dim is contiguous.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnEmptyTensorBoundaryPass
    : Pass<"kiln-empty-tensor-boundary", "::mlir::ModuleOp"> {
  let summary = "Makes zero-element entry inputs and outputs 1-D.";
  let description = [{
    A `kiln.entry` argument or result with no elements and rank other than 1
    (`tensor<2x0x4xf32>`, an ONNX empty-set reduction's input) becomes
    `tensor<0xf32>`: MLIR's bare-pointer calling convention cannot lower a
    memref whose identity layout has a zero dim. Uses of such an input see a
    `tensor.empty` of the original shape (nothing is ever read from it);
    such an output returns an empty `tensor<0xT>`. The artifact's signature
    (recorded before code generation) keeps the ONNX shapes.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}


def KilnLowerContractionsPass
    : Pass<"kiln-lower-contractions", "::mlir::ModuleOp"> {
  let summary = "Register-tiled, vectorized loop nests for f32 matmuls.";
  let description = [{
    Rewrites f32 `linalg.generic` contractions on buffers (C[batch.., m, n]
    += A[.., m, k] * B[.., k, n], any operand layout, one reduction dim)
    into a parallel loop over (batch, N panels), K blocks and row tiles of
    an mr x nr register tile of vector accumulators. Constant B operands are
    packed at compile time into [N/nr][K][nr] panels. Tile sizes come from
    chooseContractionConfig (codegen/cpu/KernelConfig.h) for the target
    described by the options. NCHW convolutions (ConvKernel.cpp) and
    depthwise convolutions (DepthwiseKernel.cpp) get direct vector kernels;
    every kernel absorbs the fill before it and an elementwise op after it
    (TileFusion.cpp); remaining elementwise generics with contiguous
    operands become vector loops (VectorizeElementwise.cpp).
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "unsigned", "128",
           "Width of the target's float vector registers in bits">,
    Option<"vectorRegisters", "vector-registers", "unsigned", "16",
           "Number of architectural vector registers">,
    Option<"l1Bytes", "l1-bytes", "unsigned", "32768",
           "L1 data cache per core in bytes">,
    Option<"l2Bytes", "l2-bytes", "unsigned", "1048576",
           "L2 cache per core in bytes">,
    Option<"costModel", "cost-model", "std::string", "\"\"",
           "Rank candidate tile configurations with this cost model: "
           "analytic, learned, stub or an XGBoost JSON file (empty: the "
           "hand-written choice)">,
    Option<"forceConfig", "force-config", "std::string", "\"\"",
           "Use this configuration, mr,nr,kc, for every matmul and conv "
           "(kiln-costmodel collect)">,
    Option<"vnni", "vnni", "bool", "false",
           "The target has AVX-512 VNNI (int8 kernels use vpdpbusd)">,
    Option<"pmaddwdBits", "pmaddwd-bits", "unsigned", "0",
           "Widest x86 pmaddwd, 128/256/512 (int8 kernels without VNNI "
           "multiply i16 pairs with it); 0: none, portable vector ops">,
    Option<"bf16", "bf16", "bool", "false",
           "Matmuls with constant weights and ungrouped convs round both "
           "operands to bf16 and multiply them with vdpbf16ps "
           "(AVX512_BF16), accumulating in f32">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::LLVM::LLVMDialect"
  ];
}

def KilnLinalgToLoopsPass : Pass<"kiln-linalg-to-loops"> {
  let summary = "Lowers linalg ops on buffers to loops, scf.parallel where safe.";
  let description = [{
    Like `convert-linalg-to-loops`, except that an op whose parallel
    iterations write disjoint output elements (every output indexed by a
    permutation that includes every parallel dim, no input read from the
    output's buffer at another index, no writes in the body) lowers with
    `scf.parallel` for its parallel dims. Reduction dims always stay
    `scf.for`: each output element is still computed by one iteration in
    the serial order, so splitting the parallel dims among threads never
    changes a result. Unit dims of the new parallel loops are dropped.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect"];
}

def KilnOutlineParallelPass
    : Pass<"kiln-outline-parallel", "::mlir::ModuleOp"> {
  let summary = "Runs outermost scf.parallel loops on the runtime's threads.";
  let description = [{
    Gives every `kiln.entry` function a trailing `!llvm.ptr` argument marked
    `kiln.exec` (the runtime's execution handle, passed by the entry
    wrapper), and replaces each outermost `scf.parallel` in it whose
    estimated work (iterations x ops of the body, nested loops multiplied
    by their trip counts) reaches `min-parallel-work`, or which reads at
    least `min-parallel-weight-bytes` (0: off) of constant globals
    (weights: each thread then streams its share from its own cache; such a
    loop keeps its serial form for 1-thread contexts), by a call to
    `kiln_exec_parallel_for(exec, items, @<kernel>_par<i>, data)`. The new
    private function runs items [begin, end) of the loop's leading dims
    (the fewest outer dims with at least `min-parallel-items` iterations,
    linearized), the other dims as a loop nest. Captured static
    identity-layout memrefs travel as pointers and scalars by value in a
    stack struct; constants and views are rebuilt inside the body. Loops
    below the threshold, with reductions, dynamic bounds or captures that
    cannot be passed stay serial. See OutlineParallel.cpp for the design.
  }];
  let options = [
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"131072",
           "Estimated ops below which a parallel loop stays serial">,
    Option<"minParallelWeightBytes", "min-parallel-weight-bytes", "int64_t",
           /*default=*/"131072",
           "Bytes of constant globals (weights) read from which a parallel "
           "loop is split even below min-parallel-work (0: off)">,
    Option<"minParallelItems", "min-parallel-items", "int64_t",
           /*default=*/"64",
           "Iterations of the linearized leading dims to aim for">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // KILN_CODEGEN_PASSES

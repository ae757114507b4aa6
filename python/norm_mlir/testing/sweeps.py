"""Named lists of norm-op cases shared by the lit integration tests."""

_SHAPES_N = ["1x1", "3x1", "2x7", "4x8", "3x9", "2x768", "2x4099"]
# Row lengths around the CPU lowering's vector widths (4, 8, 16 lanes, and
# 4 vectors per unrolled step).
_CPU_N = [1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 768, 4099]

SWEEPS = {
    # The foundation's execution sweep: both ops, with and without gamma and
    # beta, N = 1 and odd N, dynamic shapes, f16/bf16/f64, the large-mean,
    # constant-row, tiny/huge and non-finite cases, every extra destination.
    "foundation": (
        [f"op=layer_norm shape={s} gamma beta" for s in _SHAPES_N] +
        [f"op=rms_norm shape={s} gamma eps=1e-6" for s in _SHAPES_N] +
        [
            "op=layer_norm shape=5x33",
            "op=rms_norm shape=5x33 eps=1e-6",
            "op=layer_norm shape=2x3x5 axis=1 gamma beta",
            "op=layer_norm shape=2x3x5 axis=2 beta",
            "op=rms_norm shape=2x3x5 axis=1 gamma",
            "op=layer_norm shape=13 gamma beta",
            "op=layer_norm shape=3x17 gamma beta dynamic",
            "op=rms_norm shape=3x17 gamma dynamic",
            "op=layer_norm shape=4x64 dtype=f16 gamma beta",
            "op=rms_norm shape=4x64 dtype=f16 gamma",
            "op=layer_norm shape=4x100 dtype=bf16 gamma beta",
            "op=rms_norm shape=4x100 dtype=bf16 gamma",
            "op=layer_norm shape=3x50 dtype=f64 gamma beta",
            "op=rms_norm shape=3x50 dtype=f64",
            "op=layer_norm shape=4x1000 gamma beta data=large_mean",
            "op=layer_norm shape=4x1000 dtype=bf16 data=large_mean",
            "op=layer_norm shape=4x256 gamma beta data=constant",
            "op=layer_norm shape=3x77 data=constant",
            "op=layer_norm shape=4x4096 data=huge",
            "op=rms_norm shape=4x4096 data=huge",
            "op=layer_norm shape=4x512 data=tiny",
            "op=rms_norm shape=4x512 data=tiny",
            "op=layer_norm shape=4x32 gamma beta data=nonfinite",
            "op=rms_norm shape=4x32 gamma data=nonfinite",
            "op=layer_norm shape=4x96 data=uniform eps_operand",
            "op=rms_norm shape=4x96 dtype=bf16 eps_operand",
            "op=layer_norm shape=4x24 dtype=bf16 out=f32 gamma beta",
            "op=rms_norm shape=4x24 out=bf16 gamma",
            "op=layer_norm shape=6x40 residual residual_out mean rstd gamma beta",
            "op=rms_norm shape=6x40 dtype=bf16 residual residual_out rstd gamma",
            "op=layer_norm shape=2x3x8 axis=1 mean rstd",
            "op=layer_norm shape=3x48 gamma beta abi=memref",
            "op=rms_norm shape=3x48 dtype=f16 gamma abi=memref dynamic",
            "op=layer_norm shape=3x48 gamma beta abi=kernel",
            "op=rms_norm shape=3x48 gamma abi=kernel residual residual_out",
        ]
    ),
    # The CPU lowering's cases: row lengths around the vector widths (whole
    # vectors, masked tails, N below one vector) up to 4099, static and
    # dynamic, rank 3 with axis 1 and 2 (collapsed normalised dims), with
    # and without gamma/beta, f32/f16/bf16/f64, fused output casts, the
    # large-mean and constant-row cases, rows whose first element (the
    # pivot) is an outlier, residual forms, both kernel ABIs.
    "cpu": (
        [f"op=layer_norm shape=3x{n} gamma beta" for n in _CPU_N] +
        [f"op=rms_norm shape=3x{n} gamma eps=1e-6" for n in _CPU_N] +
        [f"op=layer_norm shape=3x{n} gamma beta dynamic" for n in
         (1, 7, 9, 33, 768, 4099)] +
        [f"op=rms_norm shape=3x{n} dynamic" for n in (1, 8, 17, 4099)] +
        [
            "op=layer_norm shape=5x768",
            "op=layer_norm shape=5x768 gamma",
            "op=layer_norm shape=5x768 beta",
            "op=rms_norm shape=5x768",
            "op=layer_norm shape=4099 gamma beta mean rstd",
            "op=rms_norm shape=2x3x257 axis=1 gamma",
            "op=layer_norm shape=2x3x257 axis=1 gamma beta",
            "op=layer_norm shape=2x3x257 axis=2 gamma beta",
            "op=layer_norm shape=4x5x33 axis=1 beta dynamic",
            "op=rms_norm shape=4x5x33 axis=2 dynamic",
            "op=layer_norm shape=2x3x5x7 axis=1 gamma beta mean rstd",
            "op=layer_norm shape=4x4099 dtype=f16 gamma beta",
            "op=rms_norm shape=4x4099 dtype=bf16 gamma",
            "op=layer_norm shape=3x768 dtype=bf16 gamma beta dynamic",
            "op=rms_norm shape=3x9 dtype=f16 gamma",
            "op=layer_norm shape=3x4099 dtype=f64 gamma beta",
            "op=rms_norm shape=3x9 dtype=f64 gamma dynamic",
            "op=layer_norm shape=4x100 dtype=bf16 out=f32 gamma beta",
            "op=rms_norm shape=4x100 out=f16 gamma",
            "op=rms_norm shape=4x33 dtype=f16 out=bf16 gamma",
            "op=layer_norm shape=4x4099 gamma beta data=large_mean",
            "op=layer_norm shape=4x768 data=large_mean dynamic",
            "op=layer_norm shape=4x768 dtype=bf16 gamma beta data=large_mean",
            "op=layer_norm shape=3x4099 gamma beta data=outlier",
            "op=layer_norm shape=4x9 data=outlier",
            "op=layer_norm shape=3x768 dtype=bf16 data=outlier",
            "op=layer_norm shape=3x33 gamma data=outlier dynamic",
            "op=layer_norm shape=4x4099 gamma beta data=constant",
            "op=layer_norm shape=4x4099 dtype=bf16 beta data=constant",
            "op=layer_norm shape=3x9 data=constant dynamic",
            "op=rms_norm shape=4x4099 gamma data=constant",
            "op=layer_norm shape=4x4099 data=huge",
            "op=rms_norm shape=4x4099 data=tiny",
            "op=layer_norm shape=4x4099 gamma beta data=nonfinite",
            "op=rms_norm shape=4x4099 data=nonfinite",
            "op=layer_norm shape=3x4099 residual residual_out mean rstd "
            "gamma beta",
            "op=layer_norm shape=3x777 dtype=bf16 residual gamma beta",
            "op=rms_norm shape=3x777 dtype=f16 residual residual_out rstd "
            "gamma dynamic",
            "op=rms_norm shape=3x9 residual",
            "op=layer_norm shape=4x4099 eps_operand gamma beta",
            "op=rms_norm shape=4x4099 dtype=bf16 eps_operand gamma",
            "op=layer_norm shape=4x4099 gamma beta abi=kernel",
            "op=rms_norm shape=4x4099 dtype=bf16 gamma abi=memref dynamic",
            "op=layer_norm shape=2x3x257 axis=1 gamma beta abi=memref",
            "op=layer_norm shape=5x4099 gamma beta residual residual_out "
            "abi=kernel",
        ]
    ),
    # The fused forms --norm-fuse produces, for the lowerings: residual with
    # residual_out, gamma (and beta), an output narrower than the input or
    # quantised, mean / rstd, on f32 / bf16 / f16 inputs, with odd row
    # lengths (masked heads and tails) and non-finite rows (bf16 NaN).
    "fused": [
        "op=rms_norm shape=8x256 residual residual_out gamma out=bf16",
        "op=rms_norm shape=5x300 residual residual_out gamma out=bf16",
        "op=rms_norm shape=4x96 residual residual_out gamma out=bf16 "
        "data=nonfinite",
        "op=layer_norm shape=6x200 residual residual_out gamma beta out=f16 "
        "mean rstd",
        "op=rms_norm shape=8x256 residual residual_out gamma out=i8 "
        "scale=0.02",
        "op=rms_norm shape=3x333 residual residual_out gamma out=i8 "
        "scale=0.01 data=nonfinite",
        "op=layer_norm shape=8x256 residual residual_out gamma beta "
        "out=f8E4M3FN scale=0.01",
        "op=rms_norm shape=7x130 dtype=bf16 residual residual_out gamma "
        "out=f8E4M3FN scale=0.005",
        "op=rms_norm shape=4x512 dtype=bf16 residual residual_out gamma rstd",
        "op=rms_norm shape=4x256 dtype=bf16 residual residual_out gamma "
        "data=nonfinite",
        "op=layer_norm shape=4x512 dtype=f16 residual residual_out gamma beta "
        "out=i8 scale=0.03 abi=kernel",
        "op=rms_norm shape=3x160 residual residual_out gamma out=bf16 "
        "abi=memref dynamic",
    ],
    # Quantised outputs (i8 and f8E4M3FN with a per-tensor out_scale): both
    # ops, saturation (a scale small enough that many values clamp), NaN
    # rows, f16/bf16 inputs, residual, memref and kernel ABIs.
    "quantized": [
        "op=rms_norm shape=4x64 gamma out=i8 scale=0.02",
        "op=rms_norm shape=4x64 gamma out=i8 scale=0.005",
        "op=layer_norm shape=4x64 gamma beta out=i8 scale=0.03",
        "op=layer_norm shape=3x77 data=constant beta out=i8 scale=0.01",
        "op=rms_norm shape=4x32 gamma data=nonfinite out=i8 scale=0.02",
        "op=rms_norm shape=2x4099 dtype=bf16 gamma out=i8 scale=0.03",
        "op=layer_norm shape=3x48 dtype=f16 gamma beta residual residual_out "
        "out=i8 scale=0.025",
        "op=rms_norm shape=3x17 gamma dynamic out=i8 scale=0.02",
        "op=rms_norm shape=4x64 gamma out=f8E4M3FN scale=0.01",
        "op=rms_norm shape=4x64 gamma out=f8E4M3FN scale=0.001",
        "op=layer_norm shape=4x96 gamma beta out=f8E4M3FN scale=1.0",
        "op=layer_norm shape=4x96 data=tiny out=f8E4M3FN scale=1.0",
        "op=layer_norm shape=4x32 data=nonfinite out=f8E4M3FN scale=0.5",
        "op=rms_norm shape=2x4099 dtype=bf16 gamma out=f8E4M3FN scale=0.004",
        "op=layer_norm shape=3x48 gamma beta abi=memref out=i8 scale=0.02",
        "op=rms_norm shape=3x48 dtype=f16 gamma abi=kernel out=f8E4M3FN "
        "scale=0.01",
    ],
    # In place (vLLM's fused_add_rms_norm): out over x, residual_out over
    # the residual, on memrefs (the op updating its inputs' buffers) and on
    # tensors (bufferized into them); held and streamed rows (4099, and
    # 32768 bf16 past the GPU kernels' registers), dynamic rows, a large
    # mean, a quantised out beside an in-place residual_out, two
    # normalised dims.
    "in_place": [
        "op=rms_norm shape=5x4099 dtype=bf16 residual residual_out gamma "
        "eps=1e-6 abi=memref in_place dynamic",
        "op=rms_norm shape=2x32768 dtype=bf16 residual residual_out gamma "
        "eps=1e-6 abi=memref in_place",
        "op=rms_norm shape=8x4096 residual residual_out gamma eps=1e-6 "
        "abi=tensor in_place",
        "op=layer_norm shape=6x64 residual residual_out gamma beta "
        "data=large_mean abi=memref in_place",
        "op=layer_norm shape=5x77 dtype=f16 residual residual_out gamma beta "
        "abi=tensor in_place dynamic",
        "op=rms_norm shape=3x4096 gamma eps=1e-6 abi=memref in_place",
        "op=rms_norm shape=4x512 dtype=bf16 residual residual_out gamma "
        "out=i8 scale=0.02 abi=memref in_place",
        "op=layer_norm shape=4x3x50 axis=1 residual residual_out gamma "
        "abi=memref in_place mean rstd",
    ],
    # Dynamic quantisation (vLLM's rms_norm_dynamic_per_token_quant and
    # rms_norm_per_block_quant): per token and per group, i8 and f8E4M3FN,
    # held rows and streamed ones (4099, and 32768 bf16 past the GPU
    # kernels' registers), rows over several warps, dynamic shapes, groups
    # narrower than a vector and groups not a multiple of one, a floor and
    # an upper bound that bind (all-zero rows, a bound below amax / qmax),
    # NaN rows, a large mean, residual and residual_out (in place too),
    # every ABI, f16/bf16/f64 inputs, two normalised dims per token.
    "dynamic_quant": [
        "op=rms_norm shape=5x64 gamma out=i8 dynamic_quant",
        "op=rms_norm shape=4x4096 dtype=bf16 gamma out=i8 dynamic_quant "
        "eps=1e-6",
        "op=rms_norm shape=3x4099 gamma out=f8E4M3FN dynamic_quant "
        "min_scale=1e-6",
        "op=rms_norm shape=2x32768 dtype=bf16 residual residual_out gamma "
        "out=i8 dynamic_quant abi=memref in_place",
        "op=layer_norm shape=4x768 gamma beta out=i8 dynamic_quant "
        "data=large_mean",
        "op=layer_norm shape=3x77 data=constant out=i8 dynamic_quant "
        "min_scale=1e-5",
        "op=layer_norm shape=4x32 data=nonfinite out=f8E4M3FN dynamic_quant "
        "abi=memref",
        "op=rms_norm shape=4x96 gamma out=i8 dynamic_quant scale_ub=0.004",
        "op=layer_norm shape=5x33 dtype=f16 gamma beta out=i8 dynamic_quant "
        "dynamic abi=kernel",
        "op=layer_norm shape=3x2x24 axis=1 out=f8E4M3FN dynamic_quant",
        "op=rms_norm shape=3x50 dtype=f64 gamma out=i8 dynamic_quant",
        "op=rms_norm shape=4x4096 dtype=bf16 gamma out=f8E4M3FN "
        "dynamic_quant group=128 eps=1e-6",
        "op=rms_norm shape=5x256 gamma out=i8 dynamic_quant group=64 dynamic",
        "op=layer_norm shape=3x4x96 dtype=bf16 gamma beta out=f8E4M3FN "
        "dynamic_quant group=24 residual residual_out abi=kernel",
        "op=rms_norm shape=4x40 out=i8 dynamic_quant group=2 data=nonfinite",
        "op=layer_norm shape=4x60 data=constant out=f8E4M3FN dynamic_quant "
        "group=6 min_scale=1e-6",
        "op=rms_norm shape=3x4098 dtype=f16 residual residual_out gamma "
        "out=i8 dynamic_quant group=2049 scale_ub=0.01 abi=memref in_place",
        "op=layer_norm shape=6x1024 gamma beta out=i8 dynamic_quant group=128 "
        "data=large_mean abi=memref",
        # Groups of whole vectors held by consecutive lanes (the GPU reduces
        # them in registers): a row's last vector missing for half the
        # threads, three warps a row, and an in-place residual.
        "op=layer_norm shape=5x768 dtype=bf16 gamma beta out=i8 "
        "dynamic_quant group=128",
        "op=rms_norm shape=3x1536 gamma out=i8 dynamic_quant group=128 "
        "min_scale=1e-3",
        "op=rms_norm shape=3x2048 dtype=bf16 residual residual_out gamma "
        "out=f8E4M3FN dynamic_quant group=64 abi=memref in_place",
    ],
    # The tiny-row rescue (getTinyRowRescue): rows of 1e-20 * N(0, 1) with
    # an eps below 2^-74, whose squares are subnormal in f32 (difftest seed
    # 2, case 5620, is the first), on each ABI, a run-time eps, a dynamic
    # row with a residual, and the mean and rstd outputs. Near misses: the
    # rescue emitted but not taken (ordinary and huge rows, whose rescaled
    # squares overflow and must not leak in) and taken with q = 0 (constant
    # rows: exactly beta).
    # Row lengths known only at run time (?x?), held in registers by the
    # kernel of the smallest row-length bucket (1024, 2048, 4096, 8192
    # elements) that fits, streamed past the last: at and on either side of
    # each bound, a row of one vector, several rows a block with a spare
    # group, bf16 and f64, LayerNorm whose row spans warps (the pivot read
    # from memory) with an in-place residual, the large mean, mean and rstd,
    # and dynamic quantisation per token and per group.
    "row_buckets": (
        [f"op=layer_norm shape=5x{n} gamma beta dynamic"
         for n in (4, 764, 1024, 1028, 2048, 3072, 4096, 4100, 8192, 8196)] +
        [f"op=rms_norm shape=3x{n} gamma eps=1e-6 dynamic"
         for n in (1024, 1032, 5000, 8192)] +
        [
            "op=layer_norm shape=5x1016 dtype=bf16 gamma beta dynamic",
            "op=rms_norm shape=3x4096 dtype=bf16 gamma dynamic",
            "op=layer_norm shape=3x2050 dtype=f64 gamma beta dynamic",
            "op=layer_norm shape=3x3000 dtype=bf16 residual residual_out "
            "gamma beta abi=memref in_place dynamic",
            "op=layer_norm shape=4x4096 data=large_mean dynamic",
            "op=layer_norm shape=4x2000 gamma beta mean rstd dynamic",
            "op=rms_norm shape=4x3072 dtype=bf16 gamma out=i8 dynamic_quant "
            "dynamic",
            "op=rms_norm shape=4x4096 dtype=bf16 gamma out=f8E4M3FN "
            "dynamic_quant group=128 dynamic",
        ]
    ),
    "tiny_rows": [
        "op=layer_norm shape=3x2x64x31 axis=2 beta eps=1e-40 abi=memref "
        "data=tiny seed=135262372",
        "op=rms_norm shape=8x4096 gamma rstd eps=1e-40 abi=memref data=tiny "
        "seed=1",
        "op=layer_norm shape=8x4096 mean rstd eps=1e-45 data=tiny seed=2",
        "op=rms_norm shape=5x1000 eps=1e-40 eps_operand data=tiny seed=3",
        "op=layer_norm shape=4x333 eps=1e-40 dynamic residual residual_out "
        "data=tiny seed=4",
        "op=rms_norm shape=3x257 gamma eps=1e-40 abi=kernel data=tiny seed=10",
        "op=layer_norm shape=6x700 rstd eps=1e-40 data=normal seed=5",
        "op=rms_norm shape=4x512 rstd eps=1e-40 data=huge seed=9",
        "op=layer_norm shape=4x512 gamma beta eps=1e-40 data=huge seed=11",
        "op=layer_norm shape=6x700 beta rstd eps=1e-40 data=constant seed=6",
    ],
}

# Gradient cases (grad_cases.py specs) for the GPU kernels, one per path:
# rows held in registers and streamed (dynamic N, and a static row too long
# to hold), more rows than row slots (each slot loops over several rows,
# its partial rows carried), row slots beyond the last row, vector widths
# from 1 to 8, two normalised dims, no row dims, zero rows (dgamma and
# dbeta are then zeros), f64, recomputed statistics and a residual
# gradient, rows with a large mean.
GRAD_SWEEPS = {
    "gpu_gradients": [
        "op=layer_norm shape=2500x64 gamma saved dx dgamma dbeta seed=1",
        "op=rms_norm shape=1100x40 dtype=bf16 gamma dx dgamma seed=2",
        "op=layer_norm shape=3x4100 dtype=f16 gamma saved residual_grad dx "
        "dgamma dbeta seed=3",
        "op=layer_norm shape=5x3000 dynamic gamma dx dgamma dbeta seed=4",
        "op=rms_norm shape=1030x17 dynamic gamma saved dgamma seed=5",
        "op=layer_norm shape=7x2x48 axis=1 dtype=bf16 gamma saved dx dgamma "
        "dbeta data=uniform seed=6",
        "op=rms_norm shape=6x128 axis=0 gamma dx dgamma seed=7",
        "op=layer_norm shape=0x64 gamma saved dgamma dbeta seed=8",
        "op=layer_norm shape=9x300 dtype=f64 gamma saved dx dgamma dbeta "
        "seed=9",
        "op=layer_norm shape=3x16384 gamma dx dgamma dbeta seed=10",
        "op=rms_norm shape=37x4096 dtype=bf16 gamma saved residual_grad dx "
        "abi=kernel seed=11",
        "op=layer_norm shape=2x3 saved dbeta abi=memref seed=12",
        # Recomputed statistics of rows with a large mean: centred by the
        # mean's pivot and offset, held and streamed.
        "op=layer_norm shape=40x256 gamma dx dgamma dbeta data=large_mean "
        "seed=13",
        "op=layer_norm shape=24x100 dynamic gamma dx data=large_mean seed=14",
    ],
}

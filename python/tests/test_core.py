"""norm_mlir.core: the kernel emitter (its IR verifies in every ABI and with
every extra), the pipeline helpers, element types and tool discovery."""

import itertools

import numpy as np
import pytest

import norm_mlir
from norm_mlir.core import kernels, pipelines, tools, types
from norm_mlir.core.kernels import NormKernel, norm_op


def _extras():
    """Keyword sets covering every extra of NormKernel, alone and together."""
    yield {}
    yield {"gamma": True, "beta": True}
    yield {"gamma": True, "param_dtype": "f32", "dtype": "bf16"}
    yield {"residual": True, "residual_out": True}
    yield {"mean": True, "rstd": True}
    yield {"eps_operand": True}
    yield {"out": "bf16"}
    yield {"out": "i8", "out_scale": True}
    yield {"out": "f8E4M3FN", "out_scale": True, "gamma": True}
    yield {"dtype": "f64", "mean": True, "rstd": True}
    yield {"gamma": True, "beta": True, "residual": True, "residual_out": True,
           "mean": True, "rstd": True, "eps_operand": True, "out": "i8",
           "out_scale": True}


_SHAPES = [  # (shape, axis, dynamic)
    ((4, 8), -1, False), ((2, 3, 5), 1, False), ((2, 3, 5), 1, True),
    ((None, 7), 1, False), ((None, 3, 5), 1, False), ((13,), 0, False),
]


@pytest.mark.parametrize("abi", kernels.ABIS)
@pytest.mark.parametrize("op", kernels.OPS)
def test_kernel_ir_verifies(abi, op):
    count = 0
    for extras, (shape, axis, dynamic), c_interface in itertools.product(
            _extras(), _SHAPES, (False, True)):
        if op == "rms_norm" and (extras.get("beta") or extras.get("mean")):
            continue
        kernel = NormKernel(op=op, shape=shape, axis=axis, dynamic=dynamic,
                            abi=abi, c_interface=c_interface, **extras)
        ir = kernel.ir(f"k{count}")
        norm_mlir.verify(ir)
        assert ("llvm.emit_c_interface" in ir) == c_interface
        count += 1
    assert count > 50


def test_kernel_arguments_in_order():
    kernel = NormKernel(shape=(None, 8), gamma=True, beta=True, residual=True,
                        residual_out=True, mean=True, rstd=True,
                        eps_operand=True, out="i8", out_scale=True, abi="kernel")
    assert [(a.name, a.kind, a.keyword) for a in kernel.arguments()] == [
        ("x", "in", "ins"), ("r", "in", "residual"), ("g", "in", "gamma"),
        ("b", "in", "beta"), ("e", "scalar", "eps"), ("s", "scalar", "out_scale"),
        ("out_buf", "out", "outs"), ("residual_out_buf", "out", "residual_out"),
        ("mean_buf", "out", "mean"), ("rstd_buf", "out", "rstd")]
    assert [a.shape for a in kernel.arguments()][-2:] == [(None,), (None,)]
    assert [a.dtype for a in kernel.arguments()][-4:] == ["i8", "f32", "f32", "f32"]
    tensor = NormKernel(gamma=True)
    assert [a.name for a in tensor.arguments()] == ["x", "g"]


def test_kernel_dynamic_sizes_come_from_x():
    ir = NormKernel(shape=(None, 768), gamma=True, residual=True,
                    residual_out=True, abi="kernel").ir("f")
    assert "%out_dim0 = tensor.dim %x_t, %out_c0 : tensor<?x768xf32>" in ir
    assert "%d_residual_out = tensor.empty(%residual_out_dim0)" in ir
    assert "_dim1" not in ir


def test_kernel_rejects_what_the_op_does_not_take():
    with pytest.raises(ValueError, match="rms_norm has no beta"):
        NormKernel(op="rms_norm", beta=True)
    with pytest.raises(ValueError, match="quantised"):
        NormKernel(out="i8")
    with pytest.raises(ValueError, match="axis"):
        NormKernel(shape=(4, 8), axis=2)
    with pytest.raises(ValueError, match="ABI"):
        NormKernel(abi="c")


def test_norm_op_text():
    t = "tensor<4x8xf32>"
    assert norm_op("layer_norm", ("%x", t), ("%o", t), eps=1e-5,
                   gamma=("%g", "tensor<8xf32>")) == (
        "norm.layer_norm eps(1.0e-05) ins(%x : tensor<4x8xf32>) "
        "gamma(%g : tensor<8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>")
    m = "memref<2x3x5xf32>"
    assert norm_op("rms_norm", ("%x", m), ("%o", m), axis=1, eps=("%e", "f32"),
                   rstd=("%r", "memref<2xf32>"), results=False) == (
        "norm.rms_norm axis(1) eps(%e : f32) ins(%x : memref<2x3x5xf32>) "
        "outs(%o : memref<2x3x5xf32>) rstd(%r : memref<2xf32>)")


def test_pipeline_helpers():
    assert pipelines.textual("--one-shot-bufferize=a b") == "one-shot-bufferize{a b}"
    assert pipelines.textual("--pass-pipeline=builtin.module(cse)") == "cse"
    assert pipelines.textual_pipeline(["--cse", "func.func(canonicalize)"]) == \
        "--pass-pipeline=builtin.module(cse,func.func(canonicalize))"
    assert pipelines.pipeline_args("cpu") == ["--norm-cpu-pipeline"]
    assert pipelines.pipeline_args("'--a=1 2' --b") == ["--a=1 2", "--b"]
    (flag,) = pipelines.with_tosa("cpu")
    assert flag == ("--pass-pipeline=builtin.module(" + pipelines.TOSA_TO_LINALG
                    + ",norm-cpu-pipeline)")
    assert pipelines.PIPELINES["upstream"] == [pipelines.textual_pipeline(
        [pipelines.TOSA_TO_LINALG] + pipelines.BUFFERIZE + pipelines.LOOPS_TO_LLVM)]
    with pytest.raises(ValueError, match="anchored"):
        pipelines.unanchor("func.func(cse)")


def test_types():
    assert types.mlir_float(1e-5) == "1.0e-05"
    assert types.mlir_float(0.5) == "0.5"
    assert types.shaped_type("tensor", (None, 8), "bf16") == "tensor<?x8xbf16>"
    assert types.shaped_type("memref", (), "f32") == "memref<f32>"
    assert types.shaped_type("tensor", (2, 3), "f16", dynamic=True) == \
        "tensor<?x?xf16>"
    args, results = types.parse_signature(
        NormKernel(shape=(None, 8), mean=True).ir("f"), "f")
    assert [(a.kind, a.dims, a.dtype) for a in args] == [("tensor", [None, 8], "f32")]
    assert [r.text for r in results] == ["tensor<?x8xf32>", "tensor<?xf32>"]
    assert types.byte_size("bf16") == 2 and types.bit_type("f8E4M3FN") == "i8"
    values = np.array([0.0, -1.5, 3.25, 448.0, np.nan])
    for dtype in ("f32", "f16", "bf16", "f8E4M3FN"):
        data = types.to_bits(values, dtype)
        back = types.from_bytes(data, dtype, values.shape)
        np.testing.assert_array_equal(back, values)
    assert types.FLOAT_ELEMENT_TYPES[np.dtype(np.uint16)] == "bf16"


def test_tools_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NORM_OPT", "/somewhere/norm-opt")
    assert tools.norm_opt() == "/somewhere/norm-opt"
    monkeypatch.delenv("NORM_OPT")
    assert tools.norm_opt() == f"{tools.ROOT}/build/bin/norm-opt"
    (tmp_path / "mlir-runner").write_text("")
    monkeypatch.setenv("MLIR_TOOLS_DIR", str(tmp_path))
    assert tools.mlir_runner() == str(tmp_path / "mlir-runner")
    monkeypatch.setenv("MLIR_LIB_DIR", "/lib-dir")
    assert tools.runner_libs()[0] == "/lib-dir/libmlir_runner_utils.so"
    assert tools.openmp_lib() == "/lib-dir/libomp.so"
    with pytest.raises(tools.ToolError, match="timed out"):
        tools.run(["sleep", "5"], timeout=0.1)

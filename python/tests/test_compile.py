"""norm_mlir.compile and friends: pipelines in every accepted form, and MLIR
diagnostics raised as MLIRError with their messages and locations."""

import pytest

import norm_mlir
from norm_mlir import pipelines

LAYER_NORM = """func.func @ln(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %i = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x8xf32>) outs(%i : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
"""

# A decomposed LayerNorm over the last dim of a 4x8 tensor, as a framework
# might emit it (linalg on tensors): what norm-capture recognises.
DECOMPOSED_LAYER_NORM = """
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @ln(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 8.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %e = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %o = tensor.empty() : tensor<4x8xf32>
  %c = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<4x8xf32>, tensor<4xf32>) outs(%o : tensor<4x8xf32>) {
  ^bb0(%a: f32, %s: f32, %out: f32):
    %m = arith.divf %s, %n : f32
    %d = arith.subf %a, %m : f32
    linalg.yield %d : f32
  } -> tensor<4x8xf32>
  %sq = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%c : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %p = arith.mulf %a, %a : f32
    %s = arith.addf %p, %b : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %sq : tensor<4x8xf32>, tensor<4xf32>) outs(%o : tensor<4x8xf32>) {
  ^bb0(%a: f32, %s: f32, %out: f32):
    %v = arith.divf %s, %n : f32
    %ve = arith.addf %v, %eps : f32
    %r = math.rsqrt %ve : f32
    %t = arith.mulf %a, %r : f32
    linalg.yield %t : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
"""


def test_compile_lowers_and_prints():
    out = norm_mlir.compile(LAYER_NORM, "convert-norm-to-linalg")
    assert "norm.layer_norm" not in out
    assert "linalg.generic" in out


@pytest.mark.parametrize("pipeline", [
    "convert-norm-to-linalg",
    "builtin.module(convert-norm-to-linalg)",
    "--convert-norm-to-linalg",
    ["--convert-norm-to-linalg"],
    "--convert-norm-to-linalg --pass-pipeline=builtin.module(func.func(cse))",
])
def test_pipeline_forms(pipeline):
    assert "linalg.generic" in norm_mlir.compile(LAYER_NORM, pipeline)


def test_named_pipeline_reaches_llvm():
    out = norm_mlir.compile(LAYER_NORM, "linalg")
    assert "llvm.func @ln" in out and "norm." not in out


def test_flags_nest_func_passes_implicitly():
    # A func.func pass written as a flag nests, as on norm-opt's command line.
    out = norm_mlir.compile(LAYER_NORM, "--affine-loop-invariant-code-motion "
                                        "--convert-norm-to-linalg")
    assert "linalg.generic" in out


def test_flag_options():
    out = norm_mlir.compile(LAYER_NORM, [
        "--one-shot-bufferize=bufferize-function-boundaries"])
    assert "memref<4x8xf32>" in out


def test_pipeline_steps():
    steps = pipelines.steps(
        "--a --b=x=1 --pass-pipeline=builtin.module(func.func(c))")
    assert steps == [pipelines.PassFlag("a"), pipelines.PassFlag("b", "x=1"),
                     pipelines.TextualElements("func.func(c)")]
    assert pipelines.steps("--b='x=1 y=2'") == [pipelines.PassFlag("b", "x=1 y=2")]
    assert pipelines.describe("canonicalize,cse") == "builtin.module(canonicalize,cse)"
    with pytest.raises(ValueError, match="anchored on builtin.module"):
        pipelines.steps("--pass-pipeline=func.func(cse)")
    with pytest.raises(ValueError, match="not a pass flag"):
        pipelines.steps(["convert-norm-to-linalg"])
    with pytest.raises(ValueError, match="not a pass flag: 'y=2'"):
        pipelines.steps("--b=x=1 y=2")  # Quote multi-option values.


def test_verify_round_trips():
    assert "norm.layer_norm eps(1.0e-05)" in norm_mlir.verify(LAYER_NORM)


def test_parse_error_carries_message_and_location():
    bad = LAYER_NORM.replace("tensor.empty()", "tensor.empty(")
    with pytest.raises(norm_mlir.MLIRError) as info:
        norm_mlir.compile(bad, "canonicalize")
    err = info.value
    assert err.summary == "failed to parse the IR"
    location = err.errors[0].location
    assert location.startswith("<ir>:2:")
    assert f"{location}: error: expected" in str(err)


def test_verifier_error_names_the_op_and_line():
    bad = LAYER_NORM.replace("eps(1.0e-5)", "eps(-1.0)")
    with pytest.raises(norm_mlir.MLIRError) as info:
        norm_mlir.compile(bad, "canonicalize", source_name="model.mlir")
    diag = info.value.errors[0]
    assert diag.location == "model.mlir:3:8"
    assert "'norm.layer_norm' op expects epsilon to be a positive finite" in diag.message
    assert diag.notes and diag.notes[0].severity == "note"


def test_shape_error():
    bad = LAYER_NORM.replace("outs(%i : tensor<4x8xf32>)",
                             "outs(%j : tensor<4x9xf32>)").replace(
        "%i = tensor.empty() : tensor<4x8xf32>",
        "%j = tensor.empty() : tensor<4x9xf32>")
    with pytest.raises(norm_mlir.MLIRError, match="output shape 4x9 to match"):
        norm_mlir.compile(bad, "canonicalize")


def test_unknown_pass():
    with pytest.raises(norm_mlir.MLIRError,
                       match="'no-such-pass' does not refer to a registered pass"):
        norm_mlir.compile(LAYER_NORM, "--no-such-pass")
    with pytest.raises(norm_mlir.MLIRError, match="no-such-pass"):
        norm_mlir.compile(LAYER_NORM, "builtin.module(no-such-pass)")


def test_bad_pass_option():
    with pytest.raises(norm_mlir.MLIRError, match="no such option"):
        norm_mlir.compile(LAYER_NORM, "--one-shot-bufferize=no-such-option=1")


def test_failing_pass_reports_its_diagnostics():
    # tosa ops do not bufferize: one-shot-bufferize fails, at the op.
    ir = """func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tosa.abs %a : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}"""
    with pytest.raises(norm_mlir.MLIRError) as info:
        norm_mlir.compile(ir, "--one-shot-bufferize")
    assert info.value.summary.endswith("failed")
    error = info.value.errors[0]
    assert error.location == "<ir>:2:8"
    assert error.message == "op was not bufferized"


def test_errors_leave_the_session_usable():
    for _ in range(3):
        with pytest.raises(norm_mlir.MLIRError):
            norm_mlir.compile("func.func @f(", "canonicalize")
    assert "linalg.generic" in norm_mlir.compile(LAYER_NORM, "convert-norm-to-linalg")


def test_non_string_ir():
    with pytest.raises(TypeError):
        norm_mlir.compile(42, "canonicalize")


def test_has_pass():
    assert norm_mlir.has_pass("convert-norm-to-linalg")
    assert norm_mlir.has_pass("buffer-deallocation-pipeline")
    assert not norm_mlir.has_pass("no-such-pass")


def test_lower_to_linalg():
    assert "linalg.generic" in norm_mlir.lower_to_linalg(LAYER_NORM)


def test_capture_finds_the_layer_norm():
    out = norm_mlir.capture(DECOMPOSED_LAYER_NORM)
    assert "norm.layer_norm" in out

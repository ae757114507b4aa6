"""norm_mlir.jit: JIT-compiling modules with the ExecutionEngine and calling
their functions on numpy arrays, with clear errors for wrong calls."""

import numpy as np
import pytest

import norm_mlir
from norm_mlir import jit

AXPY = """func.func @axpy(%a: f32, %x: memref<?xf32>, %y: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  scf.for %i = %c0 to %n step %c1 {
    %xi = memref.load %x[%i] : memref<?xf32>
    %yi = memref.load %y[%i] : memref<?xf32>
    %p = arith.mulf %a, %xi : f32
    %s = arith.addf %p, %yi : f32
    memref.store %s, %y[%i] : memref<?xf32>
  }
  return
}

func.func @fill(%v: f64, %out: memref<2x3xf64>) {
  linalg.fill ins(%v : f64) outs(%out : memref<2x3xf64>)
  return
}

func.func private @helper(%x: f32) -> f32 {
  return %x : f32
}
"""


@pytest.fixture(scope="module")
def module():
    return jit.JitModule(AXPY, "linalg")


def test_call_with_scalars_and_memrefs(module):
    x = np.arange(5, dtype=np.float32)
    y = np.ones(5, dtype=np.float32)
    module["axpy"](2.0, x, y)
    np.testing.assert_array_equal(y, 2 * np.arange(5) + 1)


def test_static_shape_and_f64(module):
    out = np.zeros((2, 3))
    module["fill"](1.5, out)
    assert (out == 1.5).all()


def test_signatures_are_read_from_the_ir(module):
    args = module.signatures["axpy"].args
    assert [(a.kind, a.dtype, a.shape) for a in args] == [
        ("scalar", "f32", None), ("memref", "f32", (None,)),
        ("memref", "f32", (None,))]
    assert "helper" not in module.signatures  # private


def test_wrong_dtype(module):
    with pytest.raises(TypeError, match=r"argument 1 \(memref<\?xf32>\) must have "
                       "dtype float32, got float64"):
        module["axpy"](1.0, np.zeros(3), np.zeros(3, np.float32))


def test_wrong_shape(module):
    with pytest.raises(ValueError, match="shape"):
        module["fill"](1.0, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        module["axpy"](1.0, np.zeros((3, 1), np.float32), np.zeros(3, np.float32))


def test_non_contiguous(module):
    x = np.zeros(6, np.float32)[::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        module["axpy"](1.0, x, np.zeros(3, np.float32))


def test_wrong_arity_and_types(module):
    with pytest.raises(TypeError, match="takes 3 arguments, got 2"):
        module["axpy"](1.0, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="must be a numpy array"):
        module["axpy"](1.0, [1.0], np.zeros(1, np.float32))


def test_unknown_function(module):
    with pytest.raises(KeyError, match="no public function @nope"):
        module["nope"]


def test_uncallable_functions():
    ir = """func.func @takes_tensor(%x: tensor<4xf32>, %out: memref<4xf32>) {
  bufferization.materialize_in_destination %x in restrict writable %out
      : (tensor<4xf32>, memref<4xf32>) -> ()
  return
}
func.func @returns(%x: f32) -> f32 {
  return %x : f32
}
func.func @strided(%x: memref<4xf32, strided<[2]>>) {
  return
}"""
    module = jit.JitModule(ir, "linalg")
    with pytest.raises(TypeError, match="takes a tensor"):
        module["takes_tensor"]
    with pytest.raises(TypeError, match="returns values"):
        module["returns"]
    with pytest.raises(TypeError, match="non-identity layout"):
        module["strided"]


def test_lowering_failure_raises_mlir_error():
    ir = """func.func @f(%a: memref<4xf32>, %out: memref<4xf32>) {
  %t = bufferization.to_tensor %a restrict : memref<4xf32> to tensor<4xf32>
  %0 = tosa.abs %t : (tensor<4xf32>) -> tensor<4xf32>
  bufferization.materialize_in_destination %0 in restrict writable %out
      : (tensor<4xf32>, memref<4xf32>) -> ()
  return
}"""
    with pytest.raises(norm_mlir.MLIRError, match="op was not bufferized"):
        jit.JitModule(ir, "linalg")


def test_untranslatable_module_raises_mlir_error():
    # Lowered only part way: func ops cannot be translated to LLVM IR.
    with pytest.raises(norm_mlir.MLIRError, match="ExecutionEngine could not"):
        jit.JitModule(AXPY, "canonicalize")


def test_undefined_external_function():
    ir = """func.func private @no_such_symbol(f32)
func.func @f(%x: f32) {
  func.call @no_such_symbol(%x) : (f32) -> ()
  return
}"""
    module = jit.JitModule(ir, "linalg")
    with pytest.raises(norm_mlir.MLIRError, match="could not be linked"):
        module["f"]


def test_default_pipeline(monkeypatch):
    monkeypatch.delenv("NORM_MLIR_PIPELINE", raising=False)
    monkeypatch.setattr(jit, "_default_pipeline", None)
    expected = "cpu" if norm_mlir.has_pass("norm-cpu-pipeline") else "linalg"
    assert jit.default_pipeline() == expected
    monkeypatch.setattr(jit, "_default_pipeline", None)
    monkeypatch.setenv("NORM_MLIR_PIPELINE", "linalg-tensor")
    assert jit.default_pipeline() == "linalg-tensor"

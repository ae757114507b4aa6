"""JIT compilation of MLIR modules with MLIR's ExecutionEngine (C API), and
calls of their functions on numpy arrays.

A callable function takes memrefs (with the identity layout) and scalars, and
returns nothing: it writes its results into memref arguments (destination-
passing style, the usual kernel ABI; tensors stay inside the function, behind
`bufferization.to_tensor` and `bufferization.materialize_in_destination`).
Each such public function gets `llvm.emit_c_interface`, and is called through
its `_mlir_ciface_` wrapper: one pointer to a memref descriptor per memref.

    module = JitModule(ir)                      # default lowering pipeline
    module["kernel"](x, gamma, out)             # numpy arrays, in order
"""

import ctypes
import os
import threading

import numpy as np

from norm_mlir import _capi
from norm_mlir.compiler import DEFAULT_SOURCE_NAME, session
from norm_mlir.core import tools
# Element types a JIT-callable function may use, with their numpy storage
# (bf16 values live in uint16 arrays, their bit patterns).
from norm_mlir.core.types import NUMPY_DTYPES
from norm_mlir.diagnostics import MLIRError
_SCALAR_CTYPES = {
    "f32": ctypes.c_float,
    "f64": ctypes.c_double,
    "i1": ctypes.c_bool,
    "i8": ctypes.c_int8,
    "i16": ctypes.c_int16,
    "i32": ctypes.c_int32,
    "i64": ctypes.c_int64,
    "index": ctypes.c_int64,
}

_default_pipeline = None
_default_lock = threading.Lock()


def default_pipeline():
    """The lowering pipeline the JIT uses unless told otherwise:
    `$NORM_MLIR_PIPELINE` when set, else the project's CPU pipeline ("cpu",
    `--norm-cpu-pipeline`) when this build registers it, else the reference
    lowering ("linalg"). Names refer to `norm_mlir.core.pipelines.PIPELINES`.
    """
    global _default_pipeline
    if _default_pipeline is None:
        with _default_lock:
            if _default_pipeline is None:
                chosen = os.environ.get("NORM_MLIR_PIPELINE")
                if not chosen:
                    chosen = ("cpu" if session().has_pass("norm-cpu-pipeline")
                              else "linalg")
                _default_pipeline = chosen
    return _default_pipeline


def shared_libraries():
    """Runtime libraries the JIT-compiled code may call into (memrefCopy,
    printing): MLIR's runner utils, from `$MLIR_LIB_DIR` or LLVM's lib dir."""
    return [path for path in tools.runner_libs() if os.path.exists(path)]


class ArgSpec:
    """A function argument: a memref (`shape` with None for dynamic dims) or
    a scalar (`shape` None), of element type `dtype` ("f32", "bf16", ...)."""

    __slots__ = ("kind", "dtype", "shape", "text")

    def __init__(self, kind, dtype, shape, text):
        self.kind, self.dtype, self.shape, self.text = kind, dtype, shape, text

    def __repr__(self):
        return self.text


class Signature:
    """What `JitModule` knows of one public function: its arguments, and why
    it cannot be called when it cannot."""

    def __init__(self, name, args, problem=None):
        self.name, self.args, self.problem = name, args, problem


def _type_text(lib, mlir_type):
    chunks = []
    lib.mlirTypePrint(mlir_type, _capi.string_callback(chunks), None)
    return "".join(chunks)


def _read_arg(lib, mlir_type):
    """An ArgSpec for `mlir_type`, or a string saying why it is unsupported."""
    text = _type_text(lib, mlir_type)
    if lib.mlirTypeIsARankedTensor(mlir_type):
        return (f"takes a tensor ({text}); JIT-callable functions take memrefs "
                "(use bufferization.to_tensor / materialize_in_destination "
                "inside)")
    if lib.mlirTypeIsAMemRef(mlir_type):
        elem = _type_text(lib, lib.mlirShapedTypeGetElementType(mlir_type))
        if elem not in NUMPY_DTYPES:
            return f"has an argument of unsupported element type ({text})"
        rank = lib.mlirShapedTypeGetRank(mlir_type)
        shape = tuple(None if lib.mlirShapedTypeIsDynamicDim(mlir_type, d)
                      else lib.mlirShapedTypeGetDimSize(mlir_type, d)
                      for d in range(rank))
        strides = (ctypes.c_int64 * max(rank, 1))()
        offset = ctypes.c_int64()
        if not lib.mlirMemRefTypeGetStridesAndOffset(
                mlir_type, strides, ctypes.byref(offset)).succeeded() or (
                "strided" in text or "affine_map" in text):
            return f"has a memref with a non-identity layout ({text})"
        return ArgSpec("memref", elem, shape, text)
    if text in _SCALAR_CTYPES:
        return ArgSpec("scalar", text, None, text)
    return f"has an argument of unsupported type {text}"


def _attribute(lib, op, name):
    ref, _keep = _capi.MlirStringRef.of(name)
    return lib.mlirOperationGetAttributeByName(op, ref)


def _prepare_functions(lib, context, module):
    """Signatures of the module's public func.func definitions, each marked
    `llvm.emit_c_interface`."""
    signatures = {}
    body = lib.mlirModuleGetBody(module)
    op = lib.mlirBlockGetFirstOperation(body)
    unit = lib.mlirUnitAttrGet(context)
    while op.ptr:
        current, op = op, lib.mlirOperationGetNextInBlock(op)
        name_ref = lib.mlirIdentifierStr(lib.mlirOperationGetName(current))
        if name_ref.str() != "func.func":
            continue
        visibility = _attribute(lib, current, "sym_visibility")
        if visibility.ptr and lib.mlirStringAttrGetValue(visibility).str() != "public":
            continue
        region = lib.mlirOperationGetRegion(current, 0)
        if not lib.mlirRegionGetFirstBlock(region).ptr:
            continue  # A declaration.
        name = lib.mlirStringAttrGetValue(_attribute(lib, current, "sym_name")).str()
        func_type = lib.mlirTypeAttrGetValue(_attribute(lib, current, "function_type"))
        args, problem = [], None
        for i in range(lib.mlirFunctionTypeGetNumInputs(func_type)):
            arg = _read_arg(lib, lib.mlirFunctionTypeGetInput(func_type, i))
            if isinstance(arg, str):
                problem = problem or f"argument {i} {arg}"
            else:
                args.append(arg)
        if lib.mlirFunctionTypeGetNumResults(func_type) and not problem:
            problem = ("returns values; JIT-callable functions write their "
                       "results into memref arguments")
        attr_ref, _keep = _capi.MlirStringRef.of("llvm.emit_c_interface")
        lib.mlirOperationSetAttributeByName(current, attr_ref, unit)
        signatures[name] = Signature(name, args, problem)
    return signatures


def memref_descriptor(array):
    """A memref descriptor (allocated and aligned pointers, offset, sizes,
    strides) over the C-contiguous `array`, as an int64 ctypes array. The
    caller keeps `array` alive while the descriptor is in use."""
    data = array.ctypes.data
    shape = array.shape
    rank = len(shape)
    if rank == 2:  # The common case, without the loop.
        return DESCRIPTOR_TYPES[2](data, data, 0, shape[0], shape[1], shape[1], 1)
    strides, stride = [1] * rank, 1
    for d in range(rank - 1, -1, -1):
        strides[d] = stride
        stride *= shape[d]
    return DESCRIPTOR_TYPES[rank](data, data, 0, *shape, *strides)


class _DescriptorTypes(dict):
    def __missing__(self, rank):
        self[rank] = ctypes.c_int64 * (3 + 2 * rank)
        return self[rank]


#: The ctypes type of a rank-r memref descriptor, by r.
DESCRIPTOR_TYPES = _DescriptorTypes()


class Function:
    """A JIT-compiled function; call it with numpy arrays (memref arguments,
    C-contiguous, of the memref's element type and static dims) and Python
    numbers (scalar arguments). Returns None: outputs are written into the
    memref arguments given for them."""

    def __init__(self, module, signature, address):
        self.module = module  # Keeps the engine (and the code) alive.
        self.signature = signature
        argtypes = [ctypes.POINTER(ctypes.c_int64) if a.kind == "memref"
                    else _SCALAR_CTYPES[a.dtype] for a in signature.args]
        self._fn = ctypes.CFUNCTYPE(None, *argtypes)(address)

    @property
    def name(self):
        return self.signature.name

    def __call__(self, *args):
        specs = self.signature.args
        if len(args) != len(specs):
            raise TypeError(f"@{self.name} takes {len(specs)} arguments, got "
                            f"{len(args)}")
        converted = []
        for i, (spec, value) in enumerate(zip(specs, args)):
            if spec.kind == "scalar":
                converted.append(value)
                continue
            converted.append(memref_descriptor(self._check_array(i, spec, value)))
        self._fn(*converted)

    def call_descriptors(self, *descriptors):
        """Calls the function on prepared arguments (memref descriptors from
        `memref_descriptor` and scalars), without checks: the fast path for
        callers that have validated the arrays themselves."""
        self._fn(*descriptors)

    def _check_array(self, i, spec, value):
        if not isinstance(value, np.ndarray):
            raise TypeError(f"@{self.name} argument {i} ({spec.text}) must be "
                            f"a numpy array, got {type(value).__name__}")
        want = NUMPY_DTYPES[spec.dtype]
        if value.dtype != want:
            raise TypeError(f"@{self.name} argument {i} ({spec.text}) must have "
                            f"dtype {want}, got {value.dtype}")
        if value.ndim != len(spec.shape) or any(
                d is not None and d != n for d, n in zip(spec.shape, value.shape)):
            raise ValueError(f"@{self.name} argument {i} ({spec.text}) got an "
                             f"array of shape {value.shape}")
        if not value.flags.c_contiguous:
            raise ValueError(f"@{self.name} argument {i} ({spec.text}) must be "
                             "C-contiguous (np.ascontiguousarray)")
        return value


class JitModule:
    """An MLIR module lowered through a pass pipeline to the LLVM dialect and
    compiled to native code by the ExecutionEngine.

    `pipeline` is any form `norm_mlir.pipelines.to_textual` takes; None means
    `default_pipeline()`. Raises `MLIRError` (with MLIR's diagnostics and
    locations) when the IR does not parse, a pass fails, or the lowered
    module cannot be translated to LLVM IR and compiled.
    """

    def __init__(self, ir, pipeline=None, *, opt_level=2,
                 source_name=DEFAULT_SOURCE_NAME):
        s = session()
        lib = s.lib
        self._lib = lib
        self._engine = None
        self.pipeline = pipeline if pipeline is not None else default_pipeline()
        libs = shared_libraries()
        refs = [_capi.MlirStringRef.of(p) for p in libs]
        paths = (_capi.MlirStringRef * max(len(refs), 1))(*[r for r, _ in refs])
        with s.collecting(source_name) as diagnostics:
            module = s.parse(ir, diagnostics)
            try:
                self.signatures = _prepare_functions(lib, s.context, module)
                s.run_pipeline(module, self.pipeline, diagnostics)
                engine = lib.mlirExecutionEngineCreate(
                    module, opt_level, len(refs), paths, False, False)
                if not engine.ptr:
                    raise MLIRError(
                        "the ExecutionEngine could not compile the lowered "
                        "module (translation to LLVM IR or code generation "
                        "failed)", diagnostics)
                self._engine = engine
            finally:
                s.destroy(module)
        self._functions = {}

    def __getitem__(self, name):
        """The function `name`, ready to call."""
        function = self._functions.get(name)
        if function is not None:
            return function
        signature = self.signatures.get(name)
        if signature is None:
            raise KeyError(f"no public function @{name} in the module (has: "
                           f"{', '.join('@' + n for n in self.signatures)})")
        if signature.problem:
            raise TypeError(f"@{name} cannot be called: {signature.problem}")
        ref, _keep = _capi.MlirStringRef.of("_mlir_ciface_" + name)
        address = self._lib.mlirExecutionEngineLookup(self._engine, ref)
        if not address:
            raise MLIRError(
                f"@{name} could not be linked by the JIT: a function it calls "
                "is probably undefined (LLVM names the missing symbols on "
                "stderr)")
        function = Function(self, signature, address)
        self._functions[name] = function
        return function

    def __del__(self):
        engine = getattr(self, "_engine", None)
        if engine is not None and engine.ptr:
            try:
                self._lib.mlirExecutionEngineDestroy(engine)
            except Exception:  # pragma: no cover - interpreter shutdown
                pass
            self._engine = None

"""ctypes bindings to libNormCAPI.so: the norm C API and the parts of MLIR's C
API it carries (IR, passes, diagnostics, the ExecutionEngine).

Only what the package uses is declared. Every MLIR handle is a struct holding
one pointer, passed by value, as in `mlir-c/`. The library is found, in order,
at `$NORM_MLIR_CAPI_LIB` (a file), in `$NORM_BUILD_DIR/lib`, in the
source tree's `build/lib`, and in `../../lib` next to an installed package
(`<prefix>/python_packages/norm_mlir`).
"""

import ctypes
import os
import threading

_LIB_NAME = "libNormCAPI.so"
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class LibraryNotFoundError(ImportError):
    """libNormCAPI.so was not found or could not be loaded."""


def _candidates():
    path = os.environ.get("NORM_MLIR_CAPI_LIB")
    if path:
        yield path
    build = os.environ.get("NORM_BUILD_DIR")
    if build:
        yield os.path.join(build, "lib", _LIB_NAME)
    root = os.path.dirname(os.path.dirname(_PACKAGE_DIR))
    yield os.path.join(root, "build", "lib", _LIB_NAME)
    yield os.path.join(root, "lib", _LIB_NAME)


def library_path():
    """The path of the libNormCAPI.so that is (or would be) loaded."""
    tried = []
    for path in _candidates():
        if os.path.exists(path):
            return path
        tried.append(path)
    raise LibraryNotFoundError(
        f"{_LIB_NAME} not found (tried {', '.join(tried)}); build the project "
        "(ninja -C build) or point NORM_BUILD_DIR at a build directory, "
        "or NORM_MLIR_CAPI_LIB at the library")


# -- C types ------------------------------------------------------------------


def _handle(name):
    return type(name, (ctypes.Structure,), {"_fields_": [("ptr", ctypes.c_void_p)]})


MlirContext = _handle("MlirContext")
MlirDialectRegistry = _handle("MlirDialectRegistry")
MlirDialectHandle = _handle("MlirDialectHandle")
MlirModule = _handle("MlirModule")
MlirOperation = _handle("MlirOperation")
MlirBlock = _handle("MlirBlock")
MlirRegion = _handle("MlirRegion")
MlirLocation = _handle("MlirLocation")
MlirType = _handle("MlirType")
MlirAttribute = _handle("MlirAttribute")
MlirIdentifier = _handle("MlirIdentifier")
MlirDiagnostic = _handle("MlirDiagnostic")
MlirPassManager = _handle("MlirPassManager")
MlirOpPassManager = _handle("MlirOpPassManager")
MlirSymbolTable = _handle("MlirSymbolTable")
MlirExecutionEngine = _handle("MlirExecutionEngine")


class MlirStringRef(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("length", ctypes.c_size_t)]

    @staticmethod
    def of(text):
        """A string ref over `text` (str or bytes), returned with the buffer
        holding it, which the caller keeps alive for as long as the ref. The
        buffer is NUL-terminated beyond the ref's length, for the C API
        functions that take `.data` as a C string (e.g. the ExecutionEngine's
        shared library paths)."""
        data = text.encode() if isinstance(text, str) else bytes(text)
        buffer = ctypes.create_string_buffer(data)
        return MlirStringRef(ctypes.cast(buffer, ctypes.c_void_p), len(data)), buffer

    def str(self):
        if not self.length:
            return ""
        return ctypes.string_at(self.data, self.length).decode("utf-8", "replace")


class MlirLogicalResult(ctypes.Structure):
    _fields_ = [("value", ctypes.c_int8)]

    def succeeded(self):
        return self.value != 0


MlirStringCallback = ctypes.CFUNCTYPE(None, MlirStringRef, ctypes.c_void_p)
# ctypes callbacks cannot return structures; MlirLogicalResult is a struct of
# one int8_t, which the C ABIs return exactly as an int8_t.
MlirDiagnosticHandler = ctypes.CFUNCTYPE(ctypes.c_int8, MlirDiagnostic,
                                         ctypes.c_void_p)

_c = ctypes
_PROTOTYPES = {
    # Registration (norm-c/ and mlir-c/RegisterEverything.h).
    "mlirGetDialectHandle__norm__": ([], MlirDialectHandle),
    "mlirRegisterNormDialects": ([MlirDialectRegistry], None),
    "mlirRegisterNormPasses": ([], None),
    "mlirRegisterAllDialects": ([MlirDialectRegistry], None),
    "mlirRegisterAllPasses": ([], None),
    "mlirRegisterAllLLVMTranslations": ([MlirContext], None),
    "mlirDialectHandleGetNamespace": ([MlirDialectHandle], MlirStringRef),
    # Context and diagnostics.
    "mlirContextCreateWithThreading": ([_c.c_bool], MlirContext),
    "mlirContextDestroy": ([MlirContext], None),
    "mlirDialectRegistryCreate": ([], MlirDialectRegistry),
    "mlirDialectRegistryDestroy": ([MlirDialectRegistry], None),
    "mlirContextAppendDialectRegistry": ([MlirContext, MlirDialectRegistry], None),
    "mlirContextLoadAllAvailableDialects": ([MlirContext], None),
    "mlirContextAttachDiagnosticHandler": (
        [MlirContext, MlirDiagnosticHandler, _c.c_void_p, _c.c_void_p], _c.c_uint64),
    "mlirDiagnosticPrint": ([MlirDiagnostic, MlirStringCallback, _c.c_void_p], None),
    "mlirDiagnosticGetLocation": ([MlirDiagnostic], MlirLocation),
    "mlirDiagnosticGetSeverity": ([MlirDiagnostic], _c.c_int),
    "mlirDiagnosticGetNumNotes": ([MlirDiagnostic], _c.c_ssize_t),
    "mlirDiagnosticGetNote": ([MlirDiagnostic, _c.c_ssize_t], MlirDiagnostic),
    "mlirLocationPrint": ([MlirLocation, MlirStringCallback, _c.c_void_p], None),
    "mlirNormOpPassManagerAddPassFlag": (
        [MlirOpPassManager, MlirStringRef, MlirStringRef, MlirStringCallback,
         _c.c_void_p], MlirLogicalResult),
    # IR.
    "mlirModuleCreateParse": ([MlirContext, MlirStringRef], MlirModule),
    "mlirModuleDestroy": ([MlirModule], None),
    "mlirModuleGetOperation": ([MlirModule], MlirOperation),
    "mlirOperationCreateParse": ([MlirContext, MlirStringRef, MlirStringRef],
                                 MlirOperation),
    "mlirOperationDestroy": ([MlirOperation], None),
    "mlirOperationVerify": ([MlirOperation], _c.c_bool),
    "mlirOperationPrint": ([MlirOperation, MlirStringCallback, _c.c_void_p], None),
    "mlirOperationGetName": ([MlirOperation], MlirIdentifier),
    "mlirOperationGetRegion": ([MlirOperation, _c.c_ssize_t], MlirRegion),
    "mlirRegionGetFirstBlock": ([MlirRegion], MlirBlock),
    "mlirOperationGetNumRegions": ([MlirOperation], _c.c_ssize_t),
    "mlirOperationGetNextInBlock": ([MlirOperation], MlirOperation),
    "mlirOperationGetAttributeByName": ([MlirOperation, MlirStringRef], MlirAttribute),
    "mlirOperationSetAttributeByName": ([MlirOperation, MlirStringRef, MlirAttribute],
                                        None),
    "mlirBlockGetFirstOperation": ([MlirBlock], MlirOperation),
    "mlirIdentifierStr": ([MlirIdentifier], MlirStringRef),
    "mlirUnitAttrGet": ([MlirContext], MlirAttribute),
    "mlirStringAttrGetValue": ([MlirAttribute], MlirStringRef),
    "mlirTypeAttrGetValue": ([MlirAttribute], MlirType),
    "mlirFunctionTypeGetNumInputs": ([MlirType], _c.c_ssize_t),
    "mlirFunctionTypeGetInput": ([MlirType, _c.c_ssize_t], MlirType),
    "mlirFunctionTypeGetNumResults": ([MlirType], _c.c_ssize_t),
    "mlirTypeIsAMemRef": ([MlirType], _c.c_bool),
    "mlirTypeIsARankedTensor": ([MlirType], _c.c_bool),
    "mlirTypeIsAF16": ([MlirType], _c.c_bool),
    "mlirTypeIsABF16": ([MlirType], _c.c_bool),
    "mlirTypeIsAF32": ([MlirType], _c.c_bool),
    "mlirTypeIsAF64": ([MlirType], _c.c_bool),
    "mlirTypePrint": ([MlirType, MlirStringCallback, _c.c_void_p], None),
    "mlirShapedTypeGetElementType": ([MlirType], MlirType),
    "mlirShapedTypeGetRank": ([MlirType], _c.c_int64),
    "mlirShapedTypeGetDimSize": ([MlirType, _c.c_ssize_t], _c.c_int64),
    "mlirShapedTypeIsDynamicDim": ([MlirType, _c.c_ssize_t], _c.c_bool),
    "mlirMemRefTypeGetStridesAndOffset": (
        [MlirType, _c.POINTER(_c.c_int64), _c.POINTER(_c.c_int64)], MlirLogicalResult),
    # Passes.
    "mlirPassManagerCreate": ([MlirContext], MlirPassManager),
    "mlirPassManagerCreateOnOperation": ([MlirContext, MlirStringRef],
                                         MlirPassManager),
    "mlirPassManagerDestroy": ([MlirPassManager], None),
    "mlirPassManagerGetAsOpPassManager": ([MlirPassManager], MlirOpPassManager),
    "mlirPassManagerRunOnOp": ([MlirPassManager, MlirOperation], MlirLogicalResult),
    "mlirOpPassManagerAddPipeline": (
        [MlirOpPassManager, MlirStringRef, MlirStringCallback, _c.c_void_p],
        MlirLogicalResult),
    "mlirParsePassPipeline": (
        [MlirOpPassManager, MlirStringRef, MlirStringCallback, _c.c_void_p],
        MlirLogicalResult),
    # ExecutionEngine.
    "mlirExecutionEngineCreate": (
        [MlirModule, _c.c_int, _c.c_int, _c.POINTER(MlirStringRef), _c.c_bool,
         _c.c_bool], MlirExecutionEngine),
    "mlirExecutionEngineDestroy": ([MlirExecutionEngine], None),
    "mlirExecutionEngineLookup": ([MlirExecutionEngine, MlirStringRef], _c.c_void_p),
    "mlirModuleFromOperation": ([MlirOperation], MlirModule),
    "mlirModuleGetBody": ([MlirModule], MlirBlock),
}

_lib = None
_load_lock = threading.Lock()


def lib():
    """The loaded library, with prototypes declared and every dialect, pass
    and pipeline (upstream and norm) registered."""
    global _lib
    if _lib is not None:
        return _lib
    with _load_lock:
        if _lib is not None:
            return _lib
        path = library_path()
        try:
            handle = ctypes.CDLL(path)
        except OSError as err:
            raise LibraryNotFoundError(f"cannot load {path}: {err}") from err
        for name, (argtypes, restype) in _PROTOTYPES.items():
            fn = getattr(handle, name)
            fn.argtypes = argtypes
            fn.restype = restype
        # Global pass registries: once per process (MLIR aborts on a pass
        # pipeline registered twice; mlirRegisterNormPasses guards itself).
        handle.mlirRegisterAllPasses()
        handle.mlirRegisterNormPasses()
        _lib = handle
    return _lib


def string_callback(chunks):
    """An MlirStringCallback appending decoded chunks to the list `chunks`.
    Keep the returned object alive while the C side may call it."""

    def append(ref, _):
        chunks.append(ref.str())

    return MlirStringCallback(append)

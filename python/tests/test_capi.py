"""The C API of libNormCAPI.so, driven directly through ctypes: the norm
dialect handle, pass registration, implicit nesting, and that MLIR's own C
API (parse, run a pipeline, print) is exported beside it."""

import ctypes

import pytest

from norm_mlir import _capi

LAYER_NORM = """
func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %i = tensor.empty() : tensor<4x8xf32>
  %y = norm.layer_norm eps(1.0e-5) ins(%x : tensor<4x8xf32>) outs(%i : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
"""


@pytest.fixture
def lib():
    return _capi.lib()


class Context:
    """A fresh context with every upstream dialect, plus whatever `setup`
    adds to the registry; parses and runs pipelines, raising on failure."""

    def __init__(self, lib, setup):
        self.lib = lib
        self.context = lib.mlirContextCreateWithThreading(False)
        registry = lib.mlirDialectRegistryCreate()
        lib.mlirRegisterAllDialects(registry)
        setup(registry)
        lib.mlirContextAppendDialectRegistry(self.context, registry)
        lib.mlirDialectRegistryDestroy(registry)
        self.diagnostics = []
        self.modules = []

        def on_diagnostic(diagnostic, _):
            chunks = []
            lib.mlirDiagnosticPrint(diagnostic, _capi.string_callback(chunks), None)
            self.diagnostics.append("".join(chunks))
            return 1

        self._handler = _capi.MlirDiagnosticHandler(on_diagnostic)
        lib.mlirContextAttachDiagnosticHandler(self.context, self._handler,
                                               None, None)

    def parse(self, text):
        ref, _keep = _capi.MlirStringRef.of(text)
        module = self.lib.mlirModuleCreateParse(self.context, ref)
        assert module.ptr, self.diagnostics
        self.modules.append(module)
        return module

    def run(self, module, pipeline, as_flag=False):
        """Adds `pipeline` to a builtin.module pass manager, as textual
        pipeline elements or, `as_flag`, as one norm-opt flag (a pass name),
        and runs it; returns None, or what went wrong."""
        lib = self.lib
        anchor, _keep_anchor = _capi.MlirStringRef.of("builtin.module")
        manager = lib.mlirPassManagerCreateOnOperation(self.context, anchor)
        op_manager = lib.mlirPassManagerGetAsOpPassManager(manager)
        errors = []
        callback = _capi.string_callback(errors)
        self.diagnostics.clear()
        ref, _keep = _capi.MlirStringRef.of(pipeline)
        no_options, _keep_options = _capi.MlirStringRef.of("")
        try:
            if as_flag:
                added = lib.mlirNormOpPassManagerAddPassFlag(
                    op_manager, ref, no_options, callback, None)
            else:
                added = lib.mlirOpPassManagerAddPipeline(op_manager, ref,
                                                         callback, None)
            if not added.succeeded():
                return "pipeline: " + "".join(errors)
            if not lib.mlirPassManagerRunOnOp(
                    manager, lib.mlirModuleGetOperation(module)).succeeded():
                return "failed: " + "; ".join(self.diagnostics)
            return None
        finally:
            lib.mlirPassManagerDestroy(manager)

    def print(self, module):
        chunks = []
        self.lib.mlirOperationPrint(self.lib.mlirModuleGetOperation(module),
                                    _capi.string_callback(chunks), None)
        return "".join(chunks)

    def close(self):
        """Destroys the modules, then the context (in that order: a module
        outliving its context crashes)."""
        for module in self.modules:
            self.lib.mlirModuleDestroy(module)
        self.modules.clear()
        if self.context.ptr:
            self.lib.mlirContextDestroy(self.context)
            self.context.ptr = None


def test_dialect_handle_namespace(lib):
    handle = lib.mlirGetDialectHandle__norm__()
    assert lib.mlirDialectHandleGetNamespace(handle).str() == "norm"


def test_parse_run_print_through_the_c_api(lib):
    ctx = Context(lib, lib.mlirRegisterNormDialects)
    module = ctx.parse(LAYER_NORM)
    assert ctx.run(module, "convert-norm-to-linalg") is None
    text = ctx.print(module)
    assert "norm.layer_norm" not in text and "linalg.generic" in text
    ctx.close()


def test_handle_alone_attaches_the_bufferization_models(lib):
    # Inserting only the dialect handle must be enough to bufferize norm ops:
    # the handle also registers the ops' external bufferization models.
    insert = ctypes.CFUNCTYPE(None, _capi.MlirDialectHandle,
                              _capi.MlirDialectRegistry)(
        ("mlirDialectHandleInsertDialect", lib))
    handle = lib.mlirGetDialectHandle__norm__()
    ctx = Context(lib, lambda registry: insert(handle, registry))
    module = ctx.parse(LAYER_NORM)
    assert ctx.run(module, "one-shot-bufferize{bufferize-function-boundaries}") is None
    text = ctx.print(module)
    assert "memref<4x8xf32>" in text and "norm.layer_norm" in text
    ctx.close()


def test_without_the_norm_dialect_norm_ops_do_not_parse(lib):
    # The counterpart of the tests above: upstream dialects alone do not
    # know norm ops, so it is the norm registration that makes them parse.
    ctx = Context(lib, lambda registry: None)
    ref, _keep = _capi.MlirStringRef.of(LAYER_NORM)
    assert not lib.mlirModuleCreateParse(ctx.context, ref).ptr
    assert any("norm.layer_norm" in d for d in ctx.diagnostics)
    ctx.close()


def test_register_norm_passes_twice_is_harmless(lib):
    # The pipelines registered inside would abort MLIR if registered twice.
    lib.mlirRegisterNormPasses()
    lib.mlirRegisterNormPasses()


def test_pass_flags_nest_implicitly(lib):
    # affine-loop-invariant-code-motion is anchored on func.func: a textual
    # pipeline on builtin.module must nest it explicitly, while the flag form
    # nests it implicitly, as on norm-opt's command line.
    ctx = Context(lib, lib.mlirRegisterNormDialects)
    module = ctx.parse("func.func @f() { return }")
    name = "affine-loop-invariant-code-motion"
    assert "did you intend to nest?" in ctx.run(module, name)
    assert ctx.run(module, f"func.func({name})") is None
    assert ctx.run(module, name, as_flag=True) is None
    assert "does not refer to a registered pass" in ctx.run(
        module, "no-such-pass", as_flag=True)
    ctx.close()


def test_pass_flag_options(lib):
    ctx = Context(lib, lib.mlirRegisterNormDialects)
    module = ctx.parse(LAYER_NORM)
    ref = _capi.MlirStringRef.of
    anchor, _a = ref("builtin.module")
    name, _n = ref("one-shot-bufferize")
    errors = []
    callback = _capi.string_callback(errors)
    for options, ok in (("no-such-option=1", False),
                        ("bufferize-function-boundaries", True)):
        manager = lib.mlirPassManagerCreateOnOperation(ctx.context, anchor)
        op_manager = lib.mlirPassManagerGetAsOpPassManager(manager)
        options_ref, _o = ref(options)
        added = lib.mlirNormOpPassManagerAddPassFlag(op_manager, name,
                                                     options_ref, callback, None)
        assert added.succeeded() == ok, errors
        if ok:
            assert lib.mlirPassManagerRunOnOp(
                manager, lib.mlirModuleGetOperation(module)).succeeded(), \
                ctx.diagnostics
        else:
            assert "no-such-option" in "".join(errors)
        lib.mlirPassManagerDestroy(manager)
    assert "memref<4x8xf32>" in ctx.print(module)
    ctx.close()

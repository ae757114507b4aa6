"""Parses MLIR text, runs pass pipelines on it and prints the result, through
the C API, with MLIR's diagnostics raised as `MLIRError`.

Everything runs in one process-wide MLIR context that knows every upstream
dialect and the norm dialect, and every upstream and norm pass. MLIR contexts
are not thread-safe, so its use is serialised by a lock.
"""

import contextlib
import threading

from norm_mlir import _capi, pipelines
from norm_mlir.diagnostics import DIAGNOSTIC_SEVERITIES, Diagnostic, MLIRError, \
    format_location

DEFAULT_SOURCE_NAME = "<ir>"


class Session:
    """The MLIR context, the registrations it needs and its diagnostics."""

    def __init__(self):
        lib = _capi.lib()
        self.lib = lib
        self.lock = threading.RLock()
        # Single-threaded: kernels are small, and diagnostics then arrive in
        # order on the calling thread.
        self.context = lib.mlirContextCreateWithThreading(False)
        registry = lib.mlirDialectRegistryCreate()
        lib.mlirRegisterAllDialects(registry)
        lib.mlirRegisterNormDialects(registry)
        lib.mlirContextAppendDialectRegistry(self.context, registry)
        lib.mlirDialectRegistryDestroy(registry)
        lib.mlirRegisterAllLLVMTranslations(self.context)
        self._collected = None
        self._source_name = DEFAULT_SOURCE_NAME
        self._handler = _capi.MlirDiagnosticHandler(self._on_diagnostic)
        lib.mlirContextAttachDiagnosticHandler(self.context, self._handler,
                                               None, None)

    # -- diagnostics ---------------------------------------------------------
    def _convert(self, diagnostic):
        lib = self.lib
        chunks = []
        callback = _capi.string_callback(chunks)
        lib.mlirLocationPrint(lib.mlirDiagnosticGetLocation(diagnostic),
                              callback, None)
        location = format_location("".join(chunks), self._source_name)
        chunks.clear()
        lib.mlirDiagnosticPrint(diagnostic, callback, None)
        message = "".join(chunks)
        severity = lib.mlirDiagnosticGetSeverity(diagnostic)
        notes = [self._convert(lib.mlirDiagnosticGetNote(diagnostic, i))
                 for i in range(lib.mlirDiagnosticGetNumNotes(diagnostic))]
        return Diagnostic(DIAGNOSTIC_SEVERITIES[severity]
                          if 0 <= severity < len(DIAGNOSTIC_SEVERITIES)
                          else str(severity), location, message, notes)

    def _on_diagnostic(self, diagnostic, _):
        # Never let an exception escape into C: it would be printed and lost.
        try:
            converted = self._convert(diagnostic)
        except Exception as err:  # pragma: no cover - defensive
            converted = Diagnostic("error", "?", f"(unreadable diagnostic: {err})")
        if self._collected is None:
            return 0  # Not expecting any: let MLIR print it.
        self._collected.append(converted)
        return 1

    @contextlib.contextmanager
    def collecting(self, source_name=DEFAULT_SOURCE_NAME):
        """Holds the context lock and collects diagnostics into the yielded
        list."""
        with self.lock:
            saved = (self._collected, self._source_name)
            self._collected, self._source_name = [], source_name
            try:
                yield self._collected
            finally:
                self._collected, self._source_name = saved

    # -- IR ------------------------------------------------------------------
    def parse(self, ir, diagnostics):
        """Parses `ir` into a new module (caller holds the lock and destroys
        it with `destroy`)."""
        if not isinstance(ir, (str, bytes)):
            raise TypeError(f"IR must be a str, got {type(ir).__name__}")
        source, _keep = _capi.MlirStringRef.of(ir)
        module = self.lib.mlirModuleCreateParse(self.context, source)
        if not module.ptr:
            raise MLIRError("failed to parse the IR", diagnostics)
        return module

    def destroy(self, module):
        self.lib.mlirModuleDestroy(module)

    def operation(self, module):
        return self.lib.mlirModuleGetOperation(module)

    def print(self, module):
        chunks = []
        callback = _capi.string_callback(chunks)
        self.lib.mlirOperationPrint(self.operation(module), callback, None)
        return "".join(chunks)

    def _pass_manager(self, pipeline, on_error):
        """A `builtin.module` pass manager holding `pipeline` (any form
        `norm_mlir.pipelines` takes); calls `on_error` with the reason and
        returns None when a step is unknown or malformed."""
        lib = self.lib
        anchor, _keep = _capi.MlirStringRef.of("builtin.module")
        manager = lib.mlirPassManagerCreateOnOperation(self.context, anchor)
        op_manager = lib.mlirPassManagerGetAsOpPassManager(manager)
        errors = []
        callback = _capi.string_callback(errors)
        for step in pipelines.steps(pipeline):
            if isinstance(step, pipelines.PassFlag):
                name, _keep_name = _capi.MlirStringRef.of(step.name)
                options, _keep_options = _capi.MlirStringRef.of(step.options)
                added = lib.mlirNormOpPassManagerAddPassFlag(
                    op_manager, name, options, callback, None)
            else:
                elements, _keep_elements = _capi.MlirStringRef.of(step.elements)
                added = lib.mlirOpPassManagerAddPipeline(
                    op_manager, elements, callback, None)
            if not added.succeeded():
                lib.mlirPassManagerDestroy(manager)
                on_error(f"{step.text()}: " + "".join(errors).strip())
                return None
        return manager

    def run_pipeline(self, module, pipeline, diagnostics):
        """Runs `pipeline` (any form `norm_mlir.pipelines` takes) on
        `module`, in place."""
        text = pipelines.describe(pipeline)

        def fail(message):
            raise MLIRError(f"invalid pass pipeline '{text}'", diagnostics + [
                Diagnostic("error", "<pipeline>", message)])

        manager = self._pass_manager(pipeline, fail)
        try:
            if not self.lib.mlirPassManagerRunOnOp(
                    manager, self.operation(module)).succeeded():
                raise MLIRError(f"pass pipeline '{text}' failed", diagnostics)
        finally:
            self.lib.mlirPassManagerDestroy(manager)

    def has_pass(self, name):
        """Whether `name` is a registered pass or pass pipeline."""
        with self.collecting():
            manager = self._pass_manager([f"--{name}"], lambda message: None)
            if manager is None:
                return False
            self.lib.mlirPassManagerDestroy(manager)
            return True


_session = None
_session_lock = threading.Lock()


def session():
    """The process-wide `Session` (created, and the library loaded, on first
    use)."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = Session()
    return _session


def compile(ir, pipeline, *, source_name=DEFAULT_SOURCE_NAME):
    """Parses `ir`, runs `pipeline` on it and returns the printed result.

    `pipeline` is a pipeline name ("linalg", "cpu", ...), `norm-opt` flags,
    or a textual pass pipeline (see `norm_mlir.pipelines`). Raises
    `MLIRError`, carrying MLIR's messages and their locations (named
    `source_name`), when the IR does not parse or verify, the pipeline does
    not parse, or a pass fails.
    """
    s = session()
    with s.collecting(source_name) as diagnostics:
        module = s.parse(ir, diagnostics)
        try:
            s.run_pipeline(module, pipeline, diagnostics)
            return s.print(module)
        finally:
            s.destroy(module)


def verify(ir, *, source_name=DEFAULT_SOURCE_NAME):
    """Parses and verifies `ir`, returning it printed in canonical form."""
    s = session()
    with s.collecting(source_name) as diagnostics:
        module = s.parse(ir, diagnostics)
        try:
            return s.print(module)
        finally:
            s.destroy(module)


def has_pass(name):
    """Whether `name` is a registered pass or pass pipeline (e.g.
    `norm-cpu-pipeline` once the CPU pipeline is built)."""
    return session().has_pass(name)


def _pass_runner(pass_name, doc):
    def run(ir, *, options="", source_name=DEFAULT_SOURCE_NAME):
        flag = f"--{pass_name}={options}" if options else f"--{pass_name}"
        return compile(ir, [flag], source_name=source_name)

    run.__name__ = pass_name.replace("-", "_")
    run.__doc__ = doc + (
        "\n\n`options` is the pass's option string (`key=value ...`). Raises "
        "`MLIRError` when the pass is not registered in this build.")
    return run


capture = _pass_runner(
    "norm-capture",
    "Runs `--norm-capture` on `ir`: decomposed LayerNorm / RMSNorm chains "
    "become norm.layer_norm / norm.rms_norm ops. Returns the IR.")
fuse = _pass_runner(
    "norm-fuse",
    "Runs `--norm-fuse` on `ir`: residual adds, scales, shifts and output "
    "casts next to norm ops are absorbed into them. Returns the IR.")
lower_to_linalg = _pass_runner(
    "convert-norm-to-linalg",
    "Runs `--convert-norm-to-linalg` on `ir` (the reference lowering). "
    "Returns the IR.")
lower_to_affine = _pass_runner(
    "convert-norm-to-affine",
    "Runs `--convert-norm-to-affine` on `ir` (the CPU lowering). Returns the IR.")

"""MLIR diagnostics as Python values, and the exception that carries them."""

import re
from dataclasses import dataclass, field

# MlirDiagnosticSeverity, in enum order.
DIAGNOSTIC_SEVERITIES = ("error", "warning", "note", "remark")

# `loc("name":3:8)` as MLIR prints a file/line/column location.
_FILE_LINE_COL = re.compile(r'^loc\("((?:[^"\\]|\\.)*)":(\d+):(\d+)\)$')


def format_location(text, source_name=None):
    """`name:3:8` for an MLIR file/line/column location printed as
    `loc("name":3:8)`, naming the parser's anonymous buffer `-` as
    `source_name`; other locations (unknown, fused, call sites) as printed."""
    m = _FILE_LINE_COL.match(text)
    if not m:
        return text
    name, line, col = m.groups()
    if name == "-" and source_name:
        name = source_name
    return f"{name}:{line}:{col}"


@dataclass
class Diagnostic:
    """One MLIR diagnostic: severity ("error", "warning", "note", "remark"),
    location (`file:line:col` where known), message, and attached notes."""
    severity: str
    location: str
    message: str
    notes: list = field(default_factory=list)

    def __str__(self):
        text = f"{self.location}: {self.severity}: {self.message}"
        for note in self.notes:
            text += "\n" + "\n".join("  " + line for line in str(note).splitlines())
        return text


class MLIRError(RuntimeError):
    """An MLIR operation failed (parsing, verification, a pass, translation to
    LLVM IR, JIT compilation). `diagnostics` holds what MLIR reported, with
    locations; `str()` shows the summary followed by every diagnostic."""

    def __init__(self, summary, diagnostics=()):
        self.summary = summary
        self.diagnostics = list(diagnostics)
        text = summary
        if self.diagnostics:
            text += ":\n" + "\n".join(str(d) for d in self.diagnostics)
        super().__init__(text)

    @property
    def errors(self):
        """The error-severity diagnostics."""
        return [d for d in self.diagnostics if d.severity == "error"]

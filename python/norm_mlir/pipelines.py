"""Pass pipelines, in the forms the Python API accepts, as steps for a
`builtin.module` pass manager.

A pipeline may be given as

- a name from `norm_mlir.core.pipelines.PIPELINES` ("linalg", "cpu", ...),
  the one place the project's lowering pipelines are spelled out;
- `norm-opt` flags, as a list or one string (`"--convert-norm-to-linalg
  --one-shot-bufferize=bufferize-function-boundaries"`). They mean what they
  mean on the command line: passes anchored on other operations nest
  implicitly, and `--pass-pipeline=builtin.module(...)` is spliced in;
- a textual pipeline, anchored (`"builtin.module(func.func(canonicalize))"`)
  or not (`"canonicalize,cse"`, run on the module), with nesting written out
  as textual pipelines require.
"""

import shlex
from dataclasses import dataclass

from norm_mlir.core.pipelines import ANCHOR as _MODULE
from norm_mlir.core.pipelines import PIPELINES, unanchor as _unanchor


@dataclass(frozen=True)
class PassFlag:
    """A pass or pass pipeline added by name, as the flag `--name=options`."""
    name: str
    options: str = ""

    def text(self):
        return f"{self.name}{{{self.options}}}" if self.options else self.name


@dataclass(frozen=True)
class TextualElements:
    """Textual pipeline elements for a `builtin.module` pass manager."""
    elements: str

    def text(self):
        return self.elements


def _strip_quotes(text):
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _flag_step(flag):
    if not flag.startswith("--"):
        raise ValueError(f"not a pass flag: {flag!r} (expected --pass-name"
                         "[=options])")
    name, _, options = flag[2:].partition("=")
    options = _strip_quotes(options)
    if name == "pass-pipeline":
        return TextualElements(_unanchor(options))
    return PassFlag(name, options)


def steps(pipeline):
    """`pipeline`, in any accepted form, as a list of PassFlag and
    TextualElements steps."""
    if isinstance(pipeline, (list, tuple)):
        flags = list(pipeline)
    elif not isinstance(pipeline, str):
        raise TypeError(f"a pipeline is a str or a list of flags, got "
                        f"{type(pipeline).__name__}")
    elif pipeline in PIPELINES:
        flags = list(PIPELINES[pipeline])
    elif pipeline.lstrip().startswith("--"):
        flags = shlex.split(pipeline)
    else:
        text = pipeline.strip()
        if text.startswith(_MODULE + "("):
            text = _unanchor(text)
        return [TextualElements(text)] if text else []
    return [_flag_step(f) for f in flags]


def describe(pipeline):
    """A one-line description of `pipeline`, for messages."""
    return f"{_MODULE}({','.join(s.text() for s in steps(pipeline))})"

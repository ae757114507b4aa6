"""The one writer of norm kernel IR: a `norm.layer_norm` / `norm.rms_norm`
op (`norm_op`), and a `func.func` computing one (`NormKernel.ir`) in one of
three ABIs:

- `tensor`: tensors in, the op's results returned (its destinations made
  with `tensor.empty`);
- `memref`: memrefs in and out, the op in memref form;
- `kernel`: memrefs outside, read with `bufferization.to_tensor` and
  written with `bufferization.materialize_in_destination`, the op on
  tensors inside: the usual kernel ABI, which the JIT, the benchmarks and
  the GPU device harness call.

A kernel's arguments, in order: x, [residual], [gamma], [beta], [eps : f32],
[out_scale : f32], [scale_ub : f32], then (memref and kernel ABIs) one buffer
per destination: out, [residual_out], [mean], [rstd], [scales]. `llvm.emit_c_interface` on the function
(`c_interface`) gives it a C-callable `_mlir_ciface_` entry.
"""

from dataclasses import dataclass

from norm_mlir.core.types import QUANTIZED_TYPES, mlir_float, shaped_type

OPS = ("layer_norm", "rms_norm")
ABIS = ("tensor", "memref", "kernel")

# (value name, keyword) of the op's inputs, scalar operands and
# destinations, in the op's order.
_INPUTS = (("x", "ins"), ("r", "residual"), ("g", "gamma"), ("b", "beta"))
_SCALARS = (("e", "eps"), ("s", "out_scale"), ("u", "scale_ub"))
_DESTINATIONS = (("out", "outs"), ("residual_out", "residual_out"),
                 ("mean", "mean"), ("rstd", "rstd"), ("scales", "scales"))


def statistics_type(dtype):
    """The element type of the mean and rstd of an op on `dtype` inputs."""
    return "f64" if dtype == "f64" else "f32"


def norm_op(op, x, outs, *, axis=None, eps=1e-5, residual=None, gamma=None,
            beta=None, out_scale=None, scale_ub=None, residual_out=None,
            mean=None, rstd=None, scales=None, group_size=0, min_scale=0.0,
            results=True):
    """The text of one `norm.<op>`. Operands and destinations are
    (value, type) pairs (None when absent); `eps` is a float (the eps
    attribute) or a (value, type) pair (an operand); `axis` None leaves the
    default, the last dim; `group_size` and `min_scale` (dynamic
    quantisation into `scales`) are left out when 0. With `results` (tensor
    form) the op ends with `-> ` its destinations' types; without (memref
    form) it has none."""
    parts = [f"norm.{op}"]
    if axis is not None:
        parts.append(f"axis({axis})")
    if isinstance(eps, tuple):
        parts.append(f"eps({eps[0]} : {eps[1]})")
    else:
        parts.append(f"eps({mlir_float(eps)})")
    operands = (("ins", x), ("residual", residual), ("gamma", gamma),
                ("beta", beta), ("out_scale", out_scale), ("scale_ub", scale_ub))
    destinations = [(keyword, value) for keyword, value in (
        ("outs", outs), ("residual_out", residual_out), ("mean", mean),
        ("rstd", rstd), ("scales", scales)) if value]
    for keyword, value in list(operands) + destinations:
        if value:
            parts.append(f"{keyword}({value[0]} : {value[1]})")
    if group_size:
        parts.append(f"group_size({group_size})")
    if min_scale:
        parts.append(f"min_scale({mlir_float(min_scale)})")
    if results:
        parts.append("-> " + ", ".join(t for _, (_, t) in destinations))
    return " ".join(parts)


@dataclass(frozen=True)
class Argument:
    """A kernel function argument: its value name (without %), kind ("in",
    "scalar" or "out"), the op keyword it feeds, shape and element type."""
    name: str
    kind: str
    keyword: str
    shape: tuple
    dtype: str


@dataclass(frozen=True)
class NormKernel:
    """A norm kernel: the op, its operands and destinations, and the ABI of
    the function around it. `shape` holds None for a dynamic dim (`dynamic`
    makes every dim dynamic); the op normalises over dims `[axis, rank)`."""
    op: str = "layer_norm"
    shape: tuple = (4, 8)
    axis: int = -1
    dtype: str = "f32"  # x's and residual's element type
    out: str = ""  # out's element type (default: dtype)
    param_dtype: str = ""  # gamma's and beta's element type (default: dtype)
    gamma: bool = False
    beta: bool = False
    residual: bool = False
    residual_out: bool = False
    mean: bool = False
    rstd: bool = False
    eps: float = 1e-5
    eps_operand: bool = False  # eps as an f32 argument, not an attribute
    out_scale: bool = False  # an f32 out_scale argument (quantised out)
    # Dynamic quantisation (quantised out): a scales destination (f32), per
    # row, or per group of `group_size` elements of a row; `min_scale` the
    # floor (0: none); `scale_ub` an f32 upper-bound argument.
    dynamic_quant: bool = False
    group_size: int = 0
    min_scale: float = 0.0
    scale_ub: bool = False
    dynamic: bool = False
    abi: str = "tensor"
    c_interface: bool = False
    # The destinations are the inputs' own values (vLLM's fused_add_rms_norm):
    # out is x's (when it has x's type), residual_out the residual's. The
    # tensor ABI writes outs(%x) residual_out(%r); the memref ABI copies x and
    # the residual into the out and residual_out buffers, then updates those
    # in place (ins(%out_buf) ... outs(%out_buf)), so that its callers still
    # find the results in the destination arguments.
    in_place: bool = False

    def __post_init__(self):
        if self.op not in OPS:
            raise ValueError(f"unknown norm op {self.op!r}")
        if self.abi not in ABIS:
            raise ValueError(f"unknown kernel ABI {self.abi!r}")
        if not -len(self.shape) <= self.axis < len(self.shape):
            raise ValueError(f"axis {self.axis} out of range for rank "
                             f"{len(self.shape)}")
        if self.op == "rms_norm" and (self.beta or self.mean):
            raise ValueError("rms_norm has no beta or mean")
        if (self.out_type in QUANTIZED_TYPES) != (self.out_scale or
                                                  self.dynamic_quant):
            raise ValueError("a quantised out type needs out_scale or "
                             "dynamic_quant (and only it)")
        if self.out_scale and self.dynamic_quant:
            raise ValueError("out_scale and dynamic_quant exclude each other")
        if ((self.group_size or self.min_scale or self.scale_ub)
                and not self.dynamic_quant):
            raise ValueError("group_size, min_scale and scale_ub need "
                             "dynamic_quant")
        if self.in_place and (self.abi == "kernel" or not self.aliases()):
            raise ValueError("in_place needs the tensor or memref ABI and an "
                             "out of x's type or a residual_out")

    # -- shapes and types ----------------------------------------------------
    @property
    def axis_index(self):
        return self.axis + len(self.shape) if self.axis < 0 else self.axis

    @property
    def rows(self):
        return tuple(self.shape[:self.axis_index])

    @property
    def normalized(self):
        return tuple(self.shape[self.axis_index:])

    @property
    def out_type(self):
        return self.out or self.dtype

    @property
    def scales_shape(self):
        """The dynamic scales' shape: the rows, and per group N/G."""
        if not self.group_size:
            return self.rows
        n = self.shape[-1]
        return self.rows + (None if n is None else n // self.group_size,)

    def aliases(self):
        """With in_place: {destination name: the input it overwrites}."""
        pairs = {}
        if self.out_type == self.dtype:
            pairs["out"] = "x"
        if self.residual and self.residual_out:
            pairs["residual_out"] = "r"
        return pairs

    def type(self, kind, shape, dtype):
        """`kind` ("tensor" or "memref") of `shape` and `dtype`, with this
        kernel's dynamic dims."""
        return shaped_type(kind, shape, dtype, self.dynamic)

    def _dim_is_dynamic(self, d):
        return self.dynamic or self.shape[d] is None

    # -- operands ------------------------------------------------------------
    def operands(self):
        """(name, keyword, shape, dtype) of the op's tensor inputs, in order."""
        present = {"x": True, "r": self.residual, "g": self.gamma,
                   "b": self.beta}
        shapes = {"x": self.shape, "r": self.shape, "g": self.normalized,
                  "b": self.normalized}
        params = self.param_dtype or self.dtype
        dtypes = {"x": self.dtype, "r": self.dtype, "g": params, "b": params}
        return [(name, keyword, tuple(shapes[name]), dtypes[name])
                for name, keyword in _INPUTS if present[name]]

    def scalars(self):
        """(name, keyword) of the op's f32 scalar operands, in order."""
        present = {"e": self.eps_operand, "s": self.out_scale,
                   "u": self.scale_ub}
        return [(name, keyword) for name, keyword in _SCALARS if present[name]]

    def destinations(self):
        """(name, keyword, shape, dtype) of the op's destinations, in result
        order."""
        stats = statistics_type(self.dtype)
        present = {"out": True, "residual_out": self.residual_out,
                   "mean": self.mean, "rstd": self.rstd,
                   "scales": self.dynamic_quant}
        shapes = {"out": self.shape, "residual_out": self.shape,
                  "mean": self.rows, "rstd": self.rows,
                  "scales": self.scales_shape}
        dtypes = {"out": self.out_type, "residual_out": self.dtype,
                  "mean": stats, "rstd": stats, "scales": "f32"}
        return [(name, keyword, tuple(shapes[name]), dtypes[name])
                for name, keyword in _DESTINATIONS if present[name]]

    def arguments(self):
        """The function's arguments (Argument), in order."""
        args = [Argument(name, "in", keyword, shape, dtype)
                for name, keyword, shape, dtype in self.operands()]
        args += [Argument(name, "scalar", keyword, (), "f32")
                 for name, keyword in self.scalars()]
        if self.abi != "tensor":
            args += [Argument(f"{name}_buf", "out", keyword, shape, dtype)
                     for name, keyword, shape, dtype in self.destinations()]
        return args

    # -- IR ------------------------------------------------------------------
    def _op(self, kind, values, dests):
        """The op on `values` (input values by name) into `dests`
        (destination values by name), in `kind` form."""
        t = lambda shape, dtype: self.type(kind, shape, dtype)
        operands = {keyword: (values[name], t(shape, dtype))
                    for name, keyword, shape, dtype in self.operands()}
        destinations = {keyword: (dests[name], t(shape, dtype))
                        for name, keyword, shape, dtype in self.destinations()}
        eps = ("%e", "f32") if self.eps_operand else self.eps
        axis = self.axis_index if self.axis_index != len(self.shape) - 1 else None
        return norm_op(
            self.op, operands["ins"], destinations["outs"], axis=axis, eps=eps,
            residual=operands.get("residual"), gamma=operands.get("gamma"),
            beta=operands.get("beta"),
            out_scale=("%s", "f32") if self.out_scale else None,
            scale_ub=("%u", "f32") if self.scale_ub else None,
            residual_out=destinations.get("residual_out"),
            mean=destinations.get("mean"), rstd=destinations.get("rstd"),
            scales=destinations.get("scales"), group_size=self.group_size,
            min_scale=self.min_scale, results=kind == "tensor")

    def ir(self, func):
        """The `func.func @func` computing this kernel."""
        args = [f"%{a.name}: " + (a.dtype if a.kind == "scalar" else self.type(
            "tensor" if self.abi == "tensor" else "memref", a.shape, a.dtype))
            for a in self.arguments()]
        attributes = (" attributes {llvm.emit_c_interface}" if self.c_interface
                      else "")
        values = {name: f"%{name}" for name, _, _, _ in self.operands()}
        dests = self.destinations()
        lines = []
        if self.abi == "tensor":
            results = [self.type("tensor", s, d) for _, _, s, d in dests]
            lines.append(f"func.func @{func}({', '.join(args)}) -> "
                         f"({', '.join(results)}){attributes} {{")
            empties = self._empty_destinations(lines, "%x")
            if self.in_place:
                empties.update({d: values[i] for d, i in self.aliases().items()})
            lines.append(f"  %y:{len(dests)} = " +
                         self._op("tensor", values, empties))
            lines.append(f"  return {', '.join(f'%y#{i}' for i in range(len(dests)))}"
                         f" : {', '.join(results)}")
            lines.append("}")
            return "\n".join(lines)
        lines.append(f"func.func @{func}({', '.join(args)}){attributes} {{")
        if self.abi == "memref":
            buffers = {name: f"%{name}_buf" for name, _, _, _ in dests}
            if self.in_place:
                for dest, source in self.aliases().items():
                    memref = self.type("memref", self.shape, self.dtype)
                    lines.append(f"  memref.copy %{source}, %{dest}_buf : "
                                 f"{memref} to {memref}")
                    values[source] = f"%{dest}_buf"
            lines.append("  " + self._op("memref", values, buffers))
        else:
            for name, _, shape, dtype in self.operands():
                values[name] = f"%{name}_t"
                lines.append(f"  %{name}_t = bufferization.to_tensor %{name} "
                             f"restrict : {self.type('memref', shape, dtype)} "
                             f"to {self.type('tensor', shape, dtype)}")
            empties = self._empty_destinations(lines, "%x_t")
            lines.append(f"  %y:{len(dests)} = " +
                         self._op("tensor", values, empties))
            for i, (name, _, shape, dtype) in enumerate(dests):
                lines.append(f"  bufferization.materialize_in_destination %y#{i} "
                             f"in restrict writable %{name}_buf : "
                             f"({self.type('tensor', shape, dtype)}, "
                             f"{self.type('memref', shape, dtype)}) -> ()")
        lines.append("  return")
        lines.append("}")
        return "\n".join(lines)

    def _empty_destinations(self, lines, source):
        """Emits a tensor.empty per destination, its dynamic sizes read from
        the tensor `source` (x: a destination's dim d is x's dim d); returns
        their values by destination name."""
        empties = {}
        source_type = self.type("tensor", self.shape, self.dtype)
        for name, _, shape, dtype in self.destinations():
            sizes = []
            for d in range(len(shape)):
                if not self._dim_is_dynamic(d):
                    continue
                lines.append(f"  %{name}_c{d} = arith.constant {d} : index")
                lines.append(f"  %{name}_dim{d} = tensor.dim {source}, "
                             f"%{name}_c{d} : {source_type}")
                sizes.append(f"%{name}_dim{d}")
                if name == "scales" and d == len(self.rows):
                    # The groups of a row: x's last dim over G.
                    lines.append(f"  %{name}_g = arith.constant "
                                 f"{self.group_size} : index")
                    lines.append(f"  %{name}_groups = arith.divui "
                                 f"%{name}_dim{d}, %{name}_g : index")
                    sizes[-1] = f"%{name}_groups"
            empties[name] = f"%d_{name}"
            lines.append(f"  %d_{name} = tensor.empty({', '.join(sizes)}) : "
                         f"{self.type('tensor', shape, dtype)}")
        return empties


# -- gradients ------------------------------------------------------------------

GRAD_OPS = {"layer_norm": "layer_norm_grad", "rms_norm": "rms_norm_grad"}


@dataclass(frozen=True)
class NormGradKernel:
    """A gradient kernel: `norm.<op>_grad` over `shape` (None for a dynamic
    dim; default `rows x n`, rows dynamic unless given), normalising dims
    `[axis, rank)`, in one of the ABIs of NormKernel (`kernel`: memrefs
    outside, the op on tensors inside; `memref`; `tensor`: the op's results
    returned). Arguments, in order: x, dy, [gamma], [mean (LayerNorm),
    rstd] (`saved`), [dr], then (memref and kernel ABIs) one buffer per
    destination: [dx], [dgamma], [dbeta]. Without `saved` the statistics
    are recomputed from x with `eps`."""
    op: str = "layer_norm"
    n: int = 8
    dtype: str = "f32"  # x's and dy's element type
    param_dtype: str = ""  # gamma's element type (default: dtype)
    grad_dtype: str = ""  # dx's and dr's element type (default: dtype)
    param_grad_dtype: str = ""  # dgamma's and dbeta's (default: param dtype)
    gamma: bool = False
    saved: bool = True
    eps: float = 1e-5
    residual_grad: bool = False
    dx: bool = True
    dgamma: bool = False
    dbeta: bool = False
    rows: object = None  # a static row count, or None for dynamic rows
    c_interface: bool = False
    shape: tuple = None  # overrides (rows, n)
    axis: int = -1
    abi: str = "kernel"

    def __post_init__(self):
        if self.op not in GRAD_OPS:
            raise ValueError(f"unknown norm op {self.op!r}")
        if self.abi not in ABIS:
            raise ValueError(f"unknown kernel ABI {self.abi!r}")
        if self.op == "rms_norm" and self.dbeta:
            raise ValueError("rms_norm has no dbeta")
        if not (self.dx or self.dgamma or self.dbeta):
            raise ValueError("a gradient kernel needs dx, dgamma or dbeta")
        if self.residual_grad and not self.dx:
            raise ValueError("residual_grad is added into dx")
        if not -len(self.full_shape) <= self.axis < len(self.full_shape):
            raise ValueError(f"axis {self.axis} out of range")

    @property
    def full_shape(self):
        return tuple(self.shape) if self.shape is not None else (self.rows,
                                                                 self.n)

    @property
    def axis_index(self):
        rank = len(self.full_shape)
        return self.axis + rank if self.axis < 0 else self.axis

    def arguments(self):
        """(name, keyword, shape, dtype, is_destination) of the op's operands
        and destinations, in order; None for dynamic dims."""
        full = self.full_shape
        rows, cols = full[:self.axis_index], full[self.axis_index:]
        stats = statistics_type(self.dtype)
        params = self.param_dtype or self.dtype
        grads = self.grad_dtype or self.dtype
        param_grads = self.param_grad_dtype or params
        args = [("x", "ins", full, self.dtype, False),
                ("dy", "dy", full, self.dtype, False)]
        if self.gamma:
            args.append(("g", "gamma", cols, params, False))
        if self.saved:
            if self.op == "layer_norm":
                args.append(("mean", "mean", rows, stats, False))
            args.append(("rstd", "rstd", rows, stats, False))
        if self.residual_grad:
            args.append(("dr", "residual_grad", full, grads, False))
        if self.dx:
            args.append(("dx", "dx", full, grads, True))
        if self.dgamma:
            args.append(("dgamma", "dgamma", cols, param_grads, True))
        if self.dbeta:
            args.append(("dbeta", "dbeta", cols, param_grads, True))
        return args

    def _op(self, kind, values):
        """The op on the values named in `values`, in `kind` form."""
        t = lambda shape, dtype: shaped_type(kind, shape, dtype)  # noqa: E731
        parts = [f"norm.{GRAD_OPS[self.op]}"]
        if self.axis_index != len(self.full_shape) - 1:
            parts.append(f"axis({self.axis_index})")
        if not self.saved:
            parts.append(f"eps({mlir_float(self.eps)})")
        outs = []
        for name, keyword, shape, dtype, is_destination in self.arguments():
            (outs if is_destination else parts).append(
                f"{keyword}({values[name]} : {t(shape, dtype)})")
        parts.append("outs")
        parts += outs
        if kind == "tensor":
            parts.append("-> " + ", ".join(
                t(shape, dtype) for _, _, shape, dtype, d in self.arguments()
                if d))
        return " ".join(parts)

    def ir(self, func):
        """The `func.func @func` computing this kernel."""
        args = self.arguments()
        kind = "tensor" if self.abi == "tensor" else "memref"
        typed = lambda k, shape, dtype: shaped_type(k, shape, dtype)  # noqa: E731
        attributes = (" attributes {llvm.emit_c_interface}" if self.c_interface
                      else "")
        params = [f"%{name}: {typed(kind, shape, dtype)}"
                  for name, _, shape, dtype, dest in args
                  if not (dest and self.abi == "tensor")]
        dests = [(name, shape, dtype) for name, _, shape, dtype, d in args if d]
        if self.abi == "memref":
            lines = [f"func.func @{func}({', '.join(params)}){attributes} {{"]
            lines.append("  " + self._op("memref", {
                name: f"%{name}" for name, *_ in args}))
            lines += ["  return", "}"]
            return "\n".join(lines)
        results = ""
        if self.abi == "tensor":
            results = " -> (" + ", ".join(
                typed("tensor", s, d) for _, s, d in dests) + ")"
        lines = [f"func.func @{func}({', '.join(params)}){results}"
                 f"{attributes} {{"]
        values = {}
        for name, _, shape, dtype, dest in args:
            if dest:
                continue
            if self.abi == "tensor":
                values[name] = f"%{name}"
                continue
            values[name] = f"%{name}_t"
            lines.append(f"  %{name}_t = bufferization.to_tensor %{name} "
                         f"restrict : {typed('memref', shape, dtype)} to "
                         f"{typed('tensor', shape, dtype)}")
        # Destinations sized from x's dims (dgamma/dbeta: the normalised ones).
        full = self.full_shape
        x_type = typed("tensor", full, self.dtype)
        for d, size in enumerate(full):
            if size is None:
                lines.append(f"  %c{d} = arith.constant {d} : index")
                lines.append(f"  %dim{d} = tensor.dim {values['x']}, %c{d} : "
                             f"{x_type}")
        for name, shape, dtype in dests:
            first = len(full) - len(shape)
            sizes = [f"%dim{first + d}" for d, size in enumerate(shape)
                     if size is None]
            values[name] = f"%{name}_init"
            lines.append(f"  %{name}_init = tensor.empty({', '.join(sizes)}) : "
                         f"{typed('tensor', shape, dtype)}")
        lines.append(f"  %r:{len(dests)} = " + self._op("tensor", values))
        if self.abi == "tensor":
            lines.append("  return " + ", ".join(
                f"%r#{i}" for i in range(len(dests))) + " : " + ", ".join(
                typed("tensor", s, d) for _, s, d in dests))
        else:
            for i, (name, shape, dtype) in enumerate(dests):
                lines.append(
                    f"  bufferization.materialize_in_destination %r#{i} in "
                    f"restrict writable %{name} : "
                    f"({typed('tensor', shape, dtype)}, "
                    f"{typed('memref', shape, dtype)}) -> ()")
            lines.append("  return")
        lines.append("}")
        return "\n".join(lines)

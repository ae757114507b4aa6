"""Norm ops with the neighbours `--norm-fuse` absorbs, for the differential
tester: a residual add before the op; a multiply by a weight and an add of
a bias broadcast along the rows after it; then an output cast or a
per-tensor quantisation (scale, round half to even, saturate, convert).
Each neighbour is written in one of the spellings the pass handles (arith
on tensors, linalg named ops, linalg.generic, TOSA; the quantisation as a
linalg.generic).

Fused or not, the program must agree with the float64 reference of the
whole computation (the fused op rounds once, the original after every step:
that, and no more, is the difference allowed).
"""

from dataclasses import dataclass, field

import numpy as np

from norm_mlir import reference
from norm_mlir.core.kernels import norm_op
from norm_mlir.core.types import shaped_type

_SPELLINGS = ("arith", "named", "generic", "tosa")


@dataclass
class FuseCase:
    op: str
    shape: tuple
    axis: int
    spelling: str
    dtype: str = "f32"
    residual: bool = False
    gamma: bool = False
    beta: bool = False
    cast: str = ""       # f16 | bf16: output cast from f32
    quant: str = ""      # i8 | f8E4M3FN: quantised output
    scale: float = 0.0
    eps: float = 1e-5
    seed: int = 0
    spec: str = ""
    lines: list = field(default_factory=list)
    counter: int = 0
    prepared: dict = field(default_factory=dict)

    # What the program is checked against after --norm-fuse.
    prefix = "norm-fuse"
    near_miss = ""

    @property
    def rows(self):
        return tuple(self.shape[:self.axis])

    @property
    def norm_shape(self):
        return tuple(self.shape[self.axis:])

    @property
    def n(self):
        return int(np.prod(self.norm_shape))

    @property
    def out_dtype(self):
        return self.quant or self.cast or self.dtype

    def _t(self, shape, dtype):
        return shaped_type("tensor", shape, dtype)

    def _new(self):
        self.counter += 1
        return f"%v{self.counter}"

    def _emit(self, text):
        self.lines.append("  " + text)

    def _ident(self, rank):
        dims = ", ".join(f"d{i}" for i in range(rank))
        return f"affine_map<({dims}) -> ({dims})>"

    def _norm_map(self):
        dims = [f"d{i}" for i in range(len(self.shape))]
        return (f"affine_map<({', '.join(dims)}) -> "
                f"({', '.join(dims[self.axis:])})>")

    def _empty(self, dtype):
        v = self._new()
        self._emit(f"{v} = tensor.empty() : {self._t(self.shape, dtype)}")
        return v

    def _elementwise(self, fn, a, b, dtype, b_is_param=False):
        """a `fn` b on the full shape; b is a full tensor or, with
        `b_is_param`, a weight over the normalised dims broadcast along the
        rows."""
        t = self._t(self.shape, dtype)
        pt = self._t(self.norm_shape, dtype)
        w = self._new()
        if self.spelling == "generic":
            out = self._empty(dtype)
            full = self._ident(len(self.shape))
            bmap = self._norm_map() if b_is_param else full
            iters = ", ".join(['"parallel"'] * len(self.shape))
            self._emit(f"{w} = linalg.generic {{indexing_maps = [{full}, {bmap}, "
                       f"{full}], iterator_types = [{iters}]}} ins({a}, {b} : {t}, "
                       f"{pt if b_is_param else t}) outs({out} : {t}) {{")
            self._emit(f"^bb0(%a: {dtype}, %b: {dtype}, %o: {dtype}):")
            self._emit(f"  %r = arith.{fn} %a, %b : {dtype}")
            self._emit(f"  linalg.yield %r : {dtype}")
            self._emit(f"}} -> {t}")
            return w
        if self.spelling == "tosa":
            bt = t
            if b_is_param:
                b = self.prepared[b]
                bt = self._t((1,) * self.axis + self.norm_shape, dtype)
            if fn == "mulf":
                shift = self._new()
                self._emit(f'{shift} = "tosa.const"() <{{values = dense<0> : tensor<1xi8>}}> '
                           f': () -> tensor<1xi8>')
                self._emit(f"{w} = tosa.mul {a}, {b}, {shift} : ({t}, {bt}, tensor<1xi8>) "
                           f"-> {t}")
            else:
                self._emit(f"{w} = tosa.add {a}, {b} : ({t}, {bt}) -> {t}")
            return w
        if b_is_param:
            b = self.prepared[b]
        if self.spelling == "arith":
            self._emit(f"{w} = arith.{fn} {a}, {b} : {t}")
            return w
        out = self._empty(dtype)
        named = {"addf": "add", "mulf": "mul"}[fn]
        if b_is_param:
            # A named op cannot broadcast: linalg.elementwise with a row
            # broadcast map (--norm-fuse does not look through a
            # linalg.broadcast feeding a named linalg.mul/add).
            full = self._ident(len(self.shape))
            self._emit(f"{w} = linalg.elementwise kind=#linalg.elementwise_kind<{named}> "
                       f"indexing_maps = [{full}, {self._norm_map()}, {full}] "
                       f"ins({a}, {b} : {t}, {pt}) outs({out} : {t}) -> {t}")
            return w
        self._emit(f"{w} = linalg.{named} ins({a}, {b} : {t}, {t}) outs({out} : {t}) -> {t}")
        return w

    def _prepare_param(self, name):
        """A weight as the spelling multiplies by it, emitted before the
        norm op (as front ends emit weights; --norm-fuse does not move
        ops): TOSA reshapes it to the rank with unit row dims, arith and
        named ops broadcast it along the rows."""
        t = self._t(self.shape, self.dtype)
        pt = self._t(self.norm_shape, self.dtype)
        if self.spelling == "tosa":
            shape = (1,) * self.axis + self.norm_shape
            s, r = self._new(), self._new()
            self._emit(f"{s} = tosa.const_shape {{values = dense<[{', '.join(map(str, shape))}]> "
                       f": tensor<{len(shape)}xindex>}} : () -> !tosa.shape<{len(shape)}>")
            self._emit(f"{r} = tosa.reshape {name}, {s} : ({pt}, !tosa.shape<{len(shape)}>) "
                       f"-> {self._t(shape, self.dtype)}")
            return r
        if self.spelling == "arith" and self.axis > 0:
            out = self._empty(self.dtype)
            b = self._new()
            dims = ", ".join(map(str, range(self.axis)))
            self._emit(f"{b} = linalg.broadcast ins({name} : {pt}) outs({out} : {t}) "
                       f"dimensions = [{dims}]")
            return b
        return name

    def _truncate(self, v, src, dst):
        ts, td = self._t(self.shape, src), self._t(self.shape, dst)
        w = self._new()
        if self.spelling == "arith":
            self._emit(f"{w} = arith.truncf {v} : {ts} to {td}")
        elif self.spelling == "tosa":
            self._emit(f"{w} = tosa.cast {v} : ({ts}) -> {td}")
        else:
            out = self._empty(dst)
            m = self._ident(len(self.shape))
            iters = ", ".join(['"parallel"'] * len(self.shape))
            self._emit(f"{w} = linalg.generic {{indexing_maps = [{m}, {m}], "
                       f"iterator_types = [{iters}]}} ins({v} : {ts}) outs({out} : {td}) {{")
            self._emit(f"^bb0(%a: {src}, %o: {dst}):")
            self._emit(f"  %r = arith.truncf %a : {src} to {dst}")
            self._emit(f"  linalg.yield %r : {dst}")
            self._emit(f"}} -> {td}")
        return w

    def _quantise(self, v, src):
        ts, td = self._t(self.shape, src), self._t(self.shape, self.quant)
        out = self._empty(self.quant)
        w = self._new()
        m = self._ident(len(self.shape))
        iters = ", ".join(['"parallel"'] * len(self.shape))
        self._emit(f"{w} = linalg.generic {{indexing_maps = [{m}, {m}], "
                   f"iterator_types = [{iters}]}} ins({v} : {ts}) outs({out} : {td}) {{")
        self._emit(f"^bb0(%a: {src}, %o: {self.quant}):")
        if self.quant == "i8":
            self._emit(f"  %lo = arith.constant -128.0 : {src}")
            self._emit(f"  %hi = arith.constant 127.0 : {src}")
            self._emit(f"  %d = arith.divf %a, %arg_s : {src}")
            self._emit(f"  %r = math.roundeven %d : {src}")
            self._emit(f"  %c1 = arith.maximumf %r, %lo : {src}")
            self._emit(f"  %c2 = arith.minimumf %c1, %hi : {src}")
            self._emit(f"  %q = arith.fptosi %c2 : {src} to i8")
        else:
            self._emit(f"  %lo = arith.constant -448.0 : {src}")
            self._emit(f"  %hi = arith.constant 448.0 : {src}")
            self._emit(f"  %d = arith.divf %a, %arg_s : {src}")
            self._emit(f"  %c1 = arith.maximumf %d, %lo : {src}")
            self._emit(f"  %c2 = arith.minimumf %c1, %hi : {src}")
            self._emit(f"  %q = arith.truncf %c2 : {src} to f8E4M3FN")
        self._emit(f"  linalg.yield %q : {self.quant}")
        self._emit(f"}} -> {td}")
        return w

    def kernel_ir(self, func):
        self.lines, self.counter = [], 0
        t = self._t(self.shape, self.dtype)
        pt = self._t(self.norm_shape, self.dtype)
        args = [f"%arg_x: {t}"]
        if self.residual:
            args.append(f"%arg_r: {t}")
        if self.gamma:
            args.append(f"%arg_g: {pt}")
        if self.beta:
            args.append(f"%arg_b: {pt}")
        if self.quant:
            args.append("%arg_s: f32")
        self.prepared = {}
        for name, present in (("%arg_g", self.gamma), ("%arg_b", self.beta)):
            if present:
                self.prepared[name] = self._prepare_param(name)
        h = "%arg_x"
        if self.residual:
            h = self._elementwise("addf", "%arg_x", "%arg_r", self.dtype)
        out = self._empty(self.dtype)
        y = self._new()
        axis = None if self.axis == len(self.shape) - 1 else self.axis
        self._emit(f"{y} = " + norm_op(self.op, (h, t), (out, t), axis=axis,
                                       eps=self.eps))
        if self.gamma:
            y = self._elementwise("mulf", y, "%arg_g", self.dtype, b_is_param=True)
        if self.beta:
            y = self._elementwise("addf", y, "%arg_b", self.dtype, b_is_param=True)
        if self.cast:
            y = self._truncate(y, self.dtype, self.cast)
        if self.quant:
            y = self._quantise(y, self.dtype)
        rt = self._t(self.shape, self.out_dtype)
        return "\n".join([f"func.func @{func}({', '.join(args)}) -> {rt} {{"] +
                         self.lines + [f"  return {y} : {rt}", "}"])

    def fused_markers(self):
        """Text the fused norm op must show."""
        markers = []
        if self.residual:
            markers.append("residual(")
        if self.gamma:
            markers.append("gamma(")
        if self.beta:
            markers.append("beta(")
        if self.quant:
            markers.append("out_scale(")
        return markers

    # -- data and reference --------------------------------------------------
    def inputs(self):
        rng = np.random.default_rng(self.seed)
        values = {"x": reference.round_to(rng.standard_normal(self.shape), self.dtype)}
        if self.residual:
            values["r"] = reference.round_to(rng.standard_normal(self.shape), self.dtype)
        if self.gamma:
            values["g"] = reference.round_to(rng.uniform(0.5, 1.5, self.norm_shape),
                                             self.dtype)
        if self.beta:
            values["b"] = reference.round_to(rng.uniform(-0.5, 0.5, self.norm_shape),
                                             self.dtype)
        return values

    def args(self, values):
        args = [values[k] for k in ("x", "r", "g", "b") if k in values]
        if self.quant:
            args.append(self.scale)
        return args

    def judge(self, got, original, values):
        """Failures of the fused result `got` (and of the original, which
        rounds after every step and is allowed twice the error)."""
        kwargs = dict(eps=self.eps, axis=self.axis, in_dtype=self.dtype,
                      residual=values.get("r"), gamma=values.get("g"))
        if self.op == "layer_norm":
            want = reference.layer_norm(values["x"], beta=values.get("b"), **kwargs)["out"]
        else:
            want = reference.rms_norm(values["x"], **kwargs)["out"]
        failures = []
        for label, result, factor in (("fused", got, 1.0), ("original", original, 2.0)):
            if result is None:
                continue
            if self.quant:
                scale = float(reference.round_to(self.scale, "f32"))
                # The original divides the value it rounded to `dtype`.
                want_q = reference.quantize(want, self.quant, scale)
                tol = reference.quantization_step(want_q, self.quant) * factor
                err = np.abs(result - want_q)
            else:
                tol = reference.output_tolerance(want, self.out_dtype, self.n,
                                                 "normal", values.get("g")) * factor
                h = values["x"] + values["r"] if self.residual else values["x"]
                scale = 1.0 if "g" not in values else max(1.0, float(np.max(np.abs(values["g"]))))
                tol = tol + scale * conditioning_tolerance(
                    self.op, reference.round_to(h, self.dtype), self.axis)
                if self.out_dtype != self.dtype and label == "original":
                    # Rounded to dtype, then to the output type.
                    tol = tol + reference.output_tolerance(
                        want, self.dtype, self.n, "normal", values.get("g"))
                err = np.abs(result - want)
            bad = ~(err <= tol)
            if bad.any():
                i = int(np.argmax(np.where(bad, err, -1)))
                failures.append(f"{label}: {int(bad.sum())} of {err.size} elements "
                                f"out of tolerance; worst |err| {np.ravel(err)[i]:.3g} "
                                f"vs tol {np.ravel(tol)[i]:.3g}")
        return failures


def conditioning_tolerance(op, h, axis):
    """Extra absolute tolerance for a LayerNorm row whose mean is large
    against its spread: the f32 statistics round the mean to 2^-24 |mean|,
    which the centred values carry relative to the standard deviation (the
    rule behind the large-mean row of tolerances.md). Zero for RMSNorm."""
    h = np.asarray(h, np.float64)
    if op != "layer_norm":
        return np.zeros(h.shape)
    axes = tuple(range(axis, h.ndim))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.abs(h.mean(axis=axes, keepdims=True))
        std = h.std(axis=axes, keepdims=True)
        cond = np.nan_to_num(mean / np.maximum(std, 1e-30), posinf=0.0)
    return np.broadcast_to(4 * 2.0 ** -24 * cond, h.shape)


def random_fuse_case(rng, random_shape):
    op = "layer_norm" if rng.random() < 0.5 else "rms_norm"
    spelling = str(rng.choice(_SPELLINGS))
    rank = int(rng.choice([1, 2, 2, 3]))
    shape = tuple(random_shape(rng, rank, max_elements=6000))
    axis = int(rng.integers(0, rank))
    if spelling == "tosa" and axis > 0 and all(d == 1 for d in shape[:axis]):
        # One row: the weight reshaped to 1xN has the full shape, which
        # --norm-fuse does not take for a row broadcast (a missed fusion,
        # reported; not a miscompile).
        shape = (2,) + shape[1:]
    case = FuseCase(op=op, shape=shape, axis=axis, spelling=spelling)
    case.dtype = str(rng.choice(["f32", "f32", "f16", "bf16"]))
    case.residual = bool(rng.random() < 0.6)
    case.gamma = bool(rng.random() < 0.6)
    case.beta = op == "layer_norm" and bool(rng.random() < 0.5)
    r = rng.random()
    if r < 0.2 and case.dtype == "f32":
        case.quant = str(rng.choice(["i8", "f8E4M3FN"]))
        case.scale = float(rng.choice([0.01, 0.02, 0.05]))
    elif r < 0.45 and case.dtype == "f32":
        case.cast = str(rng.choice(["f16", "bf16"]))
    if not (case.residual or case.gamma or case.beta or case.cast or case.quant):
        case.gamma = True
    case.eps = float(rng.choice([1e-5, 1e-6]))
    case.seed = int(rng.integers(0, 2**31))
    words = [f"op={op}", f"spelling={spelling}", "shape=" + "x".join(map(str, shape)),
             f"axis={axis}", f"dtype={case.dtype}", f"eps={case.eps!r}"]
    words += [k for k in ("residual", "gamma", "beta") if getattr(case, k)]
    if case.cast:
        words.append(f"cast={case.cast}")
    if case.quant:
        words.append(f"quant={case.quant} scale={case.scale}")
    words.append(f"seed={case.seed}")
    case.spec = " ".join(words)
    return case

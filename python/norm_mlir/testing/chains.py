"""Decomposed LayerNorm / RMSNorm chains, as frameworks write them, for the
differential tester: one abstract chain emitted in any of the spellings that
`--norm-capture` recognises (linalg.generic, linalg named ops, arith/math on
tensors with linalg.reduce/broadcast, TOSA), with random shape, axis,
gamma/beta, residual add, eps, 1/N or /N, rsqrt or 1/sqrt, and an f16/bf16
cast sandwich; and near-misses, the same chains with one change to the math
that capture must refuse.
"""

from dataclasses import dataclass, field

import numpy as np

from norm_mlir import reference
from norm_mlir.core.types import mlir_float, shaped_type
from norm_mlir.testing.fusions import conditioning_tolerance

_ODD_DIMS = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127]


def random_shape(rng, rank, max_elements=12000):
    """A shape of odd and even sizes, sometimes with one long trailing dim
    (N up to 4099), of at most `max_elements` elements."""
    while True:
        shape = [int(rng.choice(_ODD_DIMS)) for _ in range(rank)]
        if rng.random() < 0.15:
            shape[-1] = int(rng.choice([255, 256, 257, 1000, 1023, 1024, 1025,
                                        2048, 4096, 4099]))
        if int(np.prod(shape)) <= max_elements:
            return shape


_SPELLINGS = ("generic", "named", "arith", "tosa")
_NEAR_MISSES = {
    "layer_norm": ("unbiased", "eps_outside", "wrong_divisor", "sqrt_not_rsqrt",
                   "no_center_in_var", "eps_zero", "mean_of_other",
                   "narrow_statistics"),
    "rms_norm": ("eps_outside", "wrong_divisor", "sqrt_not_rsqrt", "abs_not_square",
                 "eps_zero", "no_divide", "narrow_statistics"),
}
# Types a chain may round its statistics to (narrower than the op's f32).
_NARROW_TYPES = ("f16", "bf16")


@dataclass
class Chain:
    """A decomposed norm (or near-miss) over a static shape, normalised over
    the trailing dims from `axis`, computed in f32 (`dtype` is the storage
    type of x, residual and the result; f16/bf16 are extended to f32 first
    and the result truncated back: a cast sandwich)."""
    op: str
    shape: tuple
    axis: int
    spelling: str
    dtype: str = "f32"
    gamma: bool = False
    beta: bool = False
    residual: bool = False
    eps: float = 1e-5
    inv_n: bool = False        # multiply by 1/N instead of dividing by N
    rsqrt: str = "rsqrt"       # rsqrt | div_sqrt
    near_miss: str = ""
    # Statistics rounded to this type (f16/bf16) on the way: the variance
    # (or mean square), or for LayerNorm possibly the mean. Left alone by
    # default (near miss "narrow_statistics"); with `widen` captured by
    # --norm-capture=widen-statistics=true, as the true norm.
    narrow: str = ""
    narrow_at: str = "var"
    widen: bool = False
    seed: int = 0
    spec: str = ""
    lines: list = field(default_factory=list)
    counter: int = 0

    # -- shapes -----------------------------------------------------------
    @property
    def rows(self):
        return tuple(self.shape[:self.axis])

    @property
    def norm_shape(self):
        return tuple(self.shape[self.axis:])

    @property
    def n(self):
        return int(np.prod(self.norm_shape))

    def _t(self, shape, dtype="f32"):
        return shaped_type("tensor", shape, dtype)

    def _kept(self, kind):
        """TOSA keeps reduced dims as size 1."""
        if kind == "full":
            return self.shape
        if kind == "row":
            return self.rows + (1,) * len(self.norm_shape)
        return (1,) * self.axis + self.norm_shape

    def _shape(self, kind):
        if self.spelling == "tosa":
            return self._kept(kind)
        return {"full": self.shape, "row": self.rows, "norm": self.norm_shape}[kind]

    def _new(self):
        self.counter += 1
        return f"%v{self.counter}"

    def _emit(self, text):
        self.lines.append("  " + text)

    # -- affine maps for generics ---------------------------------------------
    def _map(self, kind):
        rank = len(self.shape)
        dims = [f"d{i}" for i in range(rank)]
        sel = {"full": dims, "row": dims[:self.axis], "norm": dims[self.axis:]}[kind]
        return f"affine_map<({', '.join(dims)}) -> ({', '.join(sel)})>"

    # -- primitive emitters ------------------------------------------------------
    def _empty(self, kind, dtype="f32"):
        v = self._new()
        self._emit(f"{v} = tensor.empty() : {self._t(self._shape(kind), dtype)}")
        return v

    def _const_scalar(self, value, dtype="f32"):
        v = self._new()
        self._emit(f"{v} = arith.constant {mlir_float(value)} : {dtype}")
        return v

    def _const_tensor(self, value, kind):
        """A splat constant for `kind`-shaped operands (arith: same shape;
        tosa: rank-equal all-ones shape)."""
        v = self._new()
        shape = (1,) * len(self.shape) if self.spelling == "tosa" else self._shape(kind)
        t = self._t(shape)
        if self.spelling == "tosa":
            self._emit(f'{v} = "tosa.const"() <{{values = dense<{mlir_float(value)}> '
                       f': {t}}}> : () -> {t}')
        else:
            self._emit(f"{v} = arith.constant dense<{mlir_float(value)}> : {t}")
        return v

    def _shift(self):
        if not hasattr(self, "_shift_value"):
            v = self._new()
            self._emit(f'{v} = "tosa.const"() <{{values = dense<0> : tensor<1xi8>}}> '
                       f': () -> tensor<1xi8>')
            self._shift_value = v
        return self._shift_value

    def reduce_sum(self, x):
        """Sum over the normalised dims: a row-shaped value."""
        if self.spelling == "tosa":
            cur_shape = list(self.shape)
            v = x
            for d in range(self.axis, len(self.shape)):
                src = self._t(cur_shape)
                cur_shape[d] = 1
                w = self._new()
                self._emit(f"{w} = tosa.reduce_sum {v} {{axis = {d} : i32}} : "
                           f"({src}) -> {self._t(cur_shape)}")
                v = w
            return v
        zero = self._const_scalar(0.0)
        init = self._empty("row")
        acc = self._new()
        rt = self._t(self.rows)
        self._emit(f"{acc} = linalg.fill ins({zero} : f32) outs({init} : {rt}) -> {rt}")
        v = self._new()
        ft = self._t(self.shape)
        if self.spelling == "generic":
            iters = ", ".join('"parallel"' if d < self.axis else '"reduction"'
                              for d in range(len(self.shape)))
            self._emit(f"{v} = linalg.generic {{indexing_maps = [{self._map('full')}, "
                       f"{self._map('row')}], iterator_types = [{iters}]}} ins({x} : {ft}) "
                       f"outs({acc} : {rt}) {{")
            self._emit("^bb0(%a: f32, %s: f32):")
            self._emit("  %t = arith.addf %s, %a : f32")
            self._emit("  linalg.yield %t : f32")
            self._emit(f"}} -> {rt}")
            return v
        dims = ", ".join(str(d) for d in range(self.axis, len(self.shape)))
        self._emit(f"{v} = linalg.reduce ins({x} : {ft}) outs({acc} : {rt}) "
                   f"dimensions = [{dims}]")
        self._emit("  (%in: f32, %init: f32) {")
        self._emit("    %t = arith.addf %in, %init : f32")
        self._emit("    linalg.yield %t : f32")
        self._emit("  }")
        return v

    def _broadcast(self, v, kind):
        """Named/arith spellings: broadcast a row or norm value to full."""
        out = self._empty("full")
        w = self._new()
        ft = self._t(self.shape)
        src = self._t(self._shape(kind))
        if kind == "row":
            dims = range(self.axis, len(self.shape))
        else:
            dims = range(0, self.axis)
        dims = ", ".join(map(str, dims))
        self._emit(f"{w} = linalg.broadcast ins({v} : {src}) outs({out} : {ft}) "
                   f"dimensions = [{dims}]")
        return w

    def binary(self, fn, a, ka, b, kb, kind_out=None):
        """Elementwise `fn` (addf, subf, mulf, divf) of a (kind ka) and b
        (kind kb); result of the larger kind."""
        kind = kind_out or ("full" if "full" in (ka, kb) else ka)
        if self.spelling == "generic":
            out = self._empty(kind)
            v = self._new()
            iters = ", ".join(['"parallel"'] * len(self._shape(kind)))
            maps = self._maps_for(kind, [ka, kb])
            ot = self._t(self._shape(kind))
            self._emit(f"{v} = linalg.generic {{indexing_maps = [{maps}], "
                       f"iterator_types = [{iters}]}} ins({a}, {b} : "
                       f"{self._t(self._shape(ka))}, {self._t(self._shape(kb))}) "
                       f"outs({out} : {ot}) {{")
            self._emit("^bb0(%a: f32, %b: f32, %o: f32):")
            self._emit(f"  %t = arith.{fn} %a, %b : f32")
            self._emit("  linalg.yield %t : f32")
            self._emit(f"}} -> {ot}")
            return v
        if self.spelling == "tosa":
            v = self._new()
            op = {"addf": "add", "subf": "sub", "mulf": "mul"}[fn] if fn != "divf" else None
            ta, tb = self._t(self._shape(ka)), self._t(self._shape(kb))
            tt = self._t(self._shape(kind))
            if fn == "divf":
                inv = self._new()
                self._emit(f"{inv} = tosa.reciprocal {b} : ({tb}) -> {tb}")
                self._emit(f"{v} = tosa.mul {a}, {inv}, {self._shift()} : "
                           f"({ta}, {tb}, tensor<1xi8>) -> {tt}")
            elif op == "mul":
                self._emit(f"{v} = tosa.mul {a}, {b}, {self._shift()} : "
                           f"({ta}, {tb}, tensor<1xi8>) -> {tt}")
            else:
                self._emit(f"{v} = tosa.{op} {a}, {b} : ({ta}, {tb}) -> {tt}")
            return v
        # named / arith: broadcast explicitly, then an elementwise op.
        if kind == "full":
            if ka != "full":
                a = self._broadcast(a, ka)
            if kb != "full":
                b = self._broadcast(b, kb)
        t = self._t(self._shape(kind))
        v = self._new()
        if self.spelling == "arith":
            self._emit(f"{v} = arith.{fn} {a}, {b} : {t}")
            return v
        named = {"addf": "add", "subf": "sub", "mulf": "mul", "divf": "div"}[fn]
        out = self._empty(kind)
        self._emit(f"{v} = linalg.{named} ins({a}, {b} : {t}, {t}) outs({out} : {t}) -> {t}")
        return v

    def _maps_for(self, kind_out, kinds_in):
        if kind_out == "full":
            return ", ".join([self._map(k) for k in kinds_in] + [self._map("full")])
        # Row-shaped generic: identity maps over the row dims.
        dims = [f"d{i}" for i in range(len(self._shape(kind_out)))]
        ident = f"affine_map<({', '.join(dims)}) -> ({', '.join(dims)})>"
        return ", ".join([ident] * (len(kinds_in) + 1))

    def scalar_op(self, v, kind, body):
        """Elementwise scalar function of v: `body(x)` returns arith/math text
        lines computing %r from %x (f32)."""
        t = self._t(self._shape(kind))
        if self.spelling == "tosa":
            raise AssertionError("tosa scalar_op")
        if self.spelling == "arith":
            raise AssertionError("arith scalar_op")
        out = self._empty(kind)
        w = self._new()
        if self.spelling == "generic":
            dims = [f"d{i}" for i in range(len(self._shape(kind)))]
            ident = f"affine_map<({', '.join(dims)}) -> ({', '.join(dims)})>"
            iters = ", ".join(['"parallel"'] * len(dims))
            self._emit(f"{w} = linalg.generic {{indexing_maps = [{ident}, {ident}], "
                       f"iterator_types = [{iters}]}} ins({v} : {t}) outs({out} : {t}) {{")
            self._emit("^bb0(%x: f32, %o: f32):")
            for line in body:
                self._emit("  " + line)
            self._emit("  linalg.yield %r : f32")
            self._emit(f"}} -> {t}")
            return w
        self._emit(f"{w} = linalg.map ins({v} : {t}) outs({out} : {t})")
        self._emit("  (%x: f32, %o: f32) {")
        for line in body:
            self._emit("    " + line)
        self._emit("    linalg.yield %r : f32")
        self._emit("  }")
        return w

    def unary(self, fn, v, kind):
        """math.rsqrt / math.sqrt / math.absf elementwise."""
        t = self._t(self._shape(kind))
        if self.spelling == "arith":
            w = self._new()
            self._emit(f"{w} = math.{fn} {v} : {t}")
            return w
        if self.spelling == "tosa":
            w = self._new()
            if fn == "rsqrt":
                self._emit(f"{w} = tosa.rsqrt {v} : ({t}) -> {t}")
            elif fn == "absf":
                self._emit(f"{w} = tosa.abs {v} : ({t}) -> {t}")
            else:  # sqrt as pow(v, 0.5)
                half = self._const_tensor(0.5, kind)
                one = self._t((1,) * len(self.shape))
                self._emit(f"{w} = tosa.pow {v}, {half} : ({t}, {one}) -> {t}")
            return w
        return self.scalar_op(v, kind, [f"%r = math.{fn} %x : f32"])

    def with_constant(self, fn, v, kind, value):
        """v `fn` constant (mulf/divf/addf)."""
        if self.spelling in ("generic", "named"):
            c = mlir_float(value)
            return self.scalar_op(v, kind, [f"%c = arith.constant {c} : f32",
                                            f"%r = arith.{fn} %x, %c : f32"])
        c = self._const_tensor(value, kind)
        if self.spelling == "arith":
            w = self._new()
            self._emit(f"{w} = arith.{fn} {v}, {c} : {self._t(self._shape(kind))}")
            return w
        # tosa: the constant has an all-ones shape.
        t = self._t(self._shape(kind))
        ct = self._t((1,) * len(self.shape))
        w = self._new()
        if fn == "mulf":
            self._emit(f"{w} = tosa.mul {v}, {c}, {self._shift()} : ({t}, {ct}, "
                       f"tensor<1xi8>) -> {t}")
        elif fn == "addf":
            self._emit(f"{w} = tosa.add {v}, {c} : ({t}, {ct}) -> {t}")
        else:
            inv = self._new()
            self._emit(f"{inv} = tosa.reciprocal {c} : ({ct}) -> {ct}")
            self._emit(f"{w} = tosa.mul {v}, {inv}, {self._shift()} : ({t}, {ct}, "
                       f"tensor<1xi8>) -> {t}")
        return w

    def cast(self, v, kind, src, dst):
        """Elementwise extf/truncf of a `kind` value from src to dst."""
        shape = self._shape(kind)
        ts, td = self._t(shape, src), self._t(shape, dst)
        op = "extf" if src in ("f16", "bf16") else "truncf"
        w = self._new()
        if self.spelling == "arith":
            self._emit(f"{w} = arith.{op} {v} : {ts} to {td}")
            return w
        if self.spelling == "tosa":
            self._emit(f"{w} = tosa.cast {v} : ({ts}) -> {td}")
            return w
        out = self._empty(kind, dst)
        dims = [f"d{i}" for i in range(len(shape))]
        ident = f"affine_map<({', '.join(dims)}) -> ({', '.join(dims)})>"
        iters = ", ".join(['"parallel"'] * len(dims))
        if self.spelling == "named":
            self._emit(f"{w} = linalg.map ins({v} : {ts}) outs({out} : {td})")
            self._emit(f"  (%x: {src}, %o: {dst}) {{")
            self._emit(f"    %r = arith.{op} %x : {src} to {dst}")
            self._emit(f"    linalg.yield %r : {dst}")
            self._emit("  }")
            return w
        self._emit(f"{w} = linalg.generic {{indexing_maps = [{ident}, {ident}], "
                   f"iterator_types = [{iters}]}} ins({v} : {ts}) outs({out} : {td}) {{")
        self._emit(f"^bb0(%x: {src}, %o: {dst}):")
        self._emit(f"  %r = arith.{op} %x : {src} to {dst}")
        self._emit(f"  linalg.yield %r : {dst}")
        self._emit(f"}} -> {td}")
        return w

    def add_same_type(self, a, b, dtype):
        """x + residual in the storage type (full shape)."""
        t = self._t(self.shape, dtype)
        w = self._new()
        if self.spelling == "arith":
            self._emit(f"{w} = arith.addf {a}, {b} : {t}")
        elif self.spelling == "tosa":
            self._emit(f"{w} = tosa.add {a}, {b} : ({t}, {t}) -> {t}")
        elif self.spelling == "named":
            out = self._empty("full", dtype)
            self._emit(f"{w} = linalg.add ins({a}, {b} : {t}, {t}) outs({out} : {t}) -> {t}")
        else:
            out = self._empty("full", dtype)
            m = self._map("full")
            iters = ", ".join(['"parallel"'] * len(self.shape))
            self._emit(f"{w} = linalg.generic {{indexing_maps = [{m}, {m}, {m}], "
                       f"iterator_types = [{iters}]}} ins({a}, {b} : {t}, {t}) "
                       f"outs({out} : {t}) {{")
            self._emit(f"^bb0(%a: {dtype}, %b: {dtype}, %o: {dtype}):")
            self._emit(f"  %t = arith.addf %a, %b : {dtype}")
            self._emit(f"  linalg.yield %t : {dtype}")
            self._emit(f"}} -> {t}")
        return w

    def norm_param(self, name):
        """gamma/beta argument as a norm-kind value (tosa: reshaped to rank)."""
        if self.spelling != "tosa":
            return name
        shape = self._kept("norm")
        v = self._new()
        s = self._new()
        self._emit(f"{s} = tosa.const_shape {{values = dense<[{', '.join(map(str, shape))}]> "
                   f": tensor<{len(shape)}xindex>}} : () -> !tosa.shape<{len(shape)}>")
        self._emit(f"{v} = tosa.reshape {name}, {s} : ({self._t(self.norm_shape)}, "
                   f"!tosa.shape<{len(shape)}>) -> {self._t(shape)}")
        return v

    # -- the chain ------------------------------------------------------------
    def _divide_n(self, v, divisor):
        if self.inv_n:
            return self.with_constant("mulf", v, "row", 1.0 / divisor)
        return self.with_constant("divf", v, "row", divisor)

    def _inverse_sqrt(self, v):
        nm = self.near_miss
        if nm == "sqrt_not_rsqrt":
            return self.unary("sqrt", v, "row")
        if self.rsqrt == "rsqrt":
            return self.unary("rsqrt", v, "row")
        s = self.unary("sqrt", v, "row")
        if self.spelling in ("generic", "named"):
            return self.scalar_op(s, "row", ["%c = arith.constant 1.0 : f32",
                                             "%r = arith.divf %c, %x : f32"])
        if self.spelling == "tosa":
            w = self._new()
            t = self._t(self._shape("row"))
            self._emit(f"{w} = tosa.reciprocal {s} : ({t}) -> {t}")
            return w
        one = self._const_tensor(1.0, "row")
        w = self._new()
        self._emit(f"{w} = arith.divf {one}, {s} : {self._t(self._shape('row'))}")
        return w

    def _round_narrow(self, v, at):
        """`v` (row kind, f32) rounded to the chain's narrow type and back,
        if the chain rounds its statistic `at` (var or mean)."""
        if not self.narrow or self.narrow_at != at:
            return v
        return self.cast(self.cast(v, "row", "f32", self.narrow), "row",
                         self.narrow, "f32")

    def _square(self, v):
        if self.near_miss == "abs_not_square":
            return self.unary("absf", v, "full")
        return self.binary("mulf", v, "full", v, "full")

    def body(self):
        """Emits the chain; returns the result value (storage dtype)."""
        nm = self.near_miss
        x = "%arg_x"
        if self.residual:
            x = self.add_same_type("%arg_x", "%arg_r", self.dtype)
        if self.dtype != "f32":
            x = self.cast(x, "full", self.dtype, "f32")
        eps = 0.0 if nm == "eps_zero" else self.eps
        n = float(self.n)
        divisor = n + 1.0 if nm == "wrong_divisor" else n
        if self.op == "layer_norm":
            total = self.reduce_sum(x)
            mean = self._round_narrow(self._divide_n(total, n), "mean")
            c = self.binary("subf", x, "full", mean, "row")
            sq = self._square(x if nm == "no_center_in_var" else c)
            ss = self.reduce_sum(sq)
            var = self._divide_n(ss, n - 1.0 if nm == "unbiased" else divisor)
            centred = c
            if nm == "mean_of_other":
                # The output is centred on half the mean while the variance
                # is that of x: a norm of no tensor. (Centring both on half
                # the mean would be a true RMSNorm of x - mean/2.)
                half = self.with_constant("mulf", mean, "row", 0.5)
                centred = self.binary("subf", x, "full", half, "row")
        else:
            sq = self._square(x)
            ss = self.reduce_sum(sq)
            var = ss if nm == "no_divide" else self._divide_n(ss, divisor)
            centred = x
        var = self._round_narrow(var, "var")
        if nm == "eps_outside":
            s = self.unary("sqrt", var, "row")
            se = self.with_constant("addf", s, "row", eps)
            if self.spelling in ("generic", "named"):
                r = self.scalar_op(se, "row", ["%c = arith.constant 1.0 : f32",
                                               "%r = arith.divf %c, %x : f32"])
            elif self.spelling == "tosa":
                r = self._new()
                t = self._t(self._shape("row"))
                self._emit(f"{r} = tosa.reciprocal {se} : ({t}) -> {t}")
            else:
                one = self._const_tensor(1.0, "row")
                r = self._new()
                self._emit(f"{r} = arith.divf {one}, {se} : {self._t(self._shape('row'))}")
        else:
            ve = self.with_constant("addf", var, "row", eps)
            r = self._inverse_sqrt(ve)
        y = self.binary("mulf", centred, "full", r, "row")
        if self.gamma:
            y = self.binary("mulf", y, "full", self.norm_param("%arg_g"), "norm")
        if self.beta:
            y = self.binary("addf", y, "full", self.norm_param("%arg_b"), "norm")
        if self.dtype != "f32":
            y = self.cast(y, "full", "f32", self.dtype)
        return y

    def kernel_ir(self, func):
        self.lines, self.counter = [], 0
        if hasattr(self, "_shift_value"):
            del self._shift_value
        args = [f"%arg_x: {self._t(self.shape, self.dtype)}"]
        if self.residual:
            args.append(f"%arg_r: {self._t(self.shape, self.dtype)}")
        if self.gamma:
            args.append(f"%arg_g: {self._t(self.norm_shape)}")
        if self.beta:
            args.append(f"%arg_b: {self._t(self.norm_shape)}")
        y = self.body()
        rt = self._t(self.shape, self.dtype)
        return "\n".join([f"func.func @{func}({', '.join(args)}) -> {rt} {{"] +
                         self.lines + [f"  return {y} : {rt}", "}"])

    # -- data and reference --------------------------------------------------
    def inputs(self):
        rng = np.random.default_rng(self.seed)
        values = {"x": reference.round_to(rng.standard_normal(self.shape), self.dtype)}
        if self.residual:
            values["r"] = reference.round_to(rng.standard_normal(self.shape), self.dtype)
        if self.gamma:
            values["g"] = reference.round_to(rng.uniform(0.5, 1.5, self.norm_shape), "f32")
        if self.beta:
            values["b"] = reference.round_to(rng.uniform(-0.5, 0.5, self.norm_shape), "f32")
        return values

    def args(self, values):
        return [values[k] for k in ("x", "r", "g", "b") if k in values]

    @property
    def prefix(self):
        """The pass whose work is checked (with its options)."""
        if self.widen:
            return "norm-capture{widen-statistics=true}"
        return "norm-capture"

    def judge(self, got, original, values):
        """Failures of the program after capture (`got`): a near-miss must
        give exactly what it gave without capture (`original`), a chain must
        agree with the float64 reference."""
        if self.near_miss:
            same = (got == original) | (np.isnan(got) & np.isnan(original))
            if same.all():
                return []
            return [f"near-miss changed by capture: {int((~same).sum())} "
                    "elements differ"]
        return self.check(got, values)

    def check(self, got, values):
        """Failures of a captured chain against the float64 reference."""
        kwargs = dict(eps=self.eps, axis=self.axis, in_dtype=self.dtype,
                      residual=values.get("r"), gamma=values.get("g"))
        if self.op == "layer_norm":
            want = reference.layer_norm(values["x"], beta=values.get("b"), **kwargs)["out"]
        else:
            want = reference.rms_norm(values["x"], **kwargs)["out"]
        tol = reference.output_tolerance(want, self.dtype, self.n, "normal",
                                         values.get("g"))
        h = values["x"] + values["r"] if self.residual else values["x"]
        scale = 1.0 if "g" not in values else max(1.0, float(np.max(np.abs(values["g"]))))
        tol = tol + scale * conditioning_tolerance(
            self.op, reference.round_to(h, self.dtype), self.axis)
        err = np.abs(got - want)
        bad = ~(err <= tol)
        if bad.any():
            i = int(np.argmax(np.where(bad, err, -1)))
            return [f"out: {int(bad.sum())} of {err.size} elements out of tolerance; "
                    f"worst |err| {np.ravel(err)[i]:.3g} vs tol {np.ravel(tol)[i]:.3g}"]
        return []


def random_chain(rng, near_miss):
    op = "layer_norm" if rng.random() < 0.5 else "rms_norm"
    spelling = str(rng.choice(_SPELLINGS))
    rank = int(rng.choice([1, 2, 2, 3, 3, 4]))
    shape = tuple(random_shape(rng, rank, max_elements=6000))
    axis = int(rng.integers(0, rank))
    if spelling == "tosa" and rng.random() < 0.7:
        axis = rank - 1
    chain = Chain(op=op, shape=shape, axis=axis, spelling=spelling)
    chain.dtype = str(rng.choice(["f32", "f32", "f32", "f16", "bf16"]))
    chain.gamma = bool(rng.random() < 0.6)
    chain.beta = op == "layer_norm" and bool(rng.random() < 0.5)
    chain.residual = bool(rng.random() < 0.2)
    chain.eps = float(rng.choice([1e-5, 1e-6, 1e-12, 1e-3]))
    chain.inv_n = bool(rng.random() < 0.5)
    chain.rsqrt = str(rng.choice(["rsqrt", "rsqrt", "div_sqrt"]))
    if near_miss:
        choices = _NEAR_MISSES[op]
        if chain.n == 1:
            # Summing one element is its mean: no_divide would be a norm;
            # the unbiased divisor n - 1 would be zero.
            choices = tuple(c for c in choices
                            if c not in ("no_divide", "unbiased"))
        chain.near_miss = str(rng.choice(choices))
    # Statistics rounded to f16/bf16: a near miss by default, a chain to
    # capture (as the true norm) with widen-statistics.
    if chain.near_miss == "narrow_statistics" or (not near_miss and
                                                  rng.random() < 0.1):
        chain.narrow = str(rng.choice(_NARROW_TYPES))
        if op == "layer_norm" and rng.random() < 0.5:
            chain.narrow_at = "mean"
        chain.widen = not near_miss
    chain.seed = int(rng.integers(0, 2**31))
    words = [f"op={op}", f"spelling={spelling}", "shape=" + "x".join(map(str, shape)),
             f"axis={axis}", f"dtype={chain.dtype}", f"eps={chain.eps!r}"]
    words += [k for k in ("gamma", "beta", "residual", "inv_n") if getattr(chain, k)]
    words.append(f"rsqrt={chain.rsqrt}")
    if chain.narrow:
        words.append(f"narrow={chain.narrow}@{chain.narrow_at}")
    if chain.widen:
        words.append("widen_statistics")
    if near_miss:
        words.append(f"near_miss={chain.near_miss}")
    words.append(f"seed={chain.seed}")
    chain.spec = " ".join(words)
    return chain

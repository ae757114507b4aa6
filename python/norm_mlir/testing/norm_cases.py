"""Norm-op test cases: kernel IR generation, input data, reference checks.

A case is written as a compact spec string, e.g.

    op=layer_norm shape=4x7 axis=1 dtype=bf16 gamma beta data=large_mean

Keys: op (layer_norm|rms_norm), shape, axis (default: last dim), dtype,
out (output element type), gamma, beta, residual, residual_out, mean, rstd,
eps (value), eps_operand (eps passed as a runtime f32 argument), scale
(out_scale of a quantised output, passed as a runtime f32 argument: e.g.
`out=i8 scale=0.05`, `out=f8E4M3FN scale=0.01`), dynamic_quant (a
quantised output with scales computed from each row, or with group=G from
each group of G elements of a row; min_scale=F the scales' floor; scale_ub=F
their upper bound, passed as a runtime f32 argument), dynamic
(every dim dynamic), abi (tensor|memref|kernel: memref arguments read with
bufferization.to_tensor and written with materialize_in_destination), data
(normal|uniform|large_mean|constant|tiny|huge|nonfinite|outlier: normal
with every row's first element at 100), seed, in_place (tensor or memref
abi: out is written over x where it has x's type, residual_out over the
residual; core.kernels.NormKernel.in_place).
"""

from dataclasses import dataclass

import numpy as np

from norm_mlir import reference
from norm_mlir.core import kernels


class RowLayout:
    """The rows and normalised dims of a case with `shape` and `axis`."""

    @property
    def rows(self):
        return self.shape[:self.axis]

    @property
    def normalized(self):
        return self.shape[self.axis:]

    @property
    def n(self):
        return int(np.prod(self.normalized))


def parse_spec(case, spec, ints=(), floats=(), strings=(), flags=()):
    """Sets the fields of `case` from the spec string `spec`: `shape=4x7`,
    `key=value` for the keys in `ints`, `floats` and `strings`, bare keys
    in `flags`; a negative axis counts from the end. Returns `case`."""
    for token in spec.split():
        key, _, value = token.partition("=")
        if key == "shape":
            case.shape = tuple(int(d) for d in value.split("x"))
        elif key in ints:
            setattr(case, key, int(value))
        elif key in floats:
            setattr(case, key, float(value))
        elif key in strings:
            setattr(case, key, value)
        elif key in flags:
            setattr(case, key, True)
        else:
            raise ValueError(f"unknown case key {key!r} in {spec!r}")
    if case.axis < 0:
        case.axis += len(case.shape)
    return case


def random_layout(rng, random_shape):
    """The spec words of a random op, shape (`random_shape(rng, rank)`),
    axis and input element type."""
    op = "layer_norm" if rng.random() < 0.5 else "rms_norm"
    rank = int(rng.choice([1, 2, 2, 2, 3, 3, 4]))
    shape = random_shape(rng, rank)
    axis = int(rng.integers(0, rank))
    dtype = str(rng.choice(["f32", "f32", "f32", "f16", "bf16", "f64"]))
    return [f"op={op}", "shape=" + "x".join(map(str, shape)),
            f"axis={axis}", f"dtype={dtype}"]


@dataclass
class NormCase(RowLayout):
    op: str = "layer_norm"
    shape: tuple = (4, 8)
    axis: int = -1
    dtype: str = "f32"
    out: str = ""
    gamma: bool = False
    beta: bool = False
    residual: bool = False
    residual_out: bool = False
    mean: bool = False
    rstd: bool = False
    eps: float = 1e-5
    eps_operand: bool = False
    scale: float = 0.0  # out_scale of a quantised output; 0 when absent
    dynamic_quant: bool = False
    group: int = 0
    min_scale: float = 0.0
    scale_ub: float = 0.0  # 0 when absent
    dynamic: bool = False
    abi: str = "tensor"
    in_place: bool = False
    data: str = "normal"
    seed: int = 0
    spec: str = ""

    @staticmethod
    def parse(spec):
        case = parse_spec(
            NormCase(spec=spec), spec, ints=("axis", "seed", "group"),
            floats=("eps", "scale", "min_scale", "scale_ub"),
            strings=("op", "dtype", "out", "abi", "data"),
            flags=("gamma", "beta", "residual", "residual_out", "mean", "rstd",
                   "eps_operand", "dynamic", "in_place", "dynamic_quant"))
        if not case.out:
            case.out = case.dtype
        if case.op == "rms_norm" and (case.beta or case.mean):
            raise ValueError("rms_norm has no beta or mean")
        if (case.out in reference.QUANTIZED_TYPES) != (
                bool(case.scale) or case.dynamic_quant):
            raise ValueError("a quantised out= needs scale= or dynamic_quant "
                             "(and only it)")
        return case

    # -- the kernel --------------------------------------------------------
    def kernel(self):
        """The kernel this case runs (norm_mlir.core.kernels)."""
        return kernels.NormKernel(
            op=self.op, shape=self.shape, axis=self.axis, dtype=self.dtype,
            out=self.out, gamma=self.gamma, beta=self.beta,
            residual=self.residual, residual_out=self.residual_out,
            mean=self.mean, rstd=self.rstd, eps=self.eps,
            eps_operand=self.eps_operand, out_scale=bool(self.scale),
            dynamic_quant=self.dynamic_quant, group_size=self.group,
            min_scale=self.min_scale, scale_ub=bool(self.scale_ub),
            dynamic=self.dynamic, abi=self.abi, in_place=self.in_place)

    def kernel_ir(self, func):
        """A func.func named `func` computing this case."""
        return self.kernel().ir(func)

    def operands(self):
        """(name, role, shape, dtype) for the op's inputs, in order."""
        return [(name, "in", shape, dtype)
                for name, _, shape, dtype in self.kernel().operands()]

    def destinations(self):
        """(name, shape, dtype) of the op's destinations, in result order."""
        return [(name, shape, dtype)
                for name, _, shape, dtype in self.kernel().destinations()]

    # -- data ----------------------------------------------------------------
    def inputs(self):
        """Input arrays (float64, representable in their type) by name."""
        rng = np.random.default_rng(self.seed)
        values = {}
        for name, _, shape, dtype in self.operands():
            if name == "g":
                v = rng.uniform(0.5, 1.5, shape)
            elif name == "b":
                v = rng.uniform(-0.5, 0.5, shape)
            else:
                v = self._data(rng, shape)
            values[name] = reference.round_to(v, dtype)
        return values

    def _data(self, rng, shape):
        if self.data == "uniform":
            return rng.uniform(-1, 1, shape)
        if self.data == "normal":
            return rng.standard_normal(shape)
        if self.data == "large_mean":
            return 1e4 + rng.standard_normal(shape)
        if self.data == "constant":
            rows = rng.uniform(-3, 3, self.rows + (1,) * len(self.normalized))
            return np.broadcast_to(rows, shape).copy()
        if self.data == "tiny":
            return 1e-20 * rng.standard_normal(shape)
        if self.data == "huge":
            return 1e18 * rng.standard_normal(shape)
        if self.data == "outlier":
            # The row's first element, which pivoted sums start from, far
            # from the rest.
            v = rng.standard_normal(shape)
            flat = v.reshape(-1, self.n)
            flat[:, 0] = 100.0
            return flat.reshape(shape)
        if self.data == "nonfinite":
            # +inf inside a row; -inf as a row's first element (the pivot of
            # the lowerings' sums); NaN; and +inf with -inf in one row.
            v = rng.standard_normal(shape)
            flat = v.reshape(-1, self.n)
            flat[0, self.n // 2] = np.inf
            if flat.shape[0] > 1:
                flat[1, 0] = -np.inf
            if flat.shape[0] > 2:
                flat[2, 0] = np.nan
            if flat.shape[0] > 3 and self.n > 1:
                flat[3, 0] = np.inf
                flat[3, -1] = -np.inf
            return flat.reshape(shape)
        raise ValueError(f"unknown data distribution {self.data}")

    def reference(self, values):
        kwargs = dict(eps=self.eps, axis=self.axis, in_dtype=self.dtype,
                      residual=values.get("r"), gamma=values.get("g"))
        if self.op == "layer_norm":
            return reference.layer_norm(values["x"], beta=values.get("b"), **kwargs)
        return reference.rms_norm(values["x"], **kwargs)

    def call_args(self, values):
        """Arguments in kernel order, and the indices of output arguments."""
        args = [values[n] for n, _, _, _ in self.operands()]
        if self.eps_operand:
            args.append(self.eps)
        if self.scale:
            args.append(self.scale)
        if self.scale_ub:
            args.append(self.scale_ub)
        outputs = []
        if self.abi != "tensor":
            for name, shape, _ in self.destinations():
                outputs.append(len(args))
                args.append(np.zeros(shape))
        return args, outputs

    # -- checking ------------------------------------------------------------
    def check(self, outputs, values):
        """Compares kernel outputs with the reference; returns a list of
        failure messages (empty when everything is within tolerance)."""
        ref = self.reference(values)
        failures = []
        got_scales = None
        if self.dynamic_quant:
            got_scales = outputs[[d[0] for d in self.destinations()]
                                 .index("scales")]
        for (name, shape, dtype), got in zip(self.destinations(), outputs):
            if name == "scales":
                failures += self._check_scales(got, ref["out"], values)
                continue
            want = ref[name]
            if name == "residual_out":
                bad = ~((got == want) | (np.isnan(got) & np.isnan(want)))
                if bad.any():
                    failures.append(f"{name}: {int(bad.sum())} elements differ")
                continue
            if name in ("mean", "rstd"):
                # A mean is as accurate as the row's magnitude allows (its
                # error is some ulps of max|h|, not of |mean|, which can be
                # far smaller for spread-out rows: huge, tiny or outlier data).
                scale = np.abs(np.nan_to_num(want))
                if name == "mean":
                    rows = ref["residual_out"].reshape(np.shape(want) + (-1,))
                    with np.errstate(invalid="ignore"):
                        scale = np.maximum(scale, np.nan_to_num(
                            np.max(np.abs(rows), axis=-1), posinf=0.0))
                tol = 1e-5 * max(1.0, np.log2(self.n)) * np.maximum(1.0, scale)
                if self.data in ("large_mean",) and name == "rstd":
                    tol = 5e-3 * np.maximum(1.0, np.abs(want))
                failures += _compare(name, got, want, tol, self.data)
                continue
            failures += self._check_output(got, want, values, got_scales)
        return failures

    def _reference_scales(self, want):
        """The float64 dynamic scales of the float64 output `want`."""
        rows = np.asarray(want).reshape(self.rows + (self.n,))
        return reference.dynamic_scales(
            rows, self.out, self.group, self.min_scale,
            self.scale_ub if self.scale_ub else None)

    def _check_scales(self, got, want, values):
        # A scale is amax / qmax (or a bound): as accurate as amax, which is
        # as accurate as the float output (f32 bound), relative to qmax.
        ref_scales = self._reference_scales(want)
        ftol = reference.output_tolerance(want, "f32", self.n, self.data,
                                          values.get("g"))
        qmax = reference.quantized_maximum(self.out)
        tol = np.max(ftol) / qmax + 2.0 * reference.ulp(ref_scales, "f32")
        return _compare("scales", np.asarray(got, np.float64), ref_scales,
                        tol, self.data)

    def _check_output(self, got, want, values, got_scales=None):
        gamma = values.get("g")
        if self.dynamic_quant:
            # Within one quantisation step of the float64 reference divided
            # by the kernel's own (stored) scales, plus what the float
            # result may be off by, in steps of that scale.
            scales = reference.expand_scales(
                np.asarray(got_scales, np.float64),
                self.rows + (self.n,), self.group).reshape(want.shape)
            want_q = reference.quantize(want, self.out, scales)
            ftol = reference.output_tolerance(want, "f32", self.n, self.data,
                                              gamma)
            with np.errstate(divide="ignore", invalid="ignore"):
                tol = reference.quantization_step(want_q, self.out) + np.nan_to_num(
                    ftol / scales, nan=0.0, posinf=np.inf)
            return _compare("out", got, want_q, tol, self.data)
        if self.scale:
            # Quantised: within one quantisation step of the float64
            # reference quantised by the same (f32) scale; i8 NaN gives 0.
            scale = float(reference.round_to(self.scale, "f32"))
            want_q = reference.quantize(want, self.out, scale)
            # One step, plus what the float result may be off by (in steps
            # of the scale): large-mean rows allow 5e-3, 0.25 of a 0.02 scale.
            ftol = reference.output_tolerance(want, "f32", self.n, self.data, gamma)
            tol = reference.quantization_step(want_q, self.out) + ftol / scale
            return _compare("out", got, want_q, tol, self.data)
        if self.data == "constant" and self.op == "layer_norm":
            beta = values.get("b")
            expected = np.zeros(self.shape) if beta is None else np.broadcast_to(
                reference.round_to(beta, self.out), self.shape)
            bad = got != expected
            if bad.any():
                return [f"out: constant rows not exact ({int(bad.sum())} elements, "
                        f"max |err| {np.max(np.abs(got - expected)):.3g})"]
            return []
        if self.data in ("tiny", "huge"):
            rows = want.reshape(-1, self.n)
            scale = np.max(np.abs(rows), axis=1, keepdims=True)
            tol = np.broadcast_to(1e-4 * scale, rows.shape).reshape(want.shape)
            if not np.isfinite(got).all():
                return ["out: non-finite values for finite inputs"]
            return _compare("out", got, want, tol, self.data)
        tol = reference.output_tolerance(want, self.out, self.n, self.data, gamma)
        if self.data == "outlier":
            # A row with an outlier is not of unit scale (the outlier
            # normalises to ~sqrt(N)): the bound scales with the row.
            rows = np.abs(np.nan_to_num(want)).reshape(-1, self.n)
            row_scale = np.maximum(1.0, rows.max(axis=1, keepdims=True))
            tol = np.broadcast_to(tol, want.shape).reshape(rows.shape) * row_scale
            tol = tol.reshape(want.shape)
        return _compare("out", got, want, tol, self.data)


def _compare(name, got, want, tol, data):
    failures = []
    want_nan = np.isnan(want)
    if data == "nonfinite":
        # Rows holding inf/NaN must come out all NaN; others unaffected.
        if (want_nan & ~np.isnan(got)).any():
            failures.append(f"{name}: {int((want_nan & ~np.isnan(got)).sum())} "
                            "outputs should be NaN")
    elif want_nan.any() or np.isnan(got).any():
        failures.append(f"{name}: unexpected NaN")
        return failures
    ok = ~want_nan
    # Equal values (an infinite mean matching an infinite reference
    # included) are exact; inf - inf would otherwise read as a NaN error.
    with np.errstate(invalid="ignore"):
        err = np.where(got[ok] == want[ok], 0.0, np.abs(got[ok] - want[ok]))
    limit = np.asarray(tol)[ok] if np.ndim(tol) else tol
    bad = ~(err <= limit)
    if bad.any():
        idx = int(np.argmax(np.where(bad, err, -1)))
        failures.append(f"{name}: {int(bad.sum())} of {err.size} elements out of "
                        f"tolerance; worst |err| {err[idx]:.3g} vs tol "
                        f"{np.ravel(limit)[idx] if np.ndim(limit) else limit:.3g}")
    return failures

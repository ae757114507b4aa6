"""Gradient test cases (norm.layer_norm_grad / norm.rms_norm_grad): kernel
IR, input data, checks against the float64 reference within
docs/Tolerances.md ("Gradients"). Same interface as NormCase, so that the
differential tester runs both alike.

    op=layer_norm shape=4x7 axis=1 dtype=bf16 gamma saved dgamma dbeta

Keys: op, shape, axis (default: last dim), dtype, gamma, saved (mean/rstd
passed in, as the forward saved them, f32 or f64; otherwise recomputed
with eps), residual_grad, dx, dgamma, dbeta (the destinations: at least
one), eps, dynamic (every dim dynamic), abi (tensor|memref|kernel), data
(normal|uniform|large_mean: x = 1e4 + U(-1, 1), for f32), seed.
"""

from dataclasses import dataclass

import numpy as np

from norm_mlir import reference
from norm_mlir.core import kernels
from norm_mlir.testing.norm_cases import RowLayout, _compare, parse_spec, \
    random_layout

@dataclass
class GradCase(RowLayout):
    op: str = "layer_norm"
    shape: tuple = (4, 8)
    axis: int = -1
    dtype: str = "f32"
    gamma: bool = False
    saved: bool = False
    residual_grad: bool = False
    dx: bool = False
    dgamma: bool = False
    dbeta: bool = False
    eps: float = 1e-5
    dynamic: bool = False
    abi: str = "tensor"
    data: str = "normal"
    seed: int = 0
    spec: str = ""
    is_gradient: bool = True

    @staticmethod
    def parse(spec):
        case = parse_spec(
            GradCase(spec=spec), spec, ints=("axis", "seed"), floats=("eps",),
            strings=("op", "dtype", "abi", "data"),
            flags=("gamma", "saved", "residual_grad", "dx", "dgamma", "dbeta",
                   "dynamic"))
        if not (case.dx or case.dgamma or case.dbeta):
            case.dx = True
        case.kernel()  # validates the combination
        return case

    # -- the kernel --------------------------------------------------------
    def kernel(self):
        shape = tuple(None for _ in self.shape) if self.dynamic else self.shape
        return kernels.NormGradKernel(
            op=self.op, shape=shape, axis=self.axis, dtype=self.dtype,
            gamma=self.gamma, saved=self.saved, eps=self.eps,
            residual_grad=self.residual_grad, dx=self.dx, dgamma=self.dgamma,
            dbeta=self.dbeta, abi=self.abi)

    def kernel_ir(self, func):
        return self.kernel().ir(func)

    def _concrete(self, name, shape):
        """`shape` (of the kernel, with None for dynamic dims) of operand
        `name` made concrete: the row dims for the statistics, otherwise
        the matching suffix of this case's shape."""
        if name in ("mean", "rstd"):
            return tuple(self.rows)
        return tuple(self.shape[len(self.shape) - len(shape):])

    def operands(self):
        """(name, shape, dtype) of the op's inputs, in order."""
        return [(name, self._concrete(name, shape), dtype)
                for name, _, shape, dtype, dest in self.kernel().arguments()
                if not dest]

    def destinations(self):
        """(name, shape, dtype) of the op's destinations, in result order."""
        return [(name, self._concrete(name, shape), dtype)
                for name, _, shape, dtype, dest in self.kernel().arguments()
                if dest]

    # -- data ----------------------------------------------------------------
    def inputs(self):
        """Input arrays (float64, representable in their type) by name; mean
        and rstd are the float64 forward's, rounded to their type."""
        rng = np.random.default_rng(self.seed)
        values = {}
        draw = (rng.standard_normal if self.data == "normal" else
                lambda shape: rng.uniform(-1, 1, shape))
        for name, shape, dtype in self.operands():
            if name in ("mean", "rstd"):
                continue
            if name == "g":
                v = rng.uniform(0.5, 1.5, shape)
            elif name == "x" and self.data == "large_mean":
                # Rows whose mean is far larger than their spread: x must be
                # centred by the mean's pivot and offset, not by the rounded
                # mean (half an ulp of 1e4 is 5e-4 in f32).
                v = 1e4 + rng.uniform(-1, 1, shape)
            else:
                v = draw(shape)
            values[name] = reference.round_to(v, dtype)
        if self.saved:
            fn = reference.layer_norm if self.op == "layer_norm" else \
                reference.rms_norm
            stats = fn(values["x"], eps=self.eps, axis=self.axis,
                       in_dtype=self.dtype)
            stats_type = kernels.statistics_type(self.dtype)
            for name in ("mean", "rstd"):
                if name in stats and (name == "rstd" or self.op == "layer_norm"):
                    values[name] = reference.round_to(stats[name], stats_type)
        return values

    def reference(self, values):
        return reference.norm_backward(
            self.op, values["dy"], values["x"], values.get("g"),
            values.get("mean"), values.get("rstd"), eps=self.eps,
            axis=self.axis, residual_grad=values.get("dr"),
            in_dtype=self.dtype)

    def call_args(self, values):
        """Arguments in kernel order, and the indices of output arguments."""
        args = [values[name] for name, _, _ in self.operands()]
        outputs = []
        if self.abi != "tensor":
            for _, shape, _ in self.destinations():
                outputs.append(len(args))
                args.append(np.zeros(shape))
        return args, outputs

    # -- checking ------------------------------------------------------------
    def check(self, outputs, values):
        ref = self.reference(values)
        failures = []
        m = int(np.prod(self.rows))
        for (name, _, dtype), got in zip(self.destinations(), outputs):
            want = ref[name]
            if name == "dx":
                tol = reference.gradient_tolerance(want, dtype, n=self.n,
                                                   terms=ref["dx_scale"])
            else:
                tol = reference.gradient_tolerance(want, dtype, m=m)
            failures += _compare(name, got, want, tol, self.data)
        return failures


def random_grad_spec(rng, random_shape):
    """A random GradCase spec string; `random_shape(rng, rank)` draws the
    shape (chains.random_shape)."""
    words = random_layout(rng, random_shape)
    op = words[0].partition("=")[2]
    for key, p in (("gamma", 0.7), ("saved", 0.6), ("residual_grad", 0.2)):
        if rng.random() < p:
            words.append(key)
    outputs = [k for k, p in (("dx", 0.8), ("dgamma", 0.6), ("dbeta", 0.5))
               if rng.random() < p and not (k == "dbeta" and op == "rms_norm")]
    if "residual_grad" in words and "dx" not in outputs:
        outputs.append("dx")
    words += outputs or ["dx"]
    words.append(f"eps={float(rng.choice([1e-5, 1e-6, 1e-3, 0.5]))!r}")
    if rng.random() < 0.25:
        words.append("dynamic")
    words.append("abi=" + str(rng.choice(["tensor", "tensor", "memref", "kernel"])))
    words.append("data=" + str(rng.choice(["normal", "normal", "uniform"])))
    words.append(f"seed={int(rng.integers(0, 2**31))}")
    return " ".join(words)

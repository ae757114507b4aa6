"""Decomposed norm gradients for the differential tester: the input
gradient of a LayerNorm / RMSNorm as autodiff front ends emit it, in TOSA
(torch's native_layer_norm_backward decomposition, or its terms distributed
over rstd), with saved statistics (keepdim tensors) or statistics
recomputed from x, with or without a weight, with a residual gradient;
and near misses that change the math. `--norm-capture` must turn a chain
into one gradient op that agrees with the float64 reference, and leave a
near miss exactly as it was.

    op=layer_norm shape=4x33 spelling=torch saved gamma seed=1
"""

from dataclasses import dataclass

import numpy as np

from norm_mlir import reference
from norm_mlir.core.types import mlir_float

SPELLINGS = ("torch", "distributed")
NEAR_MISSES = {
    "layer_norm": ("no_mean_term", "wrong_n", "sum_of_x", "unbiased"),
    "rms_norm": ("wrong_n", "sum_of_x", "unbiased"),
}


@dataclass
class GradChain:
    op: str = "layer_norm"
    shape: tuple = (4, 8)
    spelling: str = "torch"
    saved: bool = True
    gamma: bool = False
    residual_grad: bool = False
    eps: float = 1e-5
    near_miss: str = ""
    seed: int = 0
    spec: str = ""

    @property
    def n(self):
        return self.shape[-1]

    @property
    def stat_shape(self):
        return tuple(self.shape[:-1]) + (1,)

    @property
    def prefix(self):
        return "norm-capture"

    # -- IR ------------------------------------------------------------------
    def _t(self, shape):
        return "tensor<" + "x".join(map(str, shape)) + "xf32>"

    def _emit(self, text):
        self.counter += 1
        name = f"%v{self.counter}"
        self.lines.append(f"  {name} = {text}")
        return name

    def _const(self, value, shape):
        return self._emit(f'"tosa.const"() <{{values = dense<{mlir_float(value)}> : '
                          f'{self._t(shape)}}}> : () -> {self._t(shape)}')

    def _mul(self, a, sa, b, sb, out):
        return self._emit(f"tosa.mul {a}, {b}, %shift : ({self._t(sa)}, "
                          f"{self._t(sb)}, tensor<1xi8>) -> {self._t(out)}")

    def _binary(self, op, a, sa, b, sb, out):
        return self._emit(f"tosa.{op} {a}, {b} : ({self._t(sa)}, {self._t(sb)}) "
                          f"-> {self._t(out)}")

    def _sum(self, a):
        axis = len(self.shape) - 1
        return self._emit(f"tosa.reduce_sum {a} {{axis = {axis} : i32}} : "
                          f"({self._t(self.shape)}) -> {self._t(self.stat_shape)}")

    def kernel_ir(self, func):
        self.lines, self.counter = [], 0
        full, stat = tuple(self.shape), self.stat_shape
        one = (1,) * len(full)
        layer_norm = self.op == "layer_norm"
        args = [f"%dy: {self._t(full)}", f"%x: {self._t(full)}"]
        if self.gamma:
            args.append(f"%w: {self._t((self.n,))}")
        if self.saved:
            if layer_norm:
                args.append(f"%mean: {self._t(stat)}")
            args.append(f"%rstd: {self._t(stat)}")
        if self.residual_grad:
            args.append(f"%dr: {self._t(full)}")
        self.lines.append('  %shift = "tosa.const"() <{values = dense<0> : '
                          'tensor<1xi8>}> : () -> tensor<1xi8>')
        n = self.n
        inv_n = self._const(1.0 / n, one)
        wrong = self._const(1.0 / (n - 1) if n > 1 else 0.5, one)
        # Statistics.
        if self.saved:
            mean, rstd = ("%mean" if layer_norm else None), "%rstd"
        else:
            mean = None
            if layer_norm:
                mean = self._mul(self._sum("%x"), stat, inv_n, one, stat)
            centred = (self._binary("sub", "%x", full, mean, stat, full)
                       if layer_norm else "%x")
            square = self._mul(centred, full, centred, full, full)
            divisor = wrong if self.near_miss == "unbiased" else inv_n
            var = self._mul(self._sum(square), stat, divisor, one, stat)
            eps = self._const(self.eps, one)
            rstd = self._emit(f"tosa.rsqrt {self._binary('add', var, stat, eps, one, stat)} "
                              f": ({self._t(stat)}) -> {self._t(stat)}")
        centred = (self._binary("sub", "%x", full, mean, stat, full)
                   if layer_norm else "%x")
        xhat = self._mul(centred, full, rstd, stat, full)
        g = "%dy"
        if self.gamma:
            shape_op = self._emit(
                f"tosa.const_shape {{values = dense<[{', '.join(['1'] * (len(full) - 1) + [str(n)])}]> "
                f": tensor<{len(full)}xindex>}} : () -> !tosa.shape<{len(full)}>")
            w = self._emit(f"tosa.reshape %w, {shape_op} : ({self._t((n,))}, "
                           f"!tosa.shape<{len(full)}>) -> {self._t(one[:-1] + (n,))}")
            g = self._mul("%dy", full, w, one[:-1] + (n,), full)
        dot_operand = "%x" if self.near_miss == "sum_of_x" else xhat
        dot_divisor = wrong if self.near_miss == "wrong_n" else inv_n
        with_mean_term = layer_norm and self.near_miss != "no_mean_term"
        c1 = self._mul(dot_operand, full, g, full, full)
        c2 = self._sum(c1)
        if self.spelling == "torch":
            a = self._mul(g, full, self._const(float(n), one), one, full)
            inner = a
            if with_mean_term:
                inner = self._binary("sub", inner, full, self._sum(g), stat, full)
            if self.near_miss == "wrong_n":
                # The dot term scaled by N / (N - 1) inside the bracket.
                c2 = self._mul(c2, stat, self._mul(wrong, one, self._const(float(n), one),
                                                   one, one), one, stat)
            c3 = self._mul(xhat, full, c2, stat, full)
            inner = self._binary("sub", inner, full, c3, full, full)
            scale = self._mul(rstd, stat, inv_n, one, stat)
            dx = self._mul(scale, stat, inner, full, full)
        else:
            d = g
            if with_mean_term:
                m1 = self._mul(self._sum(g), stat, inv_n, one, stat)
                d = self._binary("sub", d, full, m1, stat, full)
            m2 = self._mul(c2, stat, dot_divisor, one, stat)
            t = self._mul(xhat, full, m2, stat, full)
            d = self._binary("sub", d, full, t, full, full)
            dx = self._mul(d, full, rstd, stat, full)
        if self.residual_grad:
            dx = self._binary("add", dx, full, "%dr", full, full)
        rt = self._t(full)
        return "\n".join([f"func.func @{func}({', '.join(args)}) -> {rt} {{"] +
                         self.lines + [f"  return {dx} : {rt}", "}"])

    # -- data and reference --------------------------------------------------
    def inputs(self):
        rng = np.random.default_rng(self.seed)
        values = {"dy": reference.round_to(rng.standard_normal(self.shape), "f32"),
                  "x": reference.round_to(rng.standard_normal(self.shape), "f32")}
        if self.gamma:
            values["w"] = reference.round_to(rng.uniform(0.5, 1.5, (self.n,)), "f32")
        if self.saved:
            fn = reference.layer_norm if self.op == "layer_norm" else reference.rms_norm
            stats = fn(values["x"], eps=self.eps)
            for name in ("mean", "rstd"):
                if name in stats:
                    values[name] = reference.round_to(
                        stats[name].reshape(self.stat_shape), "f32")
        if self.residual_grad:
            values["dr"] = reference.round_to(rng.standard_normal(self.shape), "f32")
        return values

    def args(self, values):
        return [values[k] for k in ("dy", "x", "w", "mean", "rstd", "dr")
                if k in values]

    #: What the capture must (not, for a near miss) make of the chain: a
    #: gradient op. (The forward norm inside a chain that recomputes its
    #: statistics, xhat, is a norm and may be captured as one.)
    capture_pattern = r"norm\.(layer_norm|rms_norm)_grad"

    def _centring_error(self, values, dx_scale):
        """How far the chain itself may be from a capture of its forward
        part: a chain recomputing a LayerNorm's statistics centres x by its
        f32 mean, off by up to half an ulp of it, that is by delta = 2^-24
        |mean| rstd in units of xhat on every element of the row; dx moves
        by at most about (1 + |xhat|) delta times the size of its terms
        (times 4 for the near misses' scaled terms). A captured forward
        norm centres exactly (pivot and offset), so on rows whose spread is
        far below their mean the two differ by this much, not by rounding
        (difftest seed 41, case 3027)."""
        if self.saved or self.op != "layer_norm":
            return 0.0
        stats = reference.layer_norm(values["x"], eps=self.eps)
        mean = np.asarray(stats["mean"], np.float64).reshape(self.stat_shape)
        rstd = np.asarray(stats["rstd"], np.float64).reshape(self.stat_shape)
        delta = np.ldexp(np.abs(mean) * rstd, -24)
        xhat = np.abs((values["x"] - mean) * rstd)
        return 4.0 * delta * (1.0 + xhat) * dx_scale

    def judge(self, got, original, values):
        """A chain must agree with the float64 reference; a near miss with
        its own uncaptured result, to rounding (its xhat may have become a
        forward norm op, which rounds once)."""
        want = reference.norm_backward(
            self.op, values["dy"], values["x"], values.get("w"),
            values.get("mean"), values.get("rstd"), eps=self.eps,
            residual_grad=values.get("dr"))
        tol = reference.gradient_tolerance(want["dx"], "f32", n=self.n,
                                           terms=want["dx_scale"])
        if self.near_miss:
            tol = tol + self._centring_error(values, want["dx_scale"])
            err = np.abs(got - original)
            bad = ~((err <= tol) | (np.isnan(got) & np.isnan(original)))
            if not bad.any():
                return []
            return [f"near-miss changed by capture: {int(bad.sum())} "
                    "elements differ beyond rounding"]
        want = want["dx"]
        err = np.abs(got - want)
        bad = ~(err <= tol)
        if bad.any():
            i = int(np.argmax(np.where(bad, err, -1)))
            return [f"dx: {int(bad.sum())} of {err.size} elements out of "
                    f"tolerance; worst |err| {np.ravel(err)[i]:.3g} vs tol "
                    f"{np.ravel(tol)[i]:.3g}"]
        return []


def random_grad_chain(rng, random_shape, near_miss):
    """A random GradChain (a near miss when `near_miss`)."""
    op = "layer_norm" if rng.random() < 0.5 else "rms_norm"
    shape = random_shape(rng, int(rng.choice([2, 2, 3])))
    shape[-1] = max(shape[-1], 2)
    chain = GradChain(op=op, shape=tuple(shape),
                      spelling=str(rng.choice(SPELLINGS)),
                      saved=bool(rng.random() < 0.6),
                      gamma=bool(rng.random() < 0.7),
                      residual_grad=bool(rng.random() < 0.2),
                      eps=float(rng.choice([1e-5, 1e-6, 1e-3])),
                      seed=int(rng.integers(0, 2**31)))
    if near_miss:
        choices = [m for m in NEAR_MISSES[op]
                   if m != "unbiased" or not chain.saved]
        chain.near_miss = str(rng.choice(choices))
    words = [f"op={chain.op}", "shape=" + "x".join(map(str, chain.shape)),
             f"spelling={chain.spelling}"]
    words += [k for k in ("saved", "gamma", "residual_grad") if getattr(chain, k)]
    words.append(f"eps={chain.eps!r}")
    if near_miss:
        words.append(f"near_miss={chain.near_miss}")
    words.append(f"seed={chain.seed}")
    chain.spec = " ".join(words)
    return chain

"""LayerNorm and RMSNorm on numpy arrays (or CPU torch tensors), run by
kernels JIT-compiled from norm.layer_norm / norm.rms_norm.

A kernel is specialised on the op, element types, normalised size, eps and
which optional operands are present, and takes any number of rows: the input
is viewed as `rows x N` (N the product of the normalised dims), so one kernel
serves every batch size and leading shape. Kernels are cached by that
signature for the life of the process.

Element types: float32, float16, float64, and bf16 given as uint16 arrays of
bf16 bit patterns (or torch.bfloat16 tensors). f16/bf16 are computed in f32
and rounded once, as the norm ops define.
"""

import collections
import math
import numbers
import sys
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from norm_mlir import jit
from norm_mlir.core import kernels
from norm_mlir.core.types import QUANTIZED_TYPES
from norm_mlir.core.types import DTYPE_NAMES as _DTYPE_NAMES, \
    FLOAT_ELEMENT_TYPES as _ELEMENT_TYPES, NUMPY_DTYPES as _NUMPY_DTYPES


def _torch():
    """torch if the program has imported it (a torch tensor or dtype can only
    be passed in then), else None; importing torch here would slow down
    every `import norm_mlir` for nothing."""
    return sys.modules.get("torch")


_SUPPORTED = "float32, float16, float64, or bf16 (uint16 bit patterns)"

CacheInfo = collections.namedtuple("CacheInfo", "hits misses size")


@dataclass(frozen=True)
class KernelSignature:
    """Everything a compiled norm kernel is specialised on."""
    op: str  # "layer_norm" or "rms_norm"
    dtype: str  # input (and residual) element type
    n: int  # normalised elements per row
    gamma: Optional[str]  # gamma's element type, None when absent
    beta: Optional[str]
    residual: bool
    out_dtype: str
    eps: float
    pipeline: str
    statistics: bool = False  # also mean (LayerNorm) and rstd destinations
    # Dynamic quantisation (a quantised out_dtype): per row, or per group of
    # group_size elements; the scales' floor; an f32 upper-bound argument.
    group_size: int = 0
    min_scale: float = 0.0
    scale_ub: bool = False

    def kernel_ir(self, func="norm_kernel"):
        """The kernel as MLIR (core.kernels, the kernel ABI): memrefs
        outside (x, [residual], [gamma], [beta], out, [residual_out],
        [mean], [rstd]) of any number of rows, a norm op on tensors
        inside."""
        return kernels.NormKernel(
            op=self.op, shape=(None, self.n), dtype=self.dtype,
            out=self.out_dtype, param_dtype=self.gamma or self.beta or "",
            gamma=self.gamma is not None, beta=self.beta is not None,
            residual=self.residual, residual_out=self.residual,
            mean=self.statistics and self.op == "layer_norm",
            rstd=self.statistics, eps=self.eps, abi="kernel",
            dynamic_quant=self.out_dtype in QUANTIZED_TYPES,
            group_size=self.group_size, min_scale=self.min_scale,
            scale_ub=self.scale_ub).ir(func)


@dataclass(frozen=True)
class GradKernelSignature:
    """Everything a compiled gradient kernel is specialised on."""
    op: str  # "layer_norm" or "rms_norm"
    dtype: str  # x's and dy's element type
    n: int
    gamma: Optional[str]  # gamma's element type, None when absent
    saved: bool  # mean/rstd passed in (else recomputed with eps)
    eps: float
    residual_grad: bool
    dx: bool
    dgamma: bool
    dbeta: bool
    pipeline: str

    def kernel_ir(self, func="norm_kernel"):
        """The kernel as MLIR (core.kernels.NormGradKernel)."""
        return kernels.NormGradKernel(
            op=self.op, n=self.n, dtype=self.dtype,
            param_dtype=self.gamma or "", gamma=self.gamma is not None,
            saved=self.saved, eps=self.eps, residual_grad=self.residual_grad,
            dx=self.dx, dgamma=self.dgamma, dbeta=self.dbeta).ir(func)


class _KernelCache:
    def __init__(self, signature_class):
        self.signature_class = signature_class
        self.lock = threading.Lock()
        self.kernels = {}
        self.hits = 0
        self.misses = 0

    def get(self, key):
        """The kernel for `key`, the fields of a KernelSignature in order
        (a plain tuple hashes faster than the dataclass)."""
        function = self.kernels.get(key)
        if function is not None:
            self.hits += 1
            return function
        with self.lock:
            function = self.kernels.get(key)
            if function is not None:
                self.hits += 1
                return function
            self.misses += 1
            signature = self.signature_class(*key)
            module = jit.JitModule(signature.kernel_ir(), signature.pipeline,
                                   source_name=f"<norm kernel {signature.op}>")
            function = module["norm_kernel"]
            self.kernels[key] = function
            return function


_cache = _KernelCache(KernelSignature)
_grad_cache = _KernelCache(GradKernelSignature)


def cache_info():
    """Hits, misses and size of the kernel caches (forward and gradient
    kernels together)."""
    caches = (_cache, _grad_cache)
    return CacheInfo(sum(c.hits for c in caches), sum(c.misses for c in caches),
                     sum(len(c.kernels) for c in caches))


def clear_cache():
    """Drops every compiled kernel and resets the counters."""
    for cache in (_cache, _grad_cache):
        with cache.lock:
            cache.kernels.clear()
            cache.hits = cache.misses = 0


# -- argument handling ------------------------------------------------------


def _is_torch(value):
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def _to_numpy(value, name, fn):
    """`value` as a numpy array and its element type."""
    if _is_torch(value):
        if value.device.type != "cpu":
            raise ValueError(f"{fn}: {name} is on {value.device}; only CPU "
                             "tensors are supported")
        torch = _torch()
        value = value.detach()
        if value.dtype == torch.bfloat16:
            value = value.contiguous().view(torch.int16).numpy().view(np.uint16)
        else:
            value = value.numpy()
    elif not isinstance(value, np.ndarray):
        if isinstance(value, (list, tuple)) or isinstance(value, numbers.Real):
            value = np.asarray(value, dtype=np.float64)
        else:
            raise TypeError(f"{fn}: {name} must be a numpy array or a torch "
                            f"tensor, got {type(value).__name__}")
    element_type = _ELEMENT_TYPES.get(value.dtype)
    if element_type is None:
        raise TypeError(f"{fn}: {name} has dtype {value.dtype}; expected "
                        f"{_SUPPORTED}")
    return value, element_type


def _out_element_type(out_dtype, default, fn):
    if out_dtype is None:
        return default
    torch = _torch()
    if torch is not None and isinstance(out_dtype, torch.dtype):
        name = str(out_dtype).replace("torch.", "")
    elif isinstance(out_dtype, str):
        name = out_dtype
    else:
        try:
            dtype = np.dtype(out_dtype)
        except TypeError:
            dtype = None
        name = {np.dtype(np.uint16): "bf16"}.get(dtype, str(dtype))
    element_type = _DTYPE_NAMES.get(name)
    if element_type is None:
        raise TypeError(f"{fn}: out_dtype {out_dtype!r} is not supported; "
                        f"expected {_SUPPORTED}")
    return element_type


def _check_eps(eps, fn):
    if type(eps) is not float:
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
            raise TypeError(f"{fn}: eps must be a real number, got "
                            f"{type(eps).__name__}")
        eps = float(eps)
    if not 0 < eps < math.inf:  # False for NaN too.
        raise ValueError(f"{fn}: eps must be a positive finite number, got {eps}")
    return eps


def _normalized_axis(axis, ndim, fn):
    if type(axis) is not int:
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"{fn}: axis must be an int, got "
                            f"{type(axis).__name__}")
        axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for an input of "
                         f"rank {ndim}")
    return axis + ndim if axis < 0 else axis


def _check_like_x(name, array, element_type, x, dtype, fn):
    """Raises unless `array` (argument `name`) has x's shape and dtype."""
    if array.shape != x.shape:
        raise ValueError(f"{fn}: {name} has shape {array.shape}; expected the "
                         f"shape of x {x.shape}")
    if element_type != dtype:
        raise TypeError(f"{fn}: {name} has dtype {array.dtype}; expected the "
                        f"dtype of x ({x.dtype})")


def _check_parameters(gamma, beta, x, axis, fn):
    """{name: (array, element type)} of the gamma and beta given; raises
    unless each has the normalised shape of x (dims from `axis` on) and
    they share a dtype."""
    normalized = x.shape[axis:]
    params = {}
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value is None:
            continue
        array, element_type = _to_numpy(value, name, fn)
        if array.shape != normalized:
            raise ValueError(f"{fn}: {name} has shape {array.shape}; expected "
                             f"the normalised shape {normalized} of x (shape "
                             f"{x.shape}, axis {axis})")
        params[name] = (array, element_type)
    if "gamma" in params and "beta" in params and \
            params["gamma"][1] != params["beta"][1]:
        raise TypeError(f"{fn}: gamma and beta must have the same dtype, got "
                        f"{params['gamma'][0].dtype} and {params['beta'][0].dtype}")
    return params


def _from_numpy(array, element_type, as_torch):
    if not as_torch:
        return array
    torch = _torch()
    if element_type == "bf16":
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def _requires_grad(*values):
    """Whether torch would record a graph through any of `values`."""
    torch = _torch()
    return (torch is not None and torch.is_grad_enabled() and
            any(_is_torch(v) and v.requires_grad for v in values))


def _call_forward(kernel, rows, n, matrices, vectors, outputs, stat_arrays):
    """Calls a forward kernel (the kernel ABI of KernelSignature) on
    C-contiguous arrays, described as row-major `rows x N` and `N` views
    without reshaping: the inputs (x [, residual]), the parameters, the
    outputs (out [, residual_out]) and the statistics."""
    rows_type, vector_type = jit.DESCRIPTOR_TYPES[2], jit.DESCRIPTOR_TYPES[1]
    descriptors = [rows_type(p, p, 0, rows, n, n, 1)
                   for p in (a.ctypes.data for a in matrices)]
    descriptors += [vector_type(p, p, 0, n, 1)
                    for p in (a.ctypes.data for a in vectors)]
    descriptors += [rows_type(p, p, 0, rows, n, n, 1)
                    for p in (a.ctypes.data for a in outputs)]
    descriptors += [vector_type(p, p, 0, rows, 1)
                    for p in (a.ctypes.data for a in stat_arrays)]
    kernel.call_descriptors(*descriptors)


def _run(op, x, gamma, beta, eps, axis, residual, out_dtype, pipeline,
         statistics=False):
    fn = f"norm_mlir.{op}"
    if _requires_grad(x, gamma, beta, residual):
        # Never cut a tensor off from the autograd graph: differentiable
        # inputs go through the autograd Functions of norm_mlir.torch.
        if statistics:
            raise ValueError(f"{fn}: return_statistics is not differentiable; "
                             "call it under torch.no_grad() or on tensors "
                             "that do not require grad")
        return autograd_apply(op, x, gamma, beta, eps, axis, residual,
                              out_dtype, pipeline)
    as_torch = _is_torch(x)
    x, dtype = _to_numpy(x, "x", fn)
    if x.ndim < 1:
        raise ValueError(f"{fn}: x must have rank >= 1, got a scalar")
    axis = _normalized_axis(axis, x.ndim, fn)
    eps = _check_eps(eps, fn)
    normalized = x.shape[axis:]
    if 0 in normalized:
        raise ValueError(f"{fn}: the normalised dims {normalized} of x (shape "
                         f"{x.shape}, axis {axis}) must be non-empty")
    n = math.prod(normalized)
    rows = math.prod(x.shape[:axis])

    params = _check_parameters(gamma, beta, x, axis, fn)
    if residual is not None:
        residual, residual_type = _to_numpy(residual, "residual", fn)
        _check_like_x("residual", residual, residual_type, x, dtype, fn)
    out_type = _out_element_type(out_dtype, dtype, fn)

    out = np.empty(x.shape, _NUMPY_DTYPES[out_type])
    residual_out = np.empty(x.shape, x.dtype) if residual is not None else None
    stats_dtype = _NUMPY_DTYPES[kernels.statistics_type(dtype)]
    stat_arrays = []
    if statistics:
        stat_arrays = [np.empty(x.shape[:axis], stats_dtype)
                       for _ in range(2 if op == "layer_norm" else 1)]
    if rows:
        kernel = _cache.get((
            op, dtype, n, params["gamma"][1] if "gamma" in params else None,
            params["beta"][1] if "beta" in params else None,
            residual is not None, out_type, eps,
            pipeline or jit.default_pipeline(), statistics))
        # The arrays stay referenced here for the length of the call (a
        # copy made by ascontiguousarray would otherwise be freed under it).
        matrices = [np.ascontiguousarray(x)]
        if residual is not None:
            matrices.append(np.ascontiguousarray(residual))
        vectors = [np.ascontiguousarray(params[name][0])
                   for name in ("gamma", "beta") if name in params]
        outputs = [out] if residual_out is None else [out, residual_out]
        _call_forward(kernel, rows, n, matrices, vectors, outputs, stat_arrays)

    result = _from_numpy(out, out_type, as_torch)
    if residual_out is not None:
        result = (result, _from_numpy(residual_out, dtype, as_torch))
    if not statistics:
        return result
    stats = tuple(_from_numpy(a, kernels.statistics_type(dtype), as_torch)
                  for a in stat_arrays)
    return (result,) + stats if residual_out is None else result + stats


_autograd_function = None


def _make_autograd_function(torch):
    """The torch.autograd.Function of the norm kernels (made on first use,
    so that importing norm_mlir does not import torch): out [, x +
    residual] = norm(x [+ residual]); its backward runs the gradient kernels
    on the mean/rstd the forward saved and gives the gradients of x, gamma,
    beta and residual."""

    class NormFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, op, x, gamma, beta, residual, eps, axis, out_dtype,
                    pipeline):
            # Grad mode is off in here: _run runs the kernel, no recursion.
            results = _run(op, x, gamma, beta, eps, axis, residual, out_dtype,
                           pipeline, statistics=True)
            stats_count = 2 if op == "layer_norm" else 1
            stats = results[-stats_count:]
            outputs = results[:-stats_count]
            h = outputs[1] if residual is not None else x
            mean, rstd = stats if op == "layer_norm" else (None, stats[0])
            ctx.save_for_backward(h, gamma, mean, rstd)
            ctx.op, ctx.eps, ctx.axis, ctx.pipeline = op, eps, axis, pipeline
            ctx.has_residual = residual is not None
            ctx.has_beta = beta is not None
            ctx.input_dtype = x.dtype
            for stat in stats:
                ctx.mark_non_differentiable(stat)
            return outputs if len(outputs) > 1 else outputs[0]

        @staticmethod
        def backward(ctx, grad_out, grad_h=None):
            h, gamma, mean, rstd = ctx.saved_tensors
            needs = ctx.needs_input_grad  # op, x, gamma, beta, residual, ...
            want_dx = needs[1] or (ctx.has_residual and needs[4])
            want_dgamma = gamma is not None and needs[2]
            want_dbeta = ctx.op == "layer_norm" and ctx.has_beta and needs[3]
            if not (want_dx or want_dgamma or want_dbeta):
                return (None,) * 9
            dy = grad_out.to(ctx.input_dtype).contiguous()
            residual_grad = None
            if ctx.has_residual and want_dx and grad_h is not None:
                residual_grad = grad_h.to(ctx.input_dtype).contiguous()
            dx, dgamma, dbeta = _run_backward(
                ctx.op, dy, h, mean, rstd, gamma, ctx.eps, ctx.axis,
                residual_grad, (want_dx, want_dgamma, want_dbeta),
                ctx.pipeline)
            # d(x + residual)/dx = d(x + residual)/dresidual = 1.
            dresidual = dx if ctx.has_residual and needs[4] else None
            return (None, dx if needs[1] else None, dgamma, dbeta, dresidual,
                    None, None, None, None)

    return NormFunction


def autograd_apply(op, x, gamma, beta, eps, axis, residual, out_dtype,
                   pipeline):
    """`op` through the autograd Function of the norm kernels (see
    norm_mlir.torch): the output, or `(output, x + residual)`."""
    global _autograd_function
    if _autograd_function is None:
        _autograd_function = _make_autograd_function(_torch())
    return _autograd_function.apply(op, x, gamma, beta, residual, eps, axis,
                                    out_dtype, pipeline)


def _run_backward(op, dy, x, mean, rstd, gamma, eps, axis, residual_grad,
                  want, pipeline):
    """The gradient kernels' common driver: `want` is (dx, dgamma, dbeta)
    as booleans; returns those three, None where not wanted."""
    fn = f"norm_mlir.{op}_backward"
    as_torch = _is_torch(x)
    x, dtype = _to_numpy(x, "x", fn)
    if x.ndim < 1:
        raise ValueError(f"{fn}: x must have rank >= 1, got a scalar")
    dy, dy_type = _to_numpy(dy, "dy", fn)
    if dy.shape != x.shape or dy_type != dtype:
        raise ValueError(f"{fn}: dy has shape {dy.shape} and dtype "
                         f"{dy.dtype}; expected those of x, {x.shape} and "
                         f"{x.dtype}")
    axis = _normalized_axis(axis, x.ndim, fn)
    normalized, row_shape = x.shape[axis:], x.shape[:axis]
    if 0 in normalized:
        raise ValueError(f"{fn}: the normalised dims {normalized} of x (shape "
                         f"{x.shape}, axis {axis}) must be non-empty")
    n, rows = math.prod(normalized), math.prod(row_shape)
    want_dx, want_dgamma, want_dbeta = want
    if not (want_dx or want_dgamma or want_dbeta):
        raise ValueError(f"{fn}: nothing to compute: dx, dgamma and dbeta "
                         "are all False")
    stats_name = kernels.statistics_type(dtype)
    stats_dtype = _NUMPY_DTYPES[stats_name]
    saved = rstd is not None
    if op == "layer_norm" and (mean is None) != (rstd is None):
        raise ValueError(f"{fn}: pass mean and rstd together (saved by the "
                         "forward), or neither (recomputed from x with eps)")
    stats = []
    for name, value in (("mean", mean if op == "layer_norm" else None),
                        ("rstd", rstd)):
        if value is None:
            continue
        array, _ = _to_numpy(value, name, fn)
        if array.shape != row_shape:
            raise ValueError(f"{fn}: {name} has shape {array.shape}; "
                             f"expected the row shape {row_shape} of x")
        stats.append(np.ascontiguousarray(array, stats_dtype))
    if not saved:
        eps = _check_eps(eps, fn)
    else:
        eps = 0.0
    param_type = None
    if gamma is not None:
        gamma, param_type = _to_numpy(gamma, "gamma", fn)
        if gamma.shape != normalized:
            raise ValueError(f"{fn}: gamma has shape {gamma.shape}; expected "
                             f"the normalised shape {normalized} of x")
    if residual_grad is not None:
        residual_grad, dr_type = _to_numpy(residual_grad, "residual_grad", fn)
        if residual_grad.shape != x.shape or dr_type != dtype:
            raise ValueError(f"{fn}: residual_grad must have the shape and "
                             f"dtype of x, {x.shape} and {x.dtype}")
        if not want_dx:
            raise ValueError(f"{fn}: residual_grad is added into dx, which "
                             "was not asked for")

    param_grad_type = param_type or dtype
    dx = np.empty(x.shape, x.dtype) if want_dx else None
    dgamma = (np.empty(normalized, _NUMPY_DTYPES[param_grad_type])
              if want_dgamma else None)
    dbeta = (np.empty(normalized, _NUMPY_DTYPES[param_grad_type])
             if want_dbeta else None)
    if rows:
        kernel = _grad_cache.get((
            op, dtype, n, param_type, saved, eps, residual_grad is not None,
            want_dx, want_dgamma, want_dbeta,
            pipeline or jit.default_pipeline()))
        rows_type, vector_type = jit.DESCRIPTOR_TYPES[2], jit.DESCRIPTOR_TYPES[1]
        keep = [np.ascontiguousarray(x), np.ascontiguousarray(dy)]
        descriptors = [rows_type(p, p, 0, rows, n, n, 1)
                       for p in (a.ctypes.data for a in keep)]
        if gamma is not None:
            keep.append(np.ascontiguousarray(gamma))
            descriptors.append(vector_type(keep[-1].ctypes.data,
                                           keep[-1].ctypes.data, 0, n, 1))
        for array in stats:
            descriptors.append(vector_type(array.ctypes.data,
                                           array.ctypes.data, 0, rows, 1))
        if residual_grad is not None:
            keep.append(np.ascontiguousarray(residual_grad))
            descriptors.append(rows_type(keep[-1].ctypes.data,
                                         keep[-1].ctypes.data, 0, rows, n, n, 1))
        if dx is not None:
            descriptors.append(rows_type(dx.ctypes.data, dx.ctypes.data, 0,
                                         rows, n, n, 1))
        for array in (dgamma, dbeta):
            if array is not None:
                descriptors.append(vector_type(array.ctypes.data,
                                               array.ctypes.data, 0, n, 1))
        kernel.call_descriptors(*descriptors)
    else:
        # No rows: dx is empty and the sums over no rows are 0.
        for array in (dgamma, dbeta):
            if array is not None:
                array[...] = 0
    return tuple(None if a is None else _from_numpy(a, t, as_torch)
                 for a, t in ((dx, dtype), (dgamma, param_grad_type),
                              (dbeta, param_grad_type)))


def layer_norm(x, gamma=None, beta=None, eps=1e-5, axis=-1, residual=None,
               out_dtype=None, *, pipeline=None, return_statistics=False):
    """LayerNorm over the trailing dims `[axis, rank)` of `x`:
    `(h - mean) * rsqrt(var + eps) * gamma + beta`, with `h = x + residual`
    (or `x`), mean and biased variance over the normalised dims.

    `gamma` and `beta` (optional) have the normalised shape. `out_dtype`
    (default: that of `x`) may differ from the input's. Returns the output,
    or `(output, x + residual)` when `residual` is given. numpy in, numpy
    out; torch (CPU) in, torch out. `pipeline` overrides the JIT's lowering
    pipeline (`norm_mlir.jit.default_pipeline()`).

    With `return_statistics`, the per-row mean and rstd (shaped like the
    row dims, f32, or f64 for f64 input) follow, as the gradient needs
    them: `(output, [x + residual,] mean, rstd)`.

    torch tensors that require grad (with grad mode on) go through
    `norm_mlir.torch`, whose backward runs the gradient kernels: the result
    stays in the autograd graph.

    Raises TypeError for an unsupported dtype and ValueError for mismatched
    shapes or a bad eps or axis, before anything is compiled; MLIRError if
    compiling the kernel fails.
    """
    return _run("layer_norm", x, gamma, beta, eps, axis, residual, out_dtype,
                pipeline, return_statistics)


def rms_norm(x, gamma=None, eps=1e-6, axis=-1, residual=None, out_dtype=None,
             *, pipeline=None, return_statistics=False):
    """RMSNorm over the trailing dims `[axis, rank)` of `x`:
    `h * rsqrt(mean(h^2) + eps) * gamma`, with `h = x + residual` (or `x`).
    Arguments, results and errors as for `layer_norm`; its statistics are
    rstd alone."""
    return _run("rms_norm", x, gamma, None, eps, axis, residual, out_dtype,
                pipeline, return_statistics)


def fused_add_rms_norm(x, residual, gamma=None, eps=1e-6, *, pipeline=None):
    """vLLM's fused_add_rms_norm, in place: `residual <- x + residual`, then
    `x <- rms_norm(x + residual) * gamma`, over the last dim. Writes into
    `x` and `residual` themselves (the kernel's outs and residual_out are
    their buffers: no copies) and returns None.

    `x` and `residual` are C-contiguous, writable arrays (numpy, or CPU torch
    tensors that do not require grad) of one shape and dtype; `gamma`, if
    given, is shaped like the last dim. Raises ValueError or TypeError
    naming the argument otherwise, before anything is written.
    """
    fn = "norm_mlir.fused_add_rms_norm"
    for name, value in (("x", x), ("residual", residual)):
        if _is_torch(value):
            if value.requires_grad:
                raise ValueError(f"{fn}: {name} requires grad; an in-place "
                                 "update cannot be differentiated (use "
                                 "rms_norm(x, residual=...))")
            if not value.is_contiguous():
                raise ValueError(f"{fn}: {name} must be contiguous: it is "
                                 "written in place")
    arrays = {}
    for name, value in (("x", x), ("residual", residual)):
        array, element_type = _to_numpy(value, name, fn)
        if array.ndim < 1:
            raise ValueError(f"{fn}: {name} must have rank >= 1, got a scalar")
        if not (array.flags.c_contiguous and array.flags.writeable):
            raise ValueError(f"{fn}: {name} must be C-contiguous and writable: "
                             "it is written in place")
        arrays[name] = (array, element_type)
    (xa, dtype), (ra, rtype) = arrays["x"], arrays["residual"]
    _check_like_x("residual", ra, rtype, xa, dtype, fn)
    if np.shares_memory(xa, ra):
        raise ValueError(f"{fn}: x and residual overlap; they must be "
                         "separate buffers")
    eps = _check_eps(eps, fn)
    n = xa.shape[-1]
    if n == 0:
        raise ValueError(f"{fn}: the last dim of x (shape {xa.shape}) must be "
                         "non-empty")
    vectors, gamma_type = [], None
    if gamma is not None:
        ga, gamma_type = _to_numpy(gamma, "gamma", fn)
        if ga.shape != (n,):
            raise ValueError(f"{fn}: gamma has shape {ga.shape}; expected "
                             f"({n},), the last dim of x")
        vectors.append(np.ascontiguousarray(ga))
    rows = xa.size // n
    if rows:
        kernel = _cache.get((
            "rms_norm", dtype, n, gamma_type, None, True, dtype, eps,
            pipeline or jit.default_pipeline(), False))
        _call_forward(kernel, rows, n, [xa, ra], vectors, [xa, ra], [])


# -- dynamic quantisation ---------------------------------------------------

# The quantised types by the names a caller may use (stored as int8, and
# f8E4M3FN as its uint8 bit patterns: neither numpy nor torch 1.13 has it).
_QUANT_TYPES = {"i8": "i8", "int8": "i8", "f8E4M3FN": "f8E4M3FN",
                "float8_e4m3fn": "f8E4M3FN", "fp8": "f8E4M3FN"}


def _check_real(value, name, fn, allow_zero):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a real number, got "
                        f"{type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and (value > 0 or allow_zero and value == 0)):
        raise ValueError(f"{fn}: {name} must be a finite number "
                         f"{'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


def _run_dynamic_quant(op, x, gamma, beta, eps, residual, quant_dtype,
                       group_size, scale_ub, min_scale, pipeline):
    fn = f"norm_mlir.{op}_dynamic_quant"
    if _requires_grad(x, gamma, beta, residual):
        raise ValueError(f"{fn}: quantisation is not differentiable; call it "
                         "under torch.no_grad() or on tensors that do not "
                         "require grad")
    out_type = _QUANT_TYPES.get(str(quant_dtype).replace("torch.", ""))
    if out_type is None:
        raise TypeError(f"{fn}: quant_dtype {quant_dtype!r} is not supported; "
                        "expected 'int8' or 'float8_e4m3fn'")
    as_torch = _is_torch(x)
    x, dtype = _to_numpy(x, "x", fn)
    if x.ndim < 1:
        raise ValueError(f"{fn}: x must have rank >= 1, got a scalar")
    eps = _check_eps(eps, fn)
    n = x.shape[-1]
    if n == 0:
        raise ValueError(f"{fn}: the last dim of x (shape {x.shape}) must be "
                         "non-empty")
    if group_size is not None:
        if isinstance(group_size, bool) or not isinstance(group_size,
                                                          numbers.Integral):
            raise TypeError(f"{fn}: group_size must be an int, got "
                            f"{type(group_size).__name__}")
        if group_size <= 0 or n % group_size:
            raise ValueError(f"{fn}: group_size {group_size} must be positive "
                             f"and divide the row length {n}")
        group_size = int(group_size)
    min_scale = _check_real(min_scale, "min_scale", fn, allow_zero=True)
    if scale_ub is not None:
        scale_ub = _check_real(scale_ub, "scale_ub", fn, allow_zero=False)
    params = _check_parameters(gamma, beta, x, x.ndim - 1, fn)
    if residual is not None:
        residual, residual_type = _to_numpy(residual, "residual", fn)
        _check_like_x("residual", residual, residual_type, x, dtype, fn)

    rows = x.size // n
    q = np.empty(x.shape, _NUMPY_DTYPES[out_type])
    groups = n // group_size if group_size else 0
    scales = np.empty(x.shape[:-1] + ((groups,) if groups else ()), np.float32)
    residual_out = np.empty(x.shape, x.dtype) if residual is not None else None
    if rows:
        kernel = _cache.get((
            op, dtype, n, params["gamma"][1] if "gamma" in params else None,
            params["beta"][1] if "beta" in params else None,
            residual is not None, out_type, eps,
            pipeline or jit.default_pipeline(), False, group_size or 0,
            min_scale, scale_ub is not None))
        rows_type = jit.DESCRIPTOR_TYPES[2]
        matrix = lambda a: rows_type(a.ctypes.data, a.ctypes.data, 0, rows, n,
                                     n, 1)
        vector = lambda a, size: jit.DESCRIPTOR_TYPES[1](
            a.ctypes.data, a.ctypes.data, 0, size, 1)
        inputs = [np.ascontiguousarray(x)]
        if residual is not None:
            inputs.append(np.ascontiguousarray(residual))
        args = [matrix(a) for a in inputs]
        vectors = [np.ascontiguousarray(params[name][0])
                   for name in ("gamma", "beta") if name in params]
        args += [vector(a, n) for a in vectors]
        if scale_ub is not None:
            args.append(scale_ub)
        args.append(matrix(q))
        if residual_out is not None:
            args.append(matrix(residual_out))
        if groups:
            args.append(rows_type(scales.ctypes.data, scales.ctypes.data, 0,
                                  rows, groups, groups, 1))
        else:
            args.append(vector(scales, rows))
        kernel.call_descriptors(*args)
    result = (_from_numpy(q, "i8", as_torch), _from_numpy(scales, "f32", as_torch))
    if residual_out is not None:
        result += (_from_numpy(residual_out, dtype, as_torch),)
    return result


def rms_norm_dynamic_quant(x, gamma=None, eps=1e-6, *, quant_dtype="int8",
                           group_size=None, residual=None, scale_ub=None,
                           min_scale=0.0, pipeline=None):
    """RMSNorm over the last dim of `x` (with `h = x + residual` when given),
    quantised with scales computed from each row (vLLM's
    rms_norm_dynamic_per_token_quant) or, with `group_size` G, from each
    group of G consecutive elements of a row (rms_norm_per_block_quant):
    `scale = min(max(amax(|y|) / qmax, min_scale), scale_ub)`, `q =
    saturate(roundeven(y / scale))`, qmax 127 for int8 and 448 for
    float8_e4m3fn.

    Returns `(q, scales)`, or `(q, scales, x + residual)`: q int8, or for
    float8_e4m3fn its uint8 bit patterns; scales float32, shaped like the
    rows (`x.shape[:-1]`), or `x.shape[:-1] + (N // G,)` per group. Note
    that vLLM's scale_ub bounds amax: pass its scale_ub / qmax here.

    Raises TypeError for an unsupported dtype or quant_dtype and ValueError
    for mismatched shapes, a group_size that does not divide the row, a
    negative min_scale, a scale_ub that is not positive, or tensors that
    require grad, before anything is compiled.
    """
    return _run_dynamic_quant("rms_norm", x, gamma, None, eps, residual,
                              quant_dtype, group_size, scale_ub, min_scale,
                              pipeline)


def layer_norm_dynamic_quant(x, gamma=None, beta=None, eps=1e-5, *,
                             quant_dtype="int8", group_size=None,
                             residual=None, scale_ub=None, min_scale=0.0,
                             pipeline=None):
    """LayerNorm over the last dim of `x`, quantised dynamically: arguments,
    results and errors as for `rms_norm_dynamic_quant`."""
    return _run_dynamic_quant("layer_norm", x, gamma, beta, eps, residual,
                              quant_dtype, group_size, scale_ub, min_scale,
                              pipeline)


def layer_norm_backward(dy, x, mean=None, rstd=None, gamma=None, *, eps=1e-5,
                        axis=-1, residual_grad=None, dx=True, dgamma=True,
                        dbeta=True, pipeline=None):
    """The gradients of `layer_norm` (torch's native_layer_norm_backward):
    with `xhat = (x - mean) * rstd` and `wdy = gamma * dy`,

        dx     = rstd * (wdy - mean(wdy) - xhat * mean(wdy * xhat)) + residual_grad
        dgamma = sum over the rows of dy * xhat,  dbeta = sum of dy

    `x` is what the forward normalised (`x + residual` when it had one).
    `mean` and `rstd` are those the forward saved (`return_statistics`), or
    both None to recompute them from x with `eps`. Returns `(dx, dgamma,
    dbeta)`, None for any not asked for; dgamma and dbeta have gamma's dtype
    (x's without gamma), summed in f32 (f64 for f64) in a fixed order."""
    return _run_backward("layer_norm", dy, x, mean, rstd, gamma, eps, axis,
                         residual_grad, (dx, dgamma, dbeta), pipeline)


def rms_norm_backward(dy, x, rstd=None, gamma=None, *, eps=1e-6, axis=-1,
                      residual_grad=None, dx=True, dgamma=True, pipeline=None):
    """The gradients of `rms_norm`: with `xhat = x * rstd`, `wdy = gamma * dy`,
    `dx = rstd * (wdy - xhat * mean(wdy * xhat)) + residual_grad` and
    `dgamma = sum over the rows of dy * xhat`. Returns `(dx, dgamma)`;
    otherwise as `layer_norm_backward`."""
    return _run_backward("rms_norm", dy, x, None, rstd, gamma, eps, axis,
                         residual_grad, (dx, dgamma, False), pipeline)[:2]

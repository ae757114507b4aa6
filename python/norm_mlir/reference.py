"""Float64 reference semantics of norm.layer_norm / norm.rms_norm.

Every lowering is checked against these functions (see shared tolerances).
Inputs are taken as already rounded to their element type; everything is
computed in float64.
"""

import numpy as np

# Element types and bit patterns live in norm_mlir.core.types; these names
# stay here for the code that reads them from the reference.
from norm_mlir.core.types import (  # noqa: F401
    F8E4M3FN_MAX, FLOAT_TYPES, QUANTIZED_TYPES, bf16_bits_to_float,
    f8e4m3fn_bits_to_float, float_to_bf16_bits, float_to_f8e4m3fn_bits,
    from_int_bits, to_bits)


def round_to(values, dtype):
    """Rounds float values to `dtype` (round to nearest even), as float64."""
    values = np.asarray(values, dtype=np.float64)
    if dtype == "f64":
        return values.copy()
    if dtype == "f32":
        return values.astype(np.float32).astype(np.float64)
    if dtype == "f16":
        return values.astype(np.float16).astype(np.float64)
    if dtype == "bf16":
        return bf16_bits_to_float(float_to_bf16_bits(values))
    raise ValueError(f"unsupported element type {dtype}")


def quantize(values, dtype, scale):
    """The quantised output for float64 normalised values: `values / scale`
    saturated and rounded to `dtype` (i8: half to even, NaN -> 0; f8E4M3FN:
    nearest even, NaN stays NaN). Returns float64 in quantised units."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        scaled = np.asarray(values, np.float64) / scale
    if dtype == "i8":
        q = np.clip(np.round(scaled), -128, 127)  # np.round: half to even
        return np.where(np.isnan(q), 0.0, q)
    if dtype == "f8E4M3FN":
        clamped = np.clip(scaled, -F8E4M3FN_MAX, F8E4M3FN_MAX)
        return f8e4m3fn_bits_to_float(float_to_f8e4m3fn_bits(clamped))
    raise ValueError(f"{dtype} is not a quantised type")


def quantization_step(quantized, dtype):
    """One quantisation step at each (quantised) value: 1 for i8, the
    f8E4M3FN spacing at |value| otherwise."""
    quantized = np.asarray(quantized, np.float64)
    if dtype == "i8":
        return np.ones(quantized.shape)
    magnitude = np.abs(np.nan_to_num(quantized))
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.maximum(magnitude, 2.0 ** -6)))
    return np.exp2(exponent - 3)


def quantized_maximum(dtype):
    """qmax of a quantised type: 127 for i8, 448 for f8E4M3FN."""
    if dtype == "i8":
        return 127.0
    if dtype == "f8E4M3FN":
        return F8E4M3FN_MAX
    raise ValueError(f"{dtype} is not a quantised type")


def dynamic_scales(values, dtype, group_size=0, min_scale=0.0, scale_ub=None):
    """The dynamic quantisation scales of float64 normalised `values`
    (normalised over the last dim): per row, or per group of `group_size`
    consecutive elements of a row, `min(max(amax / qmax, min_scale),
    scale_ub)`, NaN where the row or group holds a NaN. Returns float64,
    shaped like the rows (per row) or `rows x N/G`."""
    values = np.asarray(values, np.float64)
    n = values.shape[-1]
    g = group_size or n
    groups = values.reshape(values.shape[:-1] + (n // g, g))
    with np.errstate(invalid="ignore"):
        amax = np.max(np.abs(groups), axis=-1)  # np.max propagates NaN
        scales = np.maximum(amax / quantized_maximum(dtype), min_scale)
        if scale_ub is not None:
            scales = np.minimum(scales, scale_ub)
    return scales if group_size else scales[..., 0]


def expand_scales(scales, shape, group_size=0):
    """Each element's scale, shaped `shape`, from per-row or per-group
    `scales` (as dynamic_scales returns them)."""
    scales = np.asarray(scales, np.float64)
    if not group_size:
        return np.broadcast_to(scales[..., None], shape)
    return np.repeat(scales, group_size, axis=-1).reshape(shape)


def _normalized_axes(ndim, axis):
    if axis < 0:
        axis += ndim
    if not 0 <= axis < ndim:
        raise ValueError(f"axis {axis} out of range for rank {ndim}")
    return axis, tuple(range(axis, ndim))


def _combine(x, residual, in_dtype):
    """h = x + residual rounded to the input type (what residual_out holds)."""
    if residual is None:
        return np.asarray(x, dtype=np.float64)
    return round_to(np.asarray(x, np.float64) + np.asarray(residual, np.float64),
                    in_dtype)


def layer_norm(x, gamma=None, beta=None, eps=1e-5, axis=-1, residual=None,
               in_dtype="f32"):
    """Reference LayerNorm. Returns a dict with out, residual_out, mean, rstd
    (mean and rstd shaped like the leading row dims)."""
    h = _combine(x, residual, in_dtype)
    axis, axes = _normalized_axes(h.ndim, axis)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        mean = h.mean(axis=axes, keepdims=True)
        # One refinement step: float64 data has no wider type to sum in, and
        # sum(h) / N of a constant row can miss the constant by an ulp; the
        # variance would then be ~1e-32 instead of 0, which a tiny eps
        # (1e-40) exposes as an rstd 10^4 too small. The mean of h - mean
        # (exact for such a row) corrects it; rows with inf or NaN keep
        # their IEEE mean.
        correction = (h - mean).mean(axis=axes, keepdims=True)
        mean = np.where(np.isfinite(correction), mean + correction, mean)
        var = ((h - mean) ** 2).mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
        out = (h - mean) * rstd
    if gamma is not None:
        out = out * np.asarray(gamma, np.float64)
    if beta is not None:
        out = out + np.asarray(beta, np.float64)
    return {"out": out, "residual_out": h,
            "mean": mean.reshape(h.shape[:axis]),
            "rstd": rstd.reshape(h.shape[:axis])}


def rms_norm(x, gamma=None, eps=1e-6, axis=-1, residual=None, in_dtype="f32"):
    """Reference RMSNorm (Zhang & Sennrich 2019). A row holding inf or NaN is
    all NaN (its mean square is not finite)."""
    h = _combine(x, residual, in_dtype)
    axis, axes = _normalized_axes(h.ndim, axis)
    with np.errstate(invalid="ignore", over="ignore"):
        ms = (h * h).mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(ms + eps)
        rstd = np.where(np.isfinite(ms), rstd, np.nan)
        out = h * rstd
    if gamma is not None:
        out = out * np.asarray(gamma, np.float64)
    return {"out": out, "residual_out": h, "rstd": rstd.reshape(h.shape[:axis])}


def ulp(values, dtype):
    """The spacing of `dtype` at |values|."""
    values = np.abs(np.asarray(values, np.float64))
    mantissa_bits = {"f64": 52, "f32": 23, "f16": 10, "bf16": 7}[dtype]
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.maximum(values, np.finfo(np.float64).tiny)))
    return np.exp2(exponent - mantissa_bits)


def output_tolerance(ref, out_dtype, n, data="normal", gamma=None):
    """Absolute tolerance per element for a normalised output, following
    docs/Tolerances.md."""
    scale = 1.0
    if gamma is not None and np.size(gamma):
        scale = max(1.0, float(np.max(np.abs(gamma))))
    ref = np.asarray(ref, np.float64)
    if out_dtype in ("f32", "f64"):
        if data == "large_mean":
            tol = 5e-3
        else:
            tol = 1e-5 * max(1.0, float(np.log2(max(n, 1))))
        return np.full(ref.shape, tol * scale)
    # Two ulp of the output type at max(1, |ref|), plus the f32 compute error.
    base = np.maximum(np.abs(np.nan_to_num(ref)), 1.0)
    return 2.0 * ulp(base, out_dtype) * scale


def _row_mean(values, axes):
    return values.mean(axis=axes, keepdims=True)


def norm_backward(op, dy, x, gamma=None, mean=None, rstd=None, eps=1e-5,
                  axis=-1, residual_grad=None, in_dtype="f32"):
    """Reference gradients of `op` ("layer_norm" or "rms_norm") in float64,
    torch's native_layer_norm_backward semantics: with xhat the normalised x
    and wdy = gamma * dy,

        dx     = rstd (wdy - mean(wdy) - xhat mean(wdy xhat)) (+ residual_grad)
        dgamma = sum over the rows of dy xhat,  dbeta = sum over rows of dy

    (RMSNorm: no mean(wdy) term, xhat = x rstd). `mean` and `rstd` are the
    saved statistics (any float arrays shaped like the row dims), or None
    to recompute them here from x with `eps`. Returns a dict of dx, dgamma,
    dbeta (dbeta None for RMSNorm)."""
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    axis, axes = _normalized_axes(x.ndim, axis)
    row_shape = x.shape[:axis] + (1,) * (x.ndim - axis)
    if rstd is None:
        stats = (layer_norm if op == "layer_norm" else rms_norm)(
            x, eps=eps, axis=axis, in_dtype=in_dtype)
        mean = stats.get("mean")
        rstd = stats["rstd"]
    rstd = np.asarray(rstd, np.float64).reshape(row_shape)
    if op == "layer_norm":
        xhat = (x - np.asarray(mean, np.float64).reshape(row_shape)) * rstd
    else:
        xhat = x * rstd
    wdy = dy * np.asarray(gamma, np.float64) if gamma is not None else dy
    projection = xhat * _row_mean(wdy * xhat, axes)
    inner = wdy - projection
    magnitude = np.abs(wdy) + np.abs(projection)
    if op == "layer_norm":
        mean_wdy = _row_mean(wdy, axes)
        inner = inner - mean_wdy
        magnitude = magnitude + np.abs(mean_wdy)
    dx = rstd * inner
    if residual_grad is not None:
        dx = dx + np.asarray(residual_grad, np.float64)
    rows = tuple(range(axis))
    # `dx_scale`: the size of the terms dx is the difference of, which
    # bounds its rounding error where they cancel (a row of 2 elements has
    # dx = 0 made of terms of size rstd).
    return {"dx": dx, "dx_scale": np.abs(rstd) * magnitude,
            "dgamma": (dy * xhat).sum(axis=rows),
            "dbeta": dy.sum(axis=rows) if op == "layer_norm" else None}


def gradient_tolerance(ref, dtype, n=None, m=None, terms=None):
    """Absolute tolerance per element of a gradient, following the gradient
    table of docs/Tolerances.md: dx (`n` elements a row) or, given `m`, a
    sum over m rows (dgamma, dbeta); `dtype` is the output's type. `terms`
    (norm_backward's `dx_scale`) widens the bound where dx is a difference
    of larger terms."""
    ref = np.abs(np.nan_to_num(np.asarray(ref, np.float64)))
    scale = np.maximum(ref, 1.0)
    if terms is not None:
        scale = np.maximum(scale, np.nan_to_num(np.asarray(terms, np.float64)))
    if dtype not in ("f32", "f64"):
        return 2.0 * ulp(scale, dtype)
    if m is None:
        return 1e-5 * max(1.0, float(np.log2(max(n, 1)))) * scale
    absolute = 1e-5 * max(1.0, float(np.log2(max(m, 1)))) * np.sqrt(m)
    return np.maximum(absolute, 1e-4 * ref)

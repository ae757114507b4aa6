"""PyTorch autograd through norm-mlir's kernels.

LayerNorm and RMSNorm as `torch.autograd.Function`s: the forward runs the
JIT-compiled norm kernel and saves its per-row mean and rstd, the backward
runs the gradient kernel (`norm.layer_norm_grad` / `norm.rms_norm_grad`)
on them. Modules that drop in for `torch.nn.LayerNorm` and for a
Llama-style RMSNorm, and functions in the shape of
`torch.nn.functional.layer_norm`:

    import torch, norm_mlir.torch as nt
    ln = nt.LayerNorm(768)                 # weight and bias parameters
    y = ln(x)                              # x: (..., 768), CPU
    y.sum().backward()                     # x.grad, ln.weight.grad, ...

CPU tensors of float32, float64, float16 or bfloat16. `norm_mlir.layer_norm`
and `norm_mlir.rms_norm` come here by themselves when given tensors that
require grad, so that no result is ever cut off from the graph.
"""

import torch

from norm_mlir import norms

__all__ = ["LayerNorm", "RMSNorm", "apply", "layer_norm", "rms_norm"]


def apply(op, x, gamma=None, beta=None, eps=1e-5, axis=-1, residual=None,
          out_dtype=None, pipeline=None):
    """`norm_mlir.<op>` (op "layer_norm" or "rms_norm") with autograd: the
    output, or `(output, x + residual)` with a residual."""
    return norms.autograd_apply(op, x, gamma, beta, eps, axis, residual,
                                out_dtype, pipeline)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5,
               *, residual=None):
    """`torch.nn.functional.layer_norm` through norm-mlir, differentiable."""
    normalized_shape = tuple(normalized_shape)
    axis = input.dim() - len(normalized_shape)
    if tuple(input.shape[axis:]) != normalized_shape:
        raise ValueError(f"norm_mlir.torch.layer_norm: input of shape "
                         f"{tuple(input.shape)} does not end in the "
                         f"normalized shape {normalized_shape}")
    return apply("layer_norm", input, weight, bias, eps, axis, residual)


def rms_norm(input, weight=None, eps=1e-6, *, residual=None, axis=-1):
    """RMSNorm over the last dim (or `[axis, rank)`), differentiable."""
    return apply("rms_norm", input, weight, None, eps, axis, residual)


class LayerNorm(torch.nn.Module):
    """Drops in for `torch.nn.LayerNorm`: the same constructor, parameters
    (`weight`, `bias`) and results, computed by norm-mlir's kernels."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        kwargs = {"device": device, "dtype": dtype}
        if elementwise_affine:
            self.weight = torch.nn.Parameter(
                torch.ones(self.normalized_shape, **kwargs))
            self.bias = torch.nn.Parameter(
                torch.zeros(self.normalized_shape, **kwargs))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias,
                          self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class RMSNorm(torch.nn.Module):
    """Drops in for a Llama-style RMSNorm (`LlamaRMSNorm(hidden_size,
    eps)`): `weight * x * rsqrt(mean(x^2) + eps)` over the last dim, the
    statistics in f32 and the result rounded once."""

    def __init__(self, hidden_size, eps=1e-6, device=None, dtype=None):
        super().__init__()
        self.weight = torch.nn.Parameter(
            torch.ones(hidden_size, device=device, dtype=dtype))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        return rms_norm(hidden_states, self.weight, self.variance_epsilon)

    def extra_repr(self):
        return f"{tuple(self.weight.shape)}, eps={self.variance_epsilon}"


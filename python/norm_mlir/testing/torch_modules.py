"""Reference PyTorch modules that norm_mlir.torch's modules are compared
with (tests, examples): imported only where torch is."""

import torch


class LlamaRMSNorm(torch.nn.Module):
    """Hugging Face's LlamaRMSNorm: the statistics in f32, `x * rsqrt(mean(x^2)
    + eps)` rounded back to the input's type, then times the weight."""

    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        dtype = hidden_states.dtype
        h = hidden_states.to(torch.float32)
        variance = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * h.to(dtype)

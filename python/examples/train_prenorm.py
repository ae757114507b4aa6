#!/usr/bin/env python3
"""Trains a toy pre-norm transformer MLP stack for a few steps twice, from the
same initial weights and data: once with norm_mlir.torch's LayerNorm and
RMSNorm (the norm-mlir kernels forward and backward), once with
torch.nn.LayerNorm and Hugging Face's LlamaRMSNorm written in torch. Prints both
loss curves and checks that they agree.

    PYTHONPATH=python /usr/bin/python3 python/examples/train_prenorm.py [--steps 20]
"""

import argparse
import copy
import sys

import torch

import norm_mlir.torch as nt
from norm_mlir.testing.torch_modules import LlamaRMSNorm


class Block(torch.nn.Module):
    """h + MLP(norm(h)), pre-norm."""

    def __init__(self, hidden, norm):
        super().__init__()
        self.norm = norm
        self.up = torch.nn.Linear(hidden, 4 * hidden)
        self.down = torch.nn.Linear(4 * hidden, hidden)

    def forward(self, h):
        return h + self.down(torch.nn.functional.gelu(self.up(self.norm(h))))


def model(hidden, layers, norms):
    """`layers` blocks alternating LayerNorm and RMSNorm, a final LayerNorm
    and a linear head; `norms` is (LayerNorm class, RMSNorm class)."""
    layer_norm, rms_norm = norms
    blocks = [Block(hidden, layer_norm(hidden) if i % 2 == 0 else
                    rms_norm(hidden)) for i in range(layers)]
    return torch.nn.Sequential(*blocks, layer_norm(hidden),
                               torch.nn.Linear(hidden, 1))


def train(net, data, target, steps, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(net(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    reference = model(args.hidden, args.layers,
                      (torch.nn.LayerNorm, LlamaRMSNorm))
    ours = model(args.hidden, args.layers, (nt.LayerNorm, nt.RMSNorm))
    # Same initial weights: the norm modules share parameter names.
    ours.load_state_dict(copy.deepcopy(reference.state_dict()))
    data = torch.randn(32, 8, args.hidden)
    target = data.sum(-1, keepdim=True).tanh()

    theirs = train(reference, data, target, args.steps, args.lr)
    mine = train(ours, data, target, args.steps, args.lr)
    print("step | torch loss | norm-mlir loss | relative difference")
    worst = 0.0
    for step, (a, b) in enumerate(zip(theirs, mine)):
        difference = abs(a - b) / max(abs(a), 1e-12)
        worst = max(worst, difference)
        print(f"{step:4d} | {a:.7f} | {b:.7f} | {difference:.2e}")
    falling = mine[-1] < mine[0]
    agree = worst <= 1e-4
    print(f"worst relative difference {worst:.2e}; "
          + ("losses agree" if agree else "losses DISAGREE")
          + ("; the loss falls" if falling else "; the loss does NOT fall"))
    return 0 if agree and falling else 1


if __name__ == "__main__":
    sys.exit(main())

"""Whole transformer models in the linalg form torch-mlir emits, for testing
`--norm-capture` and `--norm-fuse` in context.

    python -m norm_mlir.testing.models emit bert --layers 2 > bert.mlir
    python -m norm_mlir.testing.models check bert.mlir [--pipeline cpu]

`emit` writes a model as torch-mlir's TorchToLinalg writes one (each aten op
its own `linalg.generic`, operands with static unit dims read through
constant-0 broadcast maps such as `(d0, d1, d2) -> (0, d1, d2)`, keepdim
statistics, scalar constants captured by the payloads, shape asserts for
dynamic dims), with the parameters as function arguments (as an exported
program lifts them). Two families:

- `bert`: post-norm encoder (HF BertModel without the pooler): embeddings
  plus position embeddings, LayerNorm, then per layer attention, output
  projection `(matmul + bias) + residual`, LayerNorm, GELU (tanh) MLP,
  `(matmul + bias) + residual`, LayerNorm. LayerNorm in torch-mlir's
  `var_mean` form: variance in f64 from an f64 copy of the input, mean in
  f32, eps an f64 constant truncated in the payload. `linalg.matmul` on
  collapsed 2-D views; bias added in 3-D along `d2`. The LayerNorm output
  feeding the attention goes through an identity copy (`aten.clone`).
  2 layers: 5 LayerNorms.
- `gpt2`: pre-norm decoder (HF GPT2Model): per layer ln_1, fused QKV
  projection (Conv1D: `x @ W + b`, written as a `linalg.generic`
  contraction on 2-D views, bias added first), causal softmax attention,
  projection, residual, ln_2, tanh-GELU MLP, residual; then ln_f.
  LayerNorm in the older all-f32 form with statistics broadcast by copy
  generics. 2 layers: 5 LayerNorms.

The first line of an emitted file records the model, so `check` can rebuild
its float64 numpy reference: it runs the file as written through upstream
MLIR's lowering, and after `--norm-capture --norm-fuse` through a norm
pipeline, on the same inputs, and compares both with each other and with
the reference.
"""

import argparse
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, fields

import numpy as np

from norm_mlir.core import tools
from norm_mlir.core.types import mlir_float
from norm_mlir.testing import harness


@dataclass
class ModelConfig:
    model: str = "bert"
    layers: int = 2
    hidden: int = 64
    heads: int = 2
    seq: int = 8
    # Emit the sequence dim as `?` (torch-mlir's dynamic token count).
    dynamic: bool = False
    eps: float = 1e-12
    # The MLP's width; 0: 4 * hidden (BERT, GPT-2).
    intermediate: int = 0
    # Llama only: the RMSNorms' outputs dynamically quantised to int8 and
    # dequantised before the projections (a W8A8 serving engine's
    # activations, as fake quantisation), with one scale a token (0) or a
    # group of this many elements; -1: no quantisation.
    act_quant_group: int = -1

    @property
    def ffn(self):
        return self.intermediate or 4 * self.hidden

    @property
    def head_dim(self):
        return self.hidden // self.heads

    def header(self):
        return "// model: " + " ".join(f"{f.name}={getattr(self, f.name)}"
                                       for f in fields(self))

    @staticmethod
    def parse_header(text):
        m = re.search(r"^// model: (.*)$", text, re.MULTILINE)
        if not m:
            raise ValueError("no '// model:' header")
        values = dict(item.split("=", 1) for item in m.group(1).split())
        config = ModelConfig()
        for f in fields(ModelConfig):
            if f.name in values:
                raw = values[f.name]
                value = (raw == "True") if f.type in (bool, "bool") else \
                    type(getattr(config, f.name))(raw)
                setattr(config, f.name, value)
        return config


def default_config(model, **overrides):
    config = ModelConfig(model=model,
                         eps={"bert": 1e-12, "llama": 1e-6}.get(model, 1e-5))
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    if model == "llama" and not config.intermediate:
        # Llama's SwiGLU width: 8/3 of hidden, rounded up to a multiple of 32.
        config.intermediate = -(-8 * config.hidden // 3 // 32) * 32
    return config


# ---------------------------------------------------------------------------
# Parameters: (name, shape) in argument order, and their values.
# ---------------------------------------------------------------------------

def parameters(config):
    h, f = config.hidden, config.ffn
    if config.model == "llama":
        params = []
        for i in range(config.layers):
            params += [(f"l{i}_attn_norm_g", (h,))]
            params += [(f"l{i}_{proj}_w", (h, h)) for proj in "qkvo"]
            params += [(f"l{i}_ffn_norm_g", (h,)), (f"l{i}_gate_w", (f, h)),
                       (f"l{i}_up_w", (f, h)), (f"l{i}_down_w", (h, f))]
        return params
    params = [("pos", (config.seq, h))]
    if config.model == "bert":
        params += [("emb_ln_g", (h,)), ("emb_ln_b", (h,))]
        for i in range(config.layers):
            for proj in ("q", "k", "v", "o"):
                params += [(f"l{i}_{proj}_w", (h, h)), (f"l{i}_{proj}_b", (h,))]
            params += [(f"l{i}_ln1_g", (h,)), (f"l{i}_ln1_b", (h,)),
                       (f"l{i}_fc1_w", (f, h)), (f"l{i}_fc1_b", (f,)),
                       (f"l{i}_fc2_w", (h, f)), (f"l{i}_fc2_b", (h,)),
                       (f"l{i}_ln2_g", (h,)), (f"l{i}_ln2_b", (h,))]
        return params
    for i in range(config.layers):
        params += [(f"l{i}_ln1_g", (h,)), (f"l{i}_ln1_b", (h,)),
                   (f"l{i}_qkv_w", (h, 3 * h)), (f"l{i}_qkv_b", (3 * h,)),
                   (f"l{i}_proj_w", (h, h)), (f"l{i}_proj_b", (h,)),
                   (f"l{i}_ln2_g", (h,)), (f"l{i}_ln2_b", (h,)),
                   (f"l{i}_fc_w", (h, f)), (f"l{i}_fc_b", (f,)),
                   (f"l{i}_out_w", (f, h)), (f"l{i}_out_b", (h,))]
    params += [("lnf_g", (h,)), ("lnf_b", (h,))]
    return params


def make_inputs(config, rng):
    """{name: float64 array of f32 values}: the input `x` ([1, seq, hidden])
    and every parameter, at the scales of a trained model."""
    values = {"x": rng.standard_normal((1, config.seq, config.hidden))}
    for name, shape in parameters(config):
        if name.endswith("_g"):
            v = rng.uniform(0.5, 1.5, shape)
        elif name.endswith("_b") or name == "pos":
            v = rng.uniform(-0.5, 0.5, shape)
        else:  # Matrices: unit-variance outputs.
            fan_in = shape[1] if config.model in ("bert", "llama") else shape[0]
            v = rng.standard_normal(shape) / np.sqrt(fan_in)
        values[name] = v
    return {k: v.astype(np.float32).astype(np.float64) for k, v in values.items()}


# ---------------------------------------------------------------------------
# The float64 reference.
# ---------------------------------------------------------------------------

def _layer_norm(x, g, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b


def _rms_norm(x, g, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g


def _silu(t):
    return t / (1.0 + np.exp(-t))


# The floor of the activation scales (keeps an all-zero group finite).
_ACT_SCALE_FLOOR = 1e-5


def _act_quant(y, group):
    """int8 dynamic quantisation of `y` (one scale a token for `group`
    0, one a group of `group` elements of the last dim otherwise), then
    dequantisation: the values the projections read."""
    shape = y.shape
    g = y.reshape(shape[:-1] + (-1, group or shape[-1]))
    scale = np.maximum(np.abs(g).max(-1, keepdims=True) / 127.0, _ACT_SCALE_FLOOR)
    q = np.clip(np.round(g / scale), -128, 127)
    return (q * scale).reshape(shape)


def _causal_attention(q, k, v, config):
    """Causal softmax attention of [1, S, H] projections, in float64."""
    s = q.shape[1]
    q, k, v = (_heads(t, config) for t in (q, k, v))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(config.head_dim)
    mask = np.tril(np.ones((s, s), bool))
    probs = _softmax(np.where(mask, scores, np.finfo(np.float32).min))
    return _merge_heads(probs @ v)


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _gelu_tanh(t):
    return 0.5 * t * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (t + 0.044715 * t ** 3)))


def _heads(t, config):
    return t.reshape(1, -1, config.heads, config.head_dim).transpose(0, 2, 1, 3)


def _merge_heads(t):
    return t.transpose(0, 2, 1, 3).reshape(1, t.shape[2], -1)


def reference(config, v):
    """The model's output in float64."""
    s = config.seq
    eps = config.eps
    if config.model == "llama":
        h = v["x"]
        for i in range(config.layers):
            p = lambda n: v[f"l{i}_{n}"]  # noqa: E731
            a = _rms_norm(h, p("attn_norm_g"), eps)
            if config.act_quant_group >= 0:
                a = _act_quant(a, config.act_quant_group)
            q, k, vv = (a @ p(f"{n}_w").T for n in "qkv")
            h = h + _causal_attention(q, k, vv, config) @ p("o_w").T
            m = _rms_norm(h, p("ffn_norm_g"), eps)
            if config.act_quant_group >= 0:
                m = _act_quant(m, config.act_quant_group)
            t = _silu(m @ p("gate_w").T) * (m @ p("up_w").T)
            h = h + t @ p("down_w").T
        return h
    if config.model == "bert":
        gelu = _gelu_tanh
        h = _layer_norm(v["x"] + v["pos"][:s], v["emb_ln_g"], v["emb_ln_b"], eps)
        for i in range(config.layers):
            p = lambda n: v[f"l{i}_{n}"]  # noqa: E731
            q, k, vv = (_heads(h @ p(f"{n}_w").T + p(f"{n}_b"), config)
                        for n in "qkv")
            probs = _softmax(q @ k.transpose(0, 1, 3, 2) / np.sqrt(config.head_dim))
            a = _merge_heads(probs @ vv) @ p("o_w").T + p("o_b")
            h1 = _layer_norm(a + h, p("ln1_g"), p("ln1_b"), eps)
            m = gelu(h1 @ p("fc1_w").T + p("fc1_b")) @ p("fc2_w").T + p("fc2_b")
            h = _layer_norm(m + h1, p("ln2_g"), p("ln2_b"), eps)
        return h
    h = v["x"] + v["pos"][:s]
    mask = np.tril(np.ones((s, s), bool))
    for i in range(config.layers):
        p = lambda n: v[f"l{i}_{n}"]  # noqa: E731
        a = _layer_norm(h, p("ln1_g"), p("ln1_b"), eps)
        qkv = a @ p("qkv_w") + p("qkv_b")
        q, k, vv = (_heads(qkv[..., j * config.hidden:(j + 1) * config.hidden],
                           config) for j in range(3))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(config.head_dim)
        probs = _softmax(np.where(mask, scores, np.finfo(np.float32).min))
        h = h + _merge_heads(probs @ vv) @ p("proj_w") + p("proj_b")
        m = _layer_norm(h, p("ln2_g"), p("ln2_b"), eps)
        t = m @ p("fc_w") + p("fc_b")
        h = h + _gelu_tanh(t) @ p("out_w") + p("out_b")
    return _layer_norm(h, v["lnf_g"], v["lnf_b"], eps)


# ---------------------------------------------------------------------------
# The IR, as TorchToLinalg writes it.
# ---------------------------------------------------------------------------

def _dims(n):
    return ", ".join(f"d{i}" for i in range(n))


class _Writer:
    """Writes one function: SSA names, affine map aliases, and the torch-mlir
    shapes of linalg ops. A shape is a tuple of ints, or "S" for the
    sequence dim (static or `?`)."""

    def __init__(self, config):
        self.config = config
        self.lines = []
        self.maps = {}
        self.count = 0
        self.constants = {}

    def fresh(self):
        self.count += 1
        return f"%{self.count}"

    def emit(self, line):
        self.lines.append("    " + line)

    def map(self, text):
        if text not in self.maps:
            self.maps[text] = f"#map{len(self.maps)}" if self.maps else "#map"
        return self.maps[text]

    def const(self, value, type_):
        key = (repr(value), type_)
        if key not in self.constants:
            name = f"%cst_{len(self.constants)}"
            self.constants[key] = name
        return self.constants[key]

    def size(self, d):
        if d == "S":
            return "?" if self.config.dynamic else str(self.config.seq)
        return str(d)

    def type(self, shape, dtype="f32"):
        return "tensor<" + "".join(self.size(d) + "x" for d in shape) + dtype + ">"

    def memref_type(self, shape, dtype="f32"):
        return "memref<" + "".join(self.size(d) + "x" for d in shape) + dtype + ">"

    def empty(self, shape, dtype="f32"):
        name = self.fresh()
        dyn = ["%seq" for d in shape if d == "S" and self.config.dynamic]
        self.emit(f"{name} = tensor.empty({', '.join(dyn)}) : {self.type(shape, dtype)}")
        return name

    def is_unit(self, d):
        return d == 1

    def broadcast_map(self, shape, rank):
        """torch-mlir's read of an operand of `shape` in a rank-`rank` loop
        nest: trailing alignment, constant 0 for static unit dims."""
        offset = rank - len(shape)
        results = ["0" if self.is_unit(d) else f"d{i + offset}"
                   for i, d in enumerate(shape)]
        return self.map(f"({_dims(rank)}) -> ({', '.join(results)})")

    def generic(self, ins, out_shape, body, out_dtype="f32", init=None,
                reduce_last=False, in_maps=None):
        """A linalg.generic over `out_shape` (plus a reduced last dim when
        `reduce_last`, the output then keeping it as size 1). `ins` are
        (value, shape, dtype); `body(args)` returns payload lines and the
        yielded value, `args` being the block arguments."""
        rank = len(out_shape)
        if in_maps is None:
            if reduce_last:
                in_maps = [self.map(f"({_dims(rank)}) -> ({_dims(rank)})")] * len(ins)
            else:
                in_maps = [self.broadcast_map(s, rank) for _, s, _ in ins]
        if reduce_last:
            out_map = self.map(f"({_dims(rank)}) -> ({_dims(rank - 1)}, 0)")
            iterators = ", ".join(['"parallel"'] * (rank - 1) + ['"reduction"'])
            result_shape = tuple(out_shape[:-1]) + (1,)
        else:
            out_map = self.map(f"({_dims(rank)}) -> ({_dims(rank)})")
            iterators = ", ".join(['"parallel"'] * rank)
            result_shape = tuple(out_shape)
        if init is None:
            init = self.empty(result_shape, out_dtype)
        name = self.fresh()
        args = [f"%in{'_' + str(i) if i else ''}" for i in range(len(ins))] + ["%out"]
        ins_text = ", ".join(v for v, _, _ in ins)
        ins_types = ", ".join(self.type(s, t) for _, s, t in ins)
        rtype = self.type(result_shape, out_dtype)
        self.emit(f"{name} = linalg.generic {{indexing_maps = "
                  f"[{', '.join(in_maps + [out_map])}], iterator_types = [{iterators}]}} "
                  f"ins({ins_text} : {ins_types}) outs({init} : {rtype}) {{")
        block_types = [t for _, _, t in ins] + [out_dtype]
        self.lines.append("    ^bb0(" + ", ".join(
            f"{a}: {t}" for a, t in zip(args, block_types)) + "):")
        payload, result = body(args)
        for line in payload:
            self.emit("  " + line)
        self.emit(f"  linalg.yield {result} : {out_dtype}")
        self.emit(f"}} -> {rtype}")
        return name

    def unary(self, x, shape, op, out_dtype="f32", in_dtype="f32"):
        def body(a):
            return [f"%r = {op(a[0])}"], "%r"
        return self.generic([(x, shape, in_dtype)], shape, body, out_dtype)

    def binary(self, a, a_shape, b, b_shape, op, out_shape, dtype="f32"):
        def body(args):
            return [f"%r = {op} {args[0]}, {args[1]} : {dtype}"], "%r"
        return self.generic([(a, a_shape, dtype), (b, b_shape, dtype)], out_shape,
                            body, dtype)

    def fill(self, value, shape, dtype="f32", style="fill"):
        cst = self.const(value, dtype)
        init = self.empty(shape, dtype)
        name = self.fresh()
        if style == "fill":
            self.emit(f"{name} = linalg.fill ins({cst} : {dtype}) outs({init} : "
                      f"{self.type(shape, dtype)}) -> {self.type(shape, dtype)}")
            return name
        rank = len(shape)
        iterators = ", ".join(['"parallel"'] * rank)
        self.emit(f"{name} = linalg.generic {{indexing_maps = "
                  f"[{self.map(f'({_dims(rank)}) -> ()')}, "
                  f"{self.map(f'({_dims(rank)}) -> ({_dims(rank)})')}], "
                  f"iterator_types = [{iterators}]}} "
                  f"ins({cst} : {dtype}) outs({init} : {self.type(shape, dtype)}) {{")
        self.lines.append(f"    ^bb0(%in: {dtype}, %out: {dtype}):")
        self.emit(f"  linalg.yield %in : {dtype}")
        self.emit(f"}} -> {self.type(shape, dtype)}")
        return name

    def reduce_sum(self, x, shape, dtype="f32", fill_style="fill"):
        acc = self.fill(0.0, tuple(shape[:-1]) + (1,), dtype, fill_style)

        def body(a):
            return [f"%r = arith.addf {a[0]}, {a[1]} : {dtype}"], "%r"
        return self.generic([(x, shape, dtype)], shape, body, dtype, init=acc,
                            reduce_last=True)

    def reduce_max(self, x, shape):
        acc = self.fill(float("-inf"), tuple(shape[:-1]) + (1,))

        def body(a):
            return [f"%r = arith.maximumf {a[0]}, {a[1]} : f32"], "%r"
        return self.generic([(x, shape, "f32")], shape, body, init=acc,
                            reduce_last=True)

    def expand(self, x, groups, from_shape, to_shape):
        name = self.fresh()
        out = ", ".join("%seq" if d == "S" and self.config.dynamic else
                        self.size(d) for d in to_shape)
        self.emit(f"{name} = tensor.expand_shape {x} {groups} output_shape [{out}] "
                  f": {self.type(from_shape)} into {self.type(to_shape)}")
        return name

    def collapse(self, x, groups, from_shape, to_shape):
        name = self.fresh()
        self.emit(f"{name} = tensor.collapse_shape {x} {groups} : "
                  f"{self.type(from_shape)} into {self.type(to_shape)}")
        return name

    def transpose_copy(self, x, shape, perm):
        """aten.permute / aten.t: a copy generic reading through the
        permutation."""
        rank = len(shape)
        out_shape = tuple(shape[p] for p in perm)
        # out[i] = in[j] where perm[i] = j: the input is read at the loops
        # placed by the inverse permutation.
        inverse = [0] * rank
        for i, p in enumerate(perm):
            inverse[p] = i
        in_map = self.map(f"({_dims(rank)}) -> "
                          f"({', '.join(f'd{inverse[j]}' for j in range(rank))})")
        return self.generic([(x, shape, "f32")], out_shape,
                            lambda a: ([], a[0]), in_maps=[in_map]), out_shape


def _layer_norm_f32(w, x, shape, g, b):
    """Older torch-mlir (aten.native_layer_norm decomposed in f32): mean and
    variance as sum / N, statistics broadcast to full size by copy
    generics, eps an f64 constant truncated in the payload."""
    n = w.const(float(w.config.hidden), "f32")
    eps = w.const(w.config.eps, "f64")
    stat = tuple(shape[:-1]) + (1,)

    def divide(v):
        return w.generic([(v, stat, "f32")], stat,
                         lambda a: ([f"%r = arith.divf {a[0]}, {n} : f32"], "%r"))

    def widen(v):
        rank = len(shape)
        in_map = w.map(f"({_dims(rank)}) -> ({_dims(rank - 1)}, 0)")
        return w.generic([(v, stat, "f32")], shape, lambda a: ([], a[0]),
                         in_maps=[in_map])

    mean = widen(divide(w.reduce_sum(x, shape, fill_style="generic")))
    centred = w.binary(x, shape, mean, shape, "arith.subf", shape)
    square = w.binary(centred, shape, centred, shape, "arith.mulf", shape)
    var = divide(w.reduce_sum(square, shape, fill_style="generic"))
    plus = w.generic([(var, stat, "f32")], stat, lambda a: (
        [f"%e = arith.truncf {eps} : f64 to f32",
         f"%r = arith.addf {a[0]}, %e : f32"], "%r"))
    rstd = widen(w.unary(plus, stat, lambda v: f"math.rsqrt {v} : f32"))
    y = w.binary(centred, shape, rstd, shape, "arith.mulf", shape)
    y = w.binary(y, shape, g, (w.config.hidden,), "arith.mulf", shape)
    return w.binary(y, shape, b, (w.config.hidden,), "arith.addf", shape)


def _layer_norm_var_mean(w, x, shape, g, b):
    """Newer torch-mlir (aten.var_mean upcast to f64): the variance from an
    f64 copy of the input, truncated to f32; the mean again in f32 for the
    centring; statistics read through (0, d1, 0) maps."""
    n64 = w.const(float(w.config.hidden), "f64")
    n32 = w.const(float(w.config.hidden), "f32")
    eps = w.const(w.config.eps, "f64")
    stat = tuple(shape[:-1]) + (1,)
    wide = w.unary(x, shape, lambda v: f"arith.extf {v} : f32 to f64", "f64")
    mean64 = w.generic([(w.reduce_sum(wide, shape, "f64"), stat, "f64")], stat,
                       lambda a: ([f"%r = arith.divf {a[0]}, {n64} : f64"], "%r"),
                       "f64")
    centred64 = w.binary(wide, shape, mean64, stat, "arith.subf", shape, "f64")
    square = w.binary(centred64, shape, centred64, shape, "arith.mulf", shape, "f64")
    var64 = w.generic([(w.reduce_sum(square, shape, "f64"), stat, "f64")], stat,
                      lambda a: ([f"%r = arith.divf {a[0]}, {n64} : f64"], "%r"),
                      "f64")
    var = w.unary(var64, stat, lambda v: f"arith.truncf {v} : f64 to f32",
                  in_dtype="f64")
    mean = w.generic([(w.reduce_sum(x, shape), stat, "f32")], stat,
                     lambda a: ([f"%r = arith.divf {a[0]}, {n32} : f32"], "%r"))
    plus = w.generic([(var, stat, "f32")], stat, lambda a: (
        [f"%e = arith.truncf {eps} : f64 to f32",
         f"%r = arith.addf {a[0]}, %e : f32"], "%r"))
    rstd = w.unary(plus, stat, lambda v: f"math.rsqrt {v} : f32")
    centred = w.binary(x, shape, mean, stat, "arith.subf", shape)
    y = w.binary(centred, shape, rstd, stat, "arith.mulf", shape)
    y = w.binary(y, shape, g, (w.config.hidden,), "arith.mulf", shape)
    return w.binary(y, shape, b, (w.config.hidden,), "arith.addf", shape)


def _linear_bert(w, x, weight, bias, n_in, n_out):
    """aten.linear: weight transposed by a copy generic, `linalg.matmul` on
    the collapsed [S, in] view, expanded back, bias added in 3-D."""
    wt, _ = w.transpose_copy(weight, (n_out, n_in), (1, 0))
    x2 = w.collapse(x, "[[0, 1], [2]]", (1, "S", n_in), ("S", n_in))
    acc = w.fill(0.0, ("S", n_out))
    mm = w.fresh()
    w.emit(f"{mm} = linalg.matmul ins({x2}, {wt} : {w.type(('S', n_in))}, "
           f"{w.type((n_in, n_out))}) outs({acc} : {w.type(('S', n_out))}) -> "
           f"{w.type(('S', n_out))}")
    y = w.expand(mm, "[[0, 1], [2]]", ("S", n_out), (1, "S", n_out))
    return w.binary(y, (1, "S", n_out), bias, (n_out,), "arith.addf", (1, "S", n_out))


def _conv1d_gpt2(w, x, weight, bias, n_in, n_out):
    """HF Conv1D (`x @ W + b`) as older torch-mlir wrote aten.addmm: a
    contraction generic on the collapsed view, the bias added first."""
    x2 = w.collapse(x, "[[0, 1], [2]]", (1, "S", n_in), ("S", n_in))
    acc = w.fill(0.0, ("S", n_out), style="generic")
    maps = [w.map("(d0, d1, d2) -> (d0, d2)"), w.map("(d0, d1, d2) -> (d2, d1)")]
    out_map = w.map("(d0, d1, d2) -> (d0, d1)")
    mm = w.fresh()
    w.emit(f"{mm} = linalg.generic {{indexing_maps = [{maps[0]}, {maps[1]}, {out_map}], "
           'iterator_types = ["parallel", "parallel", "reduction"]} '
           f"ins({x2}, {weight} : {w.type(('S', n_in))}, {w.type((n_in, n_out))}) "
           f"outs({acc} : {w.type(('S', n_out))}) {{")
    w.lines.append("    ^bb0(%in: f32, %in_0: f32, %out: f32):")
    w.emit("  %r = arith.mulf %in, %in_0 : f32")
    w.emit("  %s = arith.addf %out, %r : f32")
    w.emit("  linalg.yield %s : f32")
    w.emit(f"}} -> {w.type(('S', n_out))}")
    y = w.binary(bias, (n_out,), mm, ("S", n_out), "arith.addf", ("S", n_out))
    return w.expand(y, "[[0, 1], [2]]", ("S", n_out), (1, "S", n_out))


def _attention(w, q, k, v, causal):
    """Scaled dot-product attention on [1, S, H] projections: heads split
    by expand_shape and permuted by copy generics, `linalg.batch_matmul`,
    softmax as max, subtract, exp, sum, divide (masked first if causal)."""
    c = w.config
    hd, nh = c.head_dim, c.heads
    full4 = (1, "S", nh, hd)

    def heads(t, perm):
        t4 = w.expand(t, "[[0], [1], [2, 3]]", (1, "S", c.hidden), full4)
        tt, shape = w.transpose_copy(t4, full4, perm)
        return w.collapse(tt, "[[0, 1], [2], [3]]", shape, shape[1:]), shape[1:]

    q3, qs = heads(q, (0, 2, 1, 3))
    k3, ks = heads(k, (0, 2, 3, 1))
    v3, vs = heads(v, (0, 2, 1, 3))

    def bmm(a, a_shape, b, b_shape, out_shape):
        acc = w.fill(0.0, out_shape)
        r = w.fresh()
        w.emit(f"{r} = linalg.batch_matmul ins({a}, {b} : {w.type(a_shape)}, "
               f"{w.type(b_shape)}) outs({acc} : {w.type(out_shape)}) -> "
               f"{w.type(out_shape)}")
        return r

    s_shape = (nh, "S", "S")
    scores = bmm(q3, qs, k3, ks, s_shape)
    scale = w.const(float(np.sqrt(hd)), "f32")
    scores = w.generic([(scores, s_shape, "f32")], s_shape,
                       lambda a: ([f"%r = arith.divf {a[0]}, {scale} : f32"], "%r"))
    if causal:
        lowest = w.const(float(np.finfo(np.float32).min), "f32")
        scores = w.generic([(scores, s_shape, "f32")], s_shape, lambda a: (
            ["%i = linalg.index 1 : index", "%j = linalg.index 2 : index",
             "%keep = arith.cmpi ule, %j, %i : index",
             f"%r = arith.select %keep, {a[0]}, {lowest} : f32"], "%r"))
    peak = w.reduce_max(scores, s_shape)
    shifted = w.binary(scores, s_shape, peak, (nh, "S", 1), "arith.subf", s_shape)
    e = w.unary(shifted, s_shape, lambda x: f"math.exp {x} : f32")
    total = w.reduce_sum(e, s_shape)
    probs = w.binary(e, s_shape, total, (nh, "S", 1), "arith.divf", s_shape)
    ctx = bmm(probs, s_shape, v3, vs, (nh, "S", hd))
    ctx4 = w.expand(ctx, "[[0, 1], [2], [3]]", (nh, "S", hd), (1, nh, "S", hd))
    merged, shape = w.transpose_copy(ctx4, (1, nh, "S", hd), (0, 2, 1, 3))
    return w.collapse(merged, "[[0], [1], [2, 3]]", shape, (1, "S", c.hidden))


def _rms_norm_llama(w, x, shape, g):
    """HF LlamaRMSNorm as torch-mlir writes it: `pow(2)` as math.powf with
    an f64 exponent truncated in the payload, mean(-1, keepdim) as sum and
    divide, eps an f64 constant, rsqrt, `hidden * rstd` read through
    (0, d1, 0), then `weight * hidden`."""
    n = w.const(float(w.config.hidden), "f32")
    two = w.const(2.0, "f64")
    eps = w.const(w.config.eps, "f64")
    stat = tuple(shape[:-1]) + (1,)
    square = w.generic([(x, shape, "f32")], shape, lambda a: (
        [f"%e = arith.truncf {two} : f64 to f32",
         f"%r = math.powf {a[0]}, %e : f32"], "%r"))
    mean = w.generic([(w.reduce_sum(square, shape), stat, "f32")], stat,
                     lambda a: ([f"%r = arith.divf {a[0]}, {n} : f32"], "%r"))
    plus = w.generic([(mean, stat, "f32")], stat, lambda a: (
        [f"%e = arith.truncf {eps} : f64 to f32",
         f"%r = arith.addf {a[0]}, %e : f32"], "%r"))
    rstd = w.unary(plus, stat, lambda v: f"math.rsqrt {v} : f32")
    y = w.binary(x, shape, rstd, stat, "arith.mulf", shape)
    return w.binary(g, (w.config.hidden,), y, shape, "arith.mulf", shape)


def _act_quant_llama(w, y, shape):
    """int8 dynamic quantisation and dequantisation of the norm output `y`
    as a W8A8 engine's torch code writes it and torch-mlir (then linalg's
    elementwise fusion) lowers it: per group, `y.view(1, S, -1, G)`; `amax
    = y.abs().amax(-1, keepdim=True)` (an absf generic, a max from -inf);
    `scale = torch.maximum(amax / 127, floor)` (two generics);
    `q = torch.minimum(torch.maximum(torch.round(y / scale), -128), 127)
    .to(torch.int8)` (one fused generic); `q.float() * scale`, viewed back."""
    c = w.config
    group = c.act_quant_group
    view = shape
    if group:
        view = tuple(shape[:-1]) + (c.hidden // group, group)
        y = w.expand(y, "[[0], [1], [2, 3]]", shape, view)
    stat = tuple(view[:-1]) + (1,)
    rank = len(view)
    identity = w.map(f"({_dims(rank)}) -> ({_dims(rank)})")
    keep = w.map(f"({_dims(rank)}) -> ({_dims(rank - 1)}, 0)")
    amax = w.reduce_max(w.unary(y, view, lambda v: f"math.absf {v} : f32"), view)
    qmax, floor = w.const(127.0, "f32"), w.const(_ACT_SCALE_FLOOR, "f32")
    lo = w.const(-128.0, "f32")
    scale = w.generic([(amax, stat, "f32")], stat, lambda a: (
        [f"%r = arith.divf {a[0]}, {qmax} : f32"], "%r"))
    scale = w.generic([(scale, stat, "f32")], stat, lambda a: (
        [f"%r = arith.maximumf {a[0]}, {floor} : f32"], "%r"))
    q = w.generic([(y, view, "f32"), (scale, stat, "f32")], view, lambda a: (
        [f"%d = arith.divf {a[0]}, {a[1]} : f32",
         "%n = math.roundeven %d : f32",
         f"%l = arith.maximumf %n, {lo} : f32",
         f"%h = arith.minimumf %l, {qmax} : f32",
         "%r = arith.fptosi %h : f32 to i8"], "%r"),
        out_dtype="i8", in_maps=[identity, keep])
    deq = w.generic([(q, view, "i8"), (scale, stat, "f32")], view, lambda a: (
        [f"%f = arith.sitofp {a[0]} : i8 to f32",
         f"%r = arith.mulf %f, {a[1]} : f32"], "%r"),
        in_maps=[identity, keep])
    if group:
        deq = w.collapse(deq, "[[0], [1], [2, 3]]", view, shape)
    return deq


def _linear_no_bias(w, x, weight, n_in, n_out):
    """aten.linear without bias: the weight transposed by a copy generic,
    `linalg.matmul` on the collapsed [S, in] view, expanded back."""
    wt, _ = w.transpose_copy(weight, (n_out, n_in), (1, 0))
    x2 = w.collapse(x, "[[0, 1], [2]]", (1, "S", n_in), ("S", n_in))
    acc = w.fill(0.0, ("S", n_out))
    mm = w.fresh()
    w.emit(f"{mm} = linalg.matmul ins({x2}, {wt} : {w.type(('S', n_in))}, "
           f"{w.type((n_in, n_out))}) outs({acc} : {w.type(('S', n_out))}) -> "
           f"{w.type(('S', n_out))}")
    return w.expand(mm, "[[0, 1], [2]]", ("S", n_out), (1, "S", n_out))


def _llama_layers(w, x, norms=True, norms_only=False):
    """Pre-norm Llama decoder layers: RMSNorm, Q/K/V projections, causal
    attention, output projection plus residual, RMSNorm, SwiGLU MLP (gate
    and up projections, aten.silu as x * sigmoid(x) in one payload, down
    projection) plus residual. Without `norms`, each RMSNorm is the identity
    (for timing the rest of the layer). With `norms_only`, only the norm
    work of each layer, in the same spellings: h + rms(h) stands for the
    attention's residual sum, then the second RMSNorm of that sum and its
    residual (for timing the norms alone)."""
    c = w.config
    h3 = (1, "S", c.hidden)
    f3 = (1, "S", c.ffn)
    h = x
    for i in range(c.layers):
        p = lambda n: f"%l{i}_{n}"  # noqa: E731
        if norms_only:
            a = _rms_norm_llama(w, h, h3, p("attn_norm_g"))
            h = w.binary(h, h3, a, h3, "arith.addf", h3)
            m = _rms_norm_llama(w, h, h3, p("ffn_norm_g"))
            h = w.binary(h, h3, m, h3, "arith.addf", h3)
            continue
        a = _rms_norm_llama(w, h, h3, p("attn_norm_g")) if norms else h
        if c.act_quant_group >= 0:
            a = _act_quant_llama(w, a, h3)
        q, k, v = (_linear_no_bias(w, a, p(f"{n}_w"), c.hidden, c.hidden)
                   for n in "qkv")
        ctx = _attention(w, q, k, v, causal=True)
        o = _linear_no_bias(w, ctx, p("o_w"), c.hidden, c.hidden)
        h = w.binary(h, h3, o, h3, "arith.addf", h3)
        m = _rms_norm_llama(w, h, h3, p("ffn_norm_g")) if norms else h
        if c.act_quant_group >= 0:
            m = _act_quant_llama(w, m, h3)
        gate = _linear_no_bias(w, m, p("gate_w"), c.hidden, c.ffn)
        up = _linear_no_bias(w, m, p("up_w"), c.hidden, c.ffn)
        one = w.const(1.0, "f32")
        t = w.generic([(gate, f3, "f32"), (up, f3, "f32")], f3, lambda a: (
            [f"%n = arith.negf {a[0]} : f32", "%e = math.exp %n : f32",
             f"%d = arith.addf %e, {one} : f32",
             f"%s = arith.divf {one}, %d : f32",
             f"%g = arith.mulf {a[0]}, %s : f32",
             f"%r = arith.mulf %g, {a[1]} : f32"], "%r"))
        down = _linear_no_bias(w, t, p("down_w"), c.ffn, c.hidden)
        h = w.binary(h, h3, down, h3, "arith.addf", h3)
    return h


def emit(config, abi="tensor", norms=True, norms_only=False):
    """The model as a module of one function `@forward`: on tensors
    (`abi="tensor"`), or taking memrefs read with `bufferization.to_tensor`
    and writing the result into a last `%result` memref argument
    (`abi="kernel"`, callable by the JIT). Without `norms` (Llama only),
    the norms are left out; with `norms_only` (Llama only), everything but
    the norms and their residual sums is: both for timing."""
    c = config
    w = _Writer(c)
    h3 = (1, "S", c.hidden)
    params = [("x", h3)] + list(parameters(c))
    if abi == "kernel":
        args = [f"%{name}_m: {w.memref_type(shape)}" for name, shape in params]
        args.append(f"%result: {w.memref_type(h3)}")
        for name, shape in params:
            w.emit(f"%{name} = bufferization.to_tensor %{name}_m restrict : "
                   f"{w.memref_type(shape)} to {w.type(shape)}")
    else:
        args = [f"%{name}: {w.type(shape)}" for name, shape in params]
    if c.model == "llama":
        if c.dynamic:
            w.emit("%c1 = arith.constant 1 : index")
            w.emit("%seq = tensor.dim %x, %c1 : " + w.type(h3))
        h = _llama_layers(w, "%x", norms, norms_only)
        return _finish_module(w, c, args, h, abi)
    if c.dynamic:
        w.emit("%c1 = arith.constant 1 : index")
        w.emit("%seq = tensor.dim %x, %c1 : " + w.type(h3))
        w.emit(f"%max = arith.constant {c.seq} : index")
        w.emit("%fits = arith.cmpi ule, %seq, %max : index")
        w.emit('cf.assert %fits, "sequence longer than the position table"')
        pos = w.fresh()
        w.emit(f"{pos} = tensor.extract_slice %pos[0, 0] [%seq, {c.hidden}] [1, 1] : "
               f"tensor<{c.seq}x{c.hidden}xf32> to {w.type(('S', c.hidden))}")
    else:
        pos = "%pos"
    emb = w.binary("%x", h3, pos, ("S", c.hidden), "arith.addf", h3)
    if c.model == "bert":
        h = _layer_norm_var_mean(w, emb, h3, "%emb_ln_g", "%emb_ln_b")
        for i in range(c.layers):
            p = lambda n: f"%l{i}_{n}"  # noqa: E731
            # aten.clone of the hidden state feeding the attention.
            hc = w.generic([(h, h3, "f32")], h3, lambda a: ([], a[0]))
            q, k, v = (_linear_bert(w, hc, p(f"{n}_w"), p(f"{n}_b"), c.hidden,
                                    c.hidden) for n in "qkv")
            ctx = _attention(w, q, k, v, causal=False)
            a = _linear_bert(w, ctx, p("o_w"), p("o_b"), c.hidden, c.hidden)
            h1 = _layer_norm_var_mean(
                w, w.binary(a, h3, h, h3, "arith.addf", h3), h3, p("ln1_g"),
                p("ln1_b"))
            f3 = (1, "S", c.ffn)
            t = _linear_bert(w, h1, p("fc1_w"), p("fc1_b"), c.hidden, c.ffn)
            # aten.gelu(approximate="tanh") in one payload (math.erf, the
            # exact form, has no LLVM lowering to run it with).
            k0, k1, k2, k3 = (w.const(v, "f32") for v in (
                0.5, 0.044715, float(np.sqrt(2.0 / np.pi)), 1.0))
            t = w.generic([(t, f3, "f32")], f3, lambda a: (
                [f"%sq = arith.mulf {a[0]}, {a[0]} : f32",
                 f"%cu = arith.mulf %sq, {a[0]} : f32",
                 f"%s = arith.mulf %cu, {k1} : f32",
                 f"%u = arith.addf {a[0]}, %s : f32",
                 f"%v = arith.mulf %u, {k2} : f32", "%th = math.tanh %v : f32",
                 f"%p = arith.addf %th, {k3} : f32",
                 f"%q = arith.mulf {a[0]}, {k0} : f32",
                 "%r = arith.mulf %q, %p : f32"], "%r"))
            m = _linear_bert(w, t, p("fc2_w"), p("fc2_b"), c.ffn, c.hidden)
            h = _layer_norm_var_mean(w, w.binary(m, h3, h1, h3, "arith.addf", h3),
                                     h3, p("ln2_g"), p("ln2_b"))
    else:
        h = emb
        for i in range(c.layers):
            p = lambda n: f"%l{i}_{n}"  # noqa: E731
            a = _layer_norm_f32(w, h, h3, p("ln1_g"), p("ln1_b"))
            qkv = _conv1d_gpt2(w, a, p("qkv_w"), p("qkv_b"), c.hidden, 3 * c.hidden)
            parts = []
            for j in range(3):
                s = w.fresh()
                w.emit(f"{s} = tensor.extract_slice {qkv}[0, 0, {j * c.hidden}] "
                       f"[1, {'%seq' if c.dynamic else c.seq}, {c.hidden}] [1, 1, 1] "
                       f": {w.type((1, 'S', 3 * c.hidden))} to {w.type(h3)}")
                parts.append(s)
            ctx = _attention(w, *parts, causal=True)
            proj = _conv1d_gpt2(w, ctx, p("proj_w"), p("proj_b"), c.hidden, c.hidden)
            h = w.binary(proj, h3, h, h3, "arith.addf", h3)
            m = _layer_norm_f32(w, h, h3, p("ln2_g"), p("ln2_b"))
            f3 = (1, "S", c.ffn)
            t = _conv1d_gpt2(w, m, p("fc_w"), p("fc_b"), c.hidden, c.ffn)
            k0, k1, k2, k3 = (w.const(v, "f32") for v in (
                0.5, 0.044715, float(np.sqrt(2.0 / np.pi)), 1.0))
            three = w.const(3.0, "f32")
            cube = w.unary(t, f3, lambda v: f"math.powf {v}, {three} : f32")
            inner = w.generic([(t, f3, "f32"), (cube, f3, "f32")], f3, lambda a: (
                [f"%s = arith.mulf {a[1]}, {k1} : f32",
                 f"%u = arith.addf {a[0]}, %s : f32",
                 f"%v = arith.mulf %u, {k2} : f32", "%th = math.tanh %v : f32",
                 f"%p = arith.addf %th, {k3} : f32",
                 f"%q = arith.mulf {a[0]}, {k0} : f32",
                 "%r = arith.mulf %q, %p : f32"], "%r"))
            out = _conv1d_gpt2(w, inner, p("out_w"), p("out_b"), c.ffn, c.hidden)
            h = w.binary(h, h3, out, h3, "arith.addf", h3)
        h = _layer_norm_f32(w, h, h3, "%lnf_g", "%lnf_b")

    return _finish_module(w, c, args, h, abi)


def _finish_module(w, c, args, h, abi):
    h3 = (1, "S", c.hidden)
    lines = [c.header(),
             f"// Generated by `python -m norm_mlir.testing.models emit {c.model}"
             f" --layers {c.layers}{' --dynamic' if c.dynamic else ''}`."]
    lines += [f"{alias} = affine_map<{text}>" for text, alias in w.maps.items()]
    lines.append("module {")
    if abi == "kernel":
        lines.append(f"  func.func @forward({', '.join(args)}) {{")
    else:
        lines.append(f"  func.func @forward({', '.join(args)}) -> {w.type(h3)} {{")
    for (value, type_), name in w.constants.items():
        literal = {"inf": "0x7F800000", "-inf": "0xFF800000"}.get(value)
        if literal is None:
            literal = mlir_float(float(value))
        lines.append(f"    {name} = arith.constant {literal} : {type_}")
    lines += w.lines
    if abi == "kernel":
        lines.append(f"    bufferization.materialize_in_destination {h} in restrict "
                     f"writable %result : ({w.type(h3)}, {w.memref_type(h3)}) -> ()")
        lines.append("    return")
    else:
        lines.append(f"    return {h} : {w.type(h3)}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Checking a model file.
# ---------------------------------------------------------------------------

_NORM_OP_RE = re.compile(r"\bnorm\.(layer_norm|rms_norm)\b")


def count_norm_ops(ir):
    return len(_NORM_OP_RE.findall(ir))


def _norm_opt(ir, passes):
    cmd = [tools.norm_opt(), "-"] + list(passes)
    proc = subprocess.run(cmd, input=ir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise harness.HarnessError(" ".join(cmd) + " failed:\n" + proc.stderr[-3000:])
    return proc.stdout


def check(path, pipelines, seed=0, passes=("--norm-capture", "--norm-fuse")):
    """Runs the model file against its float64 reference before and after
    `passes`; returns the number of failures (printing one line per run)."""
    text = open(path).read()
    config = ModelConfig.parse_header(text)
    rng = np.random.default_rng(seed)
    values = make_inputs(config, rng)
    ref = reference(config, values)
    names = ["x"] + [name for name, _ in parameters(config)]
    call = harness.Call("forward", [values[n] for n in names], [],
                        [list(ref.shape)])
    transformed = _norm_opt(text, passes)
    print(f"{count_norm_ops(transformed)} norm ops after {' '.join(passes)}")

    # f32 through a few layers: the original program's own distance from
    # float64 sets the scale; the transformed one may differ from the
    # original by no more than that, plus the norm tolerance.
    (original,), = harness.run_calls(text, [call], "upstream")
    own_error = float(np.max(np.abs(original - ref)))
    bound = 4.0 * own_error + 1e-5 * np.log2(config.hidden)
    failures = 0
    print(f"upstream (original): max |out - float64| = {own_error:.3g}")
    for pipeline in pipelines:
        (actual,), = harness.run_calls(transformed, [call], pipeline)
        diff = float(np.max(np.abs(actual - original)))
        err = float(np.max(np.abs(actual - ref)))
        ok = diff <= bound and np.all(np.isfinite(actual))
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {pipeline}: max |out - original| = "
              f"{diff:.3g}, max |out - float64| = {err:.3g} (bound {bound:.3g})")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("emit", help="write a model's IR to stdout")
    e.add_argument("model", choices=["bert", "gpt2", "llama"])
    e.add_argument("--intermediate", type=int)
    e.add_argument("--layers", type=int)
    e.add_argument("--hidden", type=int)
    e.add_argument("--heads", type=int)
    e.add_argument("--seq", type=int)
    e.add_argument("--dynamic", action="store_true", default=None)
    e.add_argument("--act-quant-group", type=int,
                   help="llama: int8 dynamic quantisation of the norms' "
                   "outputs, a scale a token (0) or a group of this many")
    c = sub.add_parser("check", help="run a model file against its reference")
    c.add_argument("file")
    c.add_argument("--pipeline", action="append", default=[],
                   help="norm pipelines to run the captured model through "
                   "(default: linalg and cpu)")
    c.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "emit":
        config = default_config(args.model, layers=args.layers, hidden=args.hidden,
                                heads=args.heads, seq=args.seq, dynamic=args.dynamic,
                                intermediate=args.intermediate,
                                act_quant_group=args.act_quant_group)
        sys.stdout.write(emit(config))
        return 0
    try:
        return 1 if check(args.file, args.pipeline or ["linalg", "cpu"],
                          args.seed) else 0
    except harness.HarnessError as err:
        print(f"FAIL {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main())

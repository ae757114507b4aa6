"""Element types: their names, how MLIR spells them and types built of them,
how numpy holds them, and their bit patterns.

bf16 values live in uint16 arrays (their bit patterns) and f8E4M3FN values
in uint8 ones. The float64 reference semantics (rounding, quantisation,
LayerNorm and RMSNorm) are in norm_mlir.reference.
"""

import re
from dataclasses import dataclass

import numpy as np

# -- names --------------------------------------------------------------------

#: Float element types a norm op takes and computes on.
FLOAT_TYPES = ("f64", "f32", "f16", "bf16")
#: Quantised output types (they need an out_scale).
QUANTIZED_TYPES = ("i8", "f8E4M3FN")
#: The largest finite f8E4M3FN value.
F8E4M3FN_MAX = 448.0

#: Spellings of the float element types (numpy's, torch's, MLIR's).
DTYPE_NAMES = {
    "f16": "f16", "float16": "f16", "half": "f16",
    "f32": "f32", "float32": "f32", "float": "f32",
    "f64": "f64", "float64": "f64", "double": "f64",
    "bf16": "bf16", "bfloat16": "bf16",
}

# -- numpy storage --------------------------------------------------------------

#: numpy storage of the element types a JIT-compiled function may take.
NUMPY_DTYPES = {
    "f16": np.dtype(np.float16),
    "bf16": np.dtype(np.uint16),
    "f32": np.dtype(np.float32),
    "f64": np.dtype(np.float64),
    "i1": np.dtype(np.bool_),
    "i8": np.dtype(np.int8),
    # f8E4M3FN as its bit patterns (numpy has no fp8 type).
    "f8E4M3FN": np.dtype(np.uint8),
    "i16": np.dtype(np.int16),
    "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64),
    "index": np.dtype(np.int64),
}
#: The float element type held by a numpy dtype (uint16: bf16 bit patterns).
FLOAT_ELEMENT_TYPES = {NUMPY_DTYPES[t]: t for t in ("f16", "f32", "f64", "bf16")}

# The integer type of each element type's bit pattern.
_BIT_TYPES = {"f64": "i64", "f32": "i32", "f16": "i16", "bf16": "i16",
              "i8": "i8", "f8E4M3FN": "i8"}


def bit_type(dtype):
    """The integer type of `dtype`'s bit pattern (f32: i32, bf16: i16, ...);
    KeyError for types without one."""
    return _BIT_TYPES[dtype]


def byte_size(dtype):
    """Bytes per element of `dtype`; KeyError for types without a size."""
    return int(bit_type(dtype)[1:]) // 8


# -- MLIR spellings -------------------------------------------------------------


def mlir_float(value):
    """`value` as an MLIR float literal (always with a '.')."""
    text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")


def shaped_type(kind, shape, dtype, dynamic=False):
    """`tensor<4x?xf32>` / `memref<...>`: `kind` of `shape` (None for a
    dynamic dim; every dim with `dynamic`) and element type `dtype`."""
    dims = ["?" if dynamic or d is None else str(d) for d in shape]
    return f"{kind}<{'x'.join(dims + [dtype])}>"


_ELEM_RE = r"(f64|f32|f16|bf16|i8|f8E4M3FN)"


@dataclass
class ArgType:
    """A kernel argument or result type: `tensor<...>`, `memref<...>` or a
    float scalar."""
    text: str
    kind: str  # "tensor", "memref" or "scalar"
    dims: list  # None for dynamic dims
    dtype: str

    @staticmethod
    def parse(text):
        text = text.strip()
        m = re.fullmatch(r"(tensor|memref)<(.*)>", text)
        if not m:
            if re.fullmatch(_ELEM_RE, text):
                return ArgType(text, "scalar", [], text)
            raise ValueError(f"unsupported kernel type {text}")
        kind, body = m.groups()
        body = body.split(",")[0]  # drop a memref layout
        parts = body.split("x")
        dtype = parts[-1]
        if not re.fullmatch(_ELEM_RE, dtype):
            raise ValueError(f"unsupported element type in {text}")
        dims = [None if p == "?" else int(p) for p in parts[:-1]]
        return ArgType(text, kind, dims, dtype)


def split_top_level(text):
    """`text` split at the commas outside brackets (<>, (), [], {})."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return parts


def parse_signature(ir, func):
    """Argument and result types (ArgType) of `func.func @func` in `ir`."""
    m = re.search(r"func\.func\s+(?:public\s+)?@" + re.escape(func) + r"\s*\(", ir)
    if not m:
        raise ValueError(f"no function @{func}")
    i, depth = m.end(), 1
    start = i
    while depth:
        depth += {"(": 1, ")": -1}.get(ir[i], 0)
        i += 1
    args_text = ir[start:i - 1]
    arg_types = []
    for arg in split_top_level(args_text):
        type_text = arg.split(":", 1)[1]
        type_text = re.sub(r"\{.*\}\s*$", "", type_text.strip())
        arg_types.append(ArgType.parse(type_text))
    rest = ir[i:].lstrip()
    results = []
    if rest.startswith("->"):
        rest = rest[2:].lstrip()
        if rest.startswith("("):
            depth, j = 1, 1
            while depth:
                depth += {"(": 1, ")": -1}.get(rest[j], 0)
                j += 1
            results = [ArgType.parse(t) for t in split_top_level(rest[1:j - 1])]
        else:
            results = [ArgType.parse(re.match(r"[^\s{]+", rest).group(0))]
    return arg_types, results


# -- bit patterns ------------------------------------------------------------------


def float_to_bf16_bits(values):
    """The bf16 bit patterns (uint16) of `values`, rounded to nearest even."""
    f32 = np.asarray(values, dtype=np.float64).astype(np.float32)
    bits = f32.view(np.uint32).astype(np.uint64)
    nan = np.isnan(f32)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    rounded = ((bits + rounding) >> 16).astype(np.uint16)
    rounded[nan] = 0x7FC0
    return rounded


def bf16_bits_to_float(bits):
    """Float64 values of bf16 bit patterns."""
    bits = np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16
    return bits.view(np.float32).astype(np.float64)


def f8e4m3fn_bits_to_float(bits):
    """Float64 values of f8E4M3FN bit patterns (bias 7, 3 mantissa bits,
    no infinities, NaN = S.1111.111)."""
    bits = np.asarray(bits, dtype=np.int64) & 0xFF
    sign = np.where(bits & 0x80, -1.0, 1.0)
    exponent = (bits >> 3) & 0xF
    mantissa = (bits & 0x7).astype(np.float64)
    value = np.where(exponent == 0, mantissa * 2.0 ** -9,
                     (1.0 + mantissa / 8.0) * np.exp2(exponent - 7.0))
    value = np.where((bits & 0x7F) == 0x7F, np.nan, value)
    return sign * value


# Every finite non-negative f8E4M3FN value, indexed by its bit pattern.
_F8_GRID = f8e4m3fn_bits_to_float(np.arange(0x7F))


def float_to_f8e4m3fn_bits(values):
    """f8E4M3FN bit patterns of `values`, rounded to nearest even; NaN (0x7F,
    with the sign) for NaN and for magnitudes that round above 448 (the
    format has no infinity), as APFloat converts."""
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    # The largest grid point <= |v| and its successor; pick the nearer, ties
    # to the even bit pattern.
    lower = np.clip(np.searchsorted(_F8_GRID, magnitude, side="right") - 1,
                    0, len(_F8_GRID) - 1)
    upper = lower + 1
    upper_value = np.where(upper < len(_F8_GRID),
                           _F8_GRID[np.minimum(upper, len(_F8_GRID) - 1)],
                           480.0)  # where 0x7F would be, were it a number
    below = magnitude - _F8_GRID[lower]
    above = upper_value - magnitude
    take_upper = (above < below) | ((above == below) & (lower % 2 == 1))
    bits = np.where(take_upper, upper, lower)
    bits = np.where(np.isnan(values) | (bits > 0x7E), 0x7F, bits)
    return (bits | np.where(np.signbit(values), 0x80, 0)).astype(np.int64)


def to_bits(values, dtype):
    """Little-endian raw bytes of `values` stored as `dtype`."""
    if dtype == "f64":
        return np.asarray(values, dtype="<f8").tobytes()
    if dtype == "f32":
        return np.asarray(values, dtype="<f4").tobytes()
    if dtype == "f16":
        return np.asarray(values, dtype="<f2").tobytes()
    if dtype == "bf16":
        return float_to_bf16_bits(values).astype("<u2").tobytes()
    if dtype == "i8":
        return np.asarray(values, dtype=np.float64).astype("<i1").tobytes()
    if dtype == "f8E4M3FN":
        return float_to_f8e4m3fn_bits(values).astype("<u1").tobytes()
    raise ValueError(f"unsupported element type {dtype}")


def from_int_bits(ints, dtype):
    """Float64 values from integer bit patterns (as the harness prints them)."""
    ints = np.asarray(ints, dtype=np.int64)
    if dtype == "f64":
        return ints.view(np.float64).copy()
    if dtype == "f32":
        return ints.astype(np.uint32).view(np.float32).astype(np.float64)
    if dtype == "f16":
        return ints.astype(np.uint16).view(np.float16).astype(np.float64)
    if dtype == "bf16":
        return bf16_bits_to_float(ints.astype(np.uint16))
    if dtype == "i8":
        return (ints & 0xFF).astype(np.uint8).view(np.int8).astype(np.float64)
    if dtype == "f8E4M3FN":
        return f8e4m3fn_bits_to_float(ints)
    raise ValueError(f"unsupported element type {dtype}")


def from_bytes(data, dtype, shape):
    """Float64 values of raw little-endian `data` of element type `dtype`."""
    if dtype == "bf16":
        values = bf16_bits_to_float(np.frombuffer(data, dtype="<u2"))
    elif dtype in QUANTIZED_TYPES:
        values = from_int_bits(np.frombuffer(data, dtype="<u1"), dtype)
    else:
        storage = {"f64": "<f8", "f32": "<f4", "f16": "<f2"}[dtype]
        values = np.frombuffer(data, dtype=storage).astype(np.float64)
    return values.reshape(shape)

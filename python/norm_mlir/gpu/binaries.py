"""Reads the `gpu.binary` ops that --norm-gpu-pipeline produces.

    python -m norm_mlir.gpu.binaries lowered.mlir            # PTX to stdout
    python -m norm_mlir.gpu.binaries lowered.mlir -o k.cubin --module k_kernel

Each `#gpu.object` holds one kernel module as an escaped string: PTX
(`assembly`, format=isa), a cubin or fatbin (`bin`), or LLVM bitcode
(`offload`, format=llvm).
"""

import argparse
import re
import sys
from dataclasses import dataclass

_BINARY_RE = re.compile(r"gpu\.binary\s+@([\w$.]+)")
_OBJECT_RE = re.compile(
    r'#gpu\.object<#nvvm\.target<([^>]*)>(.*?)\b(assembly|bin|offload) = '
    r'"((?:[^"\\]|\\.)*)"', re.S)
_CHIP_RE = re.compile(r'chip = "([^"]+)"')


@dataclass
class GPUObject:
    """One serialised kernel module."""
    module: str  # the gpu.binary symbol, i.e. the outlined gpu.module's name
    chip: str
    kind: str  # "assembly", "bin" or "offload"
    data: bytes


def unescape(text):
    """The bytes of an MLIR string literal body (`\\XX` hex escapes, `\\\\`)."""
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            out += ch.encode("utf-8")
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in '\\"':
            out.append(ord(nxt))
            i += 2
            continue
        out.append(int(text[i + 1:i + 3], 16))
        i += 3
    return bytes(out)


def objects(ir_text):
    """Every object of every `gpu.binary` in `ir_text`, in order."""
    found = []
    starts = [(m.start(), m.group(1)) for m in _BINARY_RE.finditer(ir_text)]
    for index, (start, name) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(ir_text)
        for m in _OBJECT_RE.finditer(ir_text, start, end):
            chip = _CHIP_RE.search(m.group(1))
            found.append(GPUObject(name, chip.group(1) if chip else "",
                                   m.group(3), unescape(m.group(4))))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="output of --norm-gpu-pipeline ('-': stdin)")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    parser.add_argument("--module", help="the gpu.binary to take (default: the "
                        "only one)")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.input == "-" else open(args.input).read()
    found = objects(text)
    if args.module:
        found = [o for o in found if o.module == args.module]
    if len(found) != 1:
        names = ", ".join(o.module for o in found) or "none"
        parser.error(f"expected one gpu.binary object, found {len(found)} "
                     f"({names}); use --module")
    data = found[0].data
    if args.output:
        with open(args.output, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

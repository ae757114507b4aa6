"""Reads the `gpu.binary` ops that --norm-gpu-pipeline produces.

    python -m norm_mlir.gpu.binaries lowered.mlir            # PTX to stdout
    python -m norm_mlir.gpu.binaries lowered.mlir -o k.cubin --module k_kernel
    python -m norm_mlir.gpu.binaries lowered.mlir --ptxas /usr/local/cuda/bin/ptxas

Each `#gpu.object` holds one kernel module as an escaped string: PTX
(`assembly`, format=isa), a cubin (`bin`), a fatbin (no key, format=fatbin)
or LLVM bitcode (`offload`, format=llvm).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

_BINARY_RE = re.compile(r"gpu\.binary\s+@([\w$.]+)")
_OBJECT_RE = re.compile(
    r'#gpu\.object<#nvvm\.target<([^>]*)>(?:, properties = \{[^}]*\})?, '
    r'(?:(assembly|bin|offload) = )?"((?:[^"\\]|\\.)*)"', re.S)
_CHIP_RE = re.compile(r'chip = "([^"]+)"')


@dataclass
class GPUObject:
    """One serialised kernel module."""
    module: str  # the gpu.binary symbol, i.e. the outlined gpu.module's name
    chip: str
    kind: str  # "assembly", "bin", "fatbin" or "offload"
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
                                   m.group(2) or "fatbin", unescape(m.group(3))))
    return found


def ptxas_summary(ptxas, obj):
    """Assembles PTX `obj` for its chip with `ptxas -v`; returns one line:
    registers, stack frame, spill bytes and local memory."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, obj.module + ".ptx")
        with open(path, "wb") as f:
            f.write(obj.data)
        proc = subprocess.run([ptxas, f"-arch={obj.chip}", "-v", path, "-o",
                               os.devnull], capture_output=True, text=True)
    if proc.returncode:
        return f"ptxas {obj.module} {obj.chip}: FAILED\n{proc.stderr}"
    text = proc.stderr

    def number(what):
        m = re.search(r"(\d+) " + what, text)
        return int(m.group(1)) if m else 0
    registers = re.search(r"Used (\d+) registers", text)
    return (f"ptxas {obj.module} {obj.chip}: "
            f"registers {int(registers.group(1)) if registers else 0}, "
            f"stack {number('bytes stack frame')}, "
            f"spill stores {number('bytes spill stores')}, "
            f"spill loads {number('bytes spill loads')}, "
            f"lmem {number('bytes lmem')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="output of --norm-gpu-pipeline ('-': stdin)")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    parser.add_argument("--module", help="the gpu.binary to take (default: the "
                        "only one)")
    parser.add_argument("--ptxas", metavar="PTXAS",
                        help="assemble every PTX object with PTXAS -v and print "
                        "a one-line summary per kernel module")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.input == "-" else open(args.input).read()
    found = objects(text)
    if args.module:
        found = [o for o in found if o.module == args.module]
    if args.ptxas:
        lines = [ptxas_summary(args.ptxas, o) for o in found
                 if o.kind == "assembly"]
        print("\n".join(lines))
        return 1 if not lines or any("FAILED" in l for l in lines) else 0
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

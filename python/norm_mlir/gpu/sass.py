"""Counts the SASS instructions of the kernels in a cubin.

    python -m norm_mlir.gpu.sass kernel.cubin          # one line per kernel

norm_mlir.gpu.budget uses it to hold the benchmark kernels to the
instruction budget of hand-written ones.

The disassemblers of CUDA 11.8 (cuobjdump, nvdisasm) cannot read the cubins
of CUDA 13's ptxas, and CUDA 13's toolkit here has none, so the code is read
raw: a kernel's machine code is the ELF section `.text.<kernel>`, and from
Volta on every instruction is 16 bytes, its opcode in the low 12 bits of the
first 8 (with the guard predicate in bits 12-15). Each kernel ends with its
last EXIT, a branch to itself (the end-of-kernel trap) and NOPs that pad the
section to a 128-byte boundary; those are not instructions the kernel
issues, so they are not counted.

This is a static count: for the held-row kernels, whose loops over a
thread's vectors are unrolled, it is what one thread issues for one row
(both sides of each guard included), so the count divided by the elements
a thread owns is the instructions issued per element.
"""

import argparse
import struct
import sys

_OPCODE_MASK = 0xFFF
NOP = 0x918
BRA = 0x947
EXIT = 0x94D


def _sections(data):
    """(name, offset, size) of every section of the ELF64 image `data`."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError("not an ELF64 file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def header(index):
        base = shoff + index * shentsize
        name, _type, _flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", data, base)
        return name, offset, size

    _, strings_offset, _ = header(shstrndx)
    found = []
    for index in range(shnum):
        name, offset, size = header(index)
        end = data.index(b"\0", strings_offset + name)
        found.append((data[strings_offset + name:end].decode(), offset, size))
    return found


def opcodes(code):
    """The opcode (low 12 bits) of each 16-byte instruction of `code`."""
    return [struct.unpack_from("<Q", code, i)[0] & _OPCODE_MASK
            for i in range(0, len(code) - len(code) % 16, 16)]


def issued_count(ops):
    """The instructions of a kernel's code, without the padding NOPs and the
    branch-to-self after its last EXIT."""
    end = len(ops)
    while end and ops[end - 1] == NOP:
        end -= 1
    if end and ops[end - 1] == BRA and EXIT in ops[:end - 1]:
        end -= 1
    return end


def kernel_instructions(cubin):
    """{kernel name: (instruction count, opcode list)} of the cubin bytes."""
    counts = {}
    for name, offset, size in _sections(cubin):
        if not name.startswith(".text."):
            continue
        ops = opcodes(cubin[offset:offset + size])
        counts[name[len(".text."):]] = (issued_count(ops), ops)
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cubin", nargs="+")
    args = parser.parse_args(argv)
    for path in args.cubin:
        with open(path, "rb") as f:
            data = f.read()
        for name, (count, _) in sorted(kernel_instructions(data).items()):
            print(f"{path}: {name}: {count} instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())

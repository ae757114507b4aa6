"""Scaling of `norm-opt --norm-capture` with the number of norms.

    /usr/bin/python3 bench/capture_scaling.py [--counts 500 1000 2000]
        [--repeat 3] [--out bench/results/capture_scaling.md]

Builds one function holding K independent decomposed norms (cycling through
four spellings: torch-mlir's one-generic-per-step LayerNorm, a fused RMSNorm
generic pair, a TOSA LayerNorm and a linalg named-op RMSNorm), runs
`norm-opt --norm-capture -mlir-timing`, checks that all K were captured, and
reports the pass's own time (best of --repeat) next to the whole run. The
pass time should grow linearly: the last column divides it by K.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from norm_mlir.core import tools  # noqa: E402

MAPS = """#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>
"""


def torch_layer_norm(i):
    return f"""
  %s{i} = linalg.generic {{indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}} ins(%x{i} : tensor<8x256xf32>) outs(%acck : tensor<8x1xf32>) {{
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  }} -> tensor<8x1xf32>
  %m{i} = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}} ins(%s{i} : tensor<8x1xf32>) outs(%ek : tensor<8x1xf32>) {{
  ^bb0(%in: f32, %o: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  }} -> tensor<8x1xf32>
  %c{i} = linalg.generic {{indexing_maps = [#id, #keep, #id], iterator_types = ["parallel", "parallel"]}} ins(%x{i}, %m{i} : tensor<8x256xf32>, tensor<8x1xf32>) outs(%ef : tensor<8x256xf32>) {{
  ^bb0(%in: f32, %mm: f32, %o: f32):
    %0 = arith.subf %in, %mm : f32
    linalg.yield %0 : f32
  }} -> tensor<8x256xf32>
  %q{i} = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}} ins(%c{i} : tensor<8x256xf32>) outs(%ef : tensor<8x256xf32>) {{
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    linalg.yield %0 : f32
  }} -> tensor<8x256xf32>
  %v{i} = linalg.generic {{indexing_maps = [#id, #keep], iterator_types = ["parallel", "reduction"]}} ins(%q{i} : tensor<8x256xf32>) outs(%acck : tensor<8x1xf32>) {{
  ^bb0(%in: f32, %o: f32):
    %0 = arith.addf %in, %o : f32
    linalg.yield %0 : f32
  }} -> tensor<8x1xf32>
  %r{i} = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}} ins(%v{i} : tensor<8x1xf32>) outs(%ek : tensor<8x1xf32>) {{
  ^bb0(%in: f32, %o: f32):
    %0 = arith.divf %in, %n : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    linalg.yield %2 : f32
  }} -> tensor<8x1xf32>
  %y{i} = linalg.generic {{indexing_maps = [#id, #keep, #col, #col, #id], iterator_types = ["parallel", "parallel"]}} ins(%c{i}, %r{i}, %g, %b : tensor<8x256xf32>, tensor<8x1xf32>, tensor<256xf32>, tensor<256xf32>) outs(%ef : tensor<8x256xf32>) {{
  ^bb0(%in: f32, %rr: f32, %w: f32, %bb: f32, %o: f32):
    %0 = arith.mulf %in, %rr : f32
    %1 = arith.mulf %0, %w : f32
    %2 = arith.addf %1, %bb : f32
    linalg.yield %2 : f32
  }} -> tensor<8x256xf32>"""


def fused_rms_norm(i):
    return f"""
  %s{i} = linalg.generic {{indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}} ins(%x{i} : tensor<8x256xf32>) outs(%accr : tensor<8xf32>) {{
  ^bb0(%in: f32, %o: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  }} -> tensor<8xf32>
  %y{i} = linalg.generic {{indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}} ins(%x{i}, %s{i}, %g : tensor<8x256xf32>, tensor<8xf32>, tensor<256xf32>) outs(%ef : tensor<8x256xf32>) {{
  ^bb0(%in: f32, %ss: f32, %w: f32, %o: f32):
    %0 = arith.divf %ss, %n : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %in, %2 : f32
    %4 = arith.mulf %3, %w : f32
    linalg.yield %4 : f32
  }} -> tensor<8x256xf32>"""


def tosa_layer_norm(i):
    return f"""
  %s{i} = tosa.reduce_sum %x{i} {{axis = 1 : i32}} : (tensor<8x256xf32>) -> tensor<8x1xf32>
  %m{i} = tosa.mul %s{i}, %tinv, %shift : (tensor<8x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<8x1xf32>
  %c{i} = tosa.sub %x{i}, %m{i} : (tensor<8x256xf32>, tensor<8x1xf32>) -> tensor<8x256xf32>
  %q{i} = tosa.mul %c{i}, %c{i}, %shift : (tensor<8x256xf32>, tensor<8x256xf32>, tensor<1xi8>) -> tensor<8x256xf32>
  %v{i} = tosa.reduce_sum %q{i} {{axis = 1 : i32}} : (tensor<8x256xf32>) -> tensor<8x1xf32>
  %w{i} = tosa.mul %v{i}, %tinv, %shift : (tensor<8x1xf32>, tensor<1x1xf32>, tensor<1xi8>) -> tensor<8x1xf32>
  %e{i} = tosa.add %w{i}, %teps : (tensor<8x1xf32>, tensor<1x1xf32>) -> tensor<8x1xf32>
  %r{i} = tosa.rsqrt %e{i} : (tensor<8x1xf32>) -> tensor<8x1xf32>
  %n{i} = tosa.mul %c{i}, %r{i}, %shift : (tensor<8x256xf32>, tensor<8x1xf32>, tensor<1xi8>) -> tensor<8x256xf32>
  %t{i} = tosa.mul %n{i}, %tg, %shift : (tensor<8x256xf32>, tensor<1x256xf32>, tensor<1xi8>) -> tensor<8x256xf32>
  %y{i} = tosa.add %t{i}, %tb : (tensor<8x256xf32>, tensor<1x256xf32>) -> tensor<8x256xf32>"""


def named_rms_norm(i):
    return f"""
  %q{i} = linalg.square ins(%x{i} : tensor<8x256xf32>) outs(%ef : tensor<8x256xf32>) -> tensor<8x256xf32>
  %s{i} = linalg.reduce ins(%q{i} : tensor<8x256xf32>) outs(%accr : tensor<8xf32>) dimensions = [1]
    (%in: f32, %init: f32) {{
      %0 = arith.addf %in, %init : f32
      linalg.yield %0 : f32
    }}
  %r{i} = linalg.map ins(%s{i} : tensor<8xf32>) outs(%er : tensor<8xf32>)
    (%in: f32, %init: f32) {{
      %0 = arith.divf %in, %n : f32
      %1 = arith.addf %0, %eps : f32
      %2 = math.rsqrt %1 : f32
      linalg.yield %2 : f32
    }}
  %b{i} = linalg.broadcast ins(%r{i} : tensor<8xf32>) outs(%ef : tensor<8x256xf32>) dimensions = [1]
  %y{i} = linalg.mul ins(%x{i}, %b{i} : tensor<8x256xf32>, tensor<8x256xf32>) outs(%ef : tensor<8x256xf32>) -> tensor<8x256xf32>"""


SPELLINGS = [torch_layer_norm, fused_rms_norm, tosa_layer_norm, named_rms_norm]


def module(count):
    args = ", ".join(f"%x{i}: tensor<8x256xf32>" for i in range(count))
    results = ", ".join("tensor<8x256xf32>" for _ in range(count))
    lines = [MAPS, f"func.func @norms({args}, %g: tensor<256xf32>, %b: tensor<256xf32>) -> ({results}) {{",
             """  %zero = arith.constant 0.0 : f32
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %ek = tensor.empty() : tensor<8x1xf32>
  %er = tensor.empty() : tensor<8xf32>
  %ef = tensor.empty() : tensor<8x256xf32>
  %acck = linalg.fill ins(%zero : f32) outs(%ek : tensor<8x1xf32>) -> tensor<8x1xf32>
  %accr = linalg.fill ins(%zero : f32) outs(%er : tensor<8xf32>) -> tensor<8xf32>
  %shift = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %tinv = "tosa.const"() <{values = dense<3.906250e-03> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %teps = "tosa.const"() <{values = dense<1.0e-05> : tensor<1x1xf32>}> : () -> tensor<1x1xf32>
  %shape = tosa.const_shape {values = dense<[1, 256]> : tensor<2xindex>} : () -> !tosa.shape<2>
  %tg = tosa.reshape %g, %shape : (tensor<256xf32>, !tosa.shape<2>) -> tensor<1x256xf32>
  %tb = tosa.reshape %b, %shape : (tensor<256xf32>, !tosa.shape<2>) -> tensor<1x256xf32>"""]
    for i in range(count):
        lines.append(SPELLINGS[i % len(SPELLINGS)](i))
    lines.append("  return " + ", ".join(f"%y{i}" for i in range(count)) +
                 " : " + results)
    lines.append("}")
    return "\n".join(lines) + "\n"


def run_once(norm_opt, path):
    cmd = [norm_opt, path, "--norm-capture", "-mlir-timing",
           "-mlir-timing-display=list", "-o", os.devnull]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    pass_time = total = None
    for line in proc.stderr.splitlines():
        m = re.match(r"\s*([0-9.]+)\s+\(\s*[0-9.]+%\)\s+(.*\S)\s*$", line)
        if not m:
            continue
        if m.group(2) == "NormCapture":
            pass_time = float(m.group(1))
        elif m.group(2) == "Total":
            total = float(m.group(1))
    return pass_time, total


def count_captured(norm_opt, path):
    proc = subprocess.run([norm_opt, path, "--norm-capture"], capture_output=True,
                          text=True, check=True)
    out = proc.stdout
    return (len(re.findall(r"norm\.(?:layer|rms)_norm", out)),
            len(re.findall(r"tosa\.reduce_sum|linalg\.reduce|\"reduction\"", out)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[500, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="also write the table (Markdown) here")
    parser.add_argument("--norm-opt", default=tools.norm_opt())
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.counts:
            path = os.path.join(tmp, f"norms_{count}.mlir")
            with open(path, "w") as f:
                f.write(module(count))
            captured, left = count_captured(args.norm_opt, path)
            if captured != count or left:
                print(f"FAIL: {count} norms, {captured} captured, {left} reductions left")
                return 1
            runs = [run_once(args.norm_opt, path) for _ in range(args.repeat)]
            best_pass = min(r[0] for r in runs)
            best_total = min(r[1] for r in runs)
            rows.append((count, best_pass, best_total))

    lines = ["| norms | ops in | --norm-capture (s) | whole norm-opt run (s) | pass us / norm |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for count, pass_time, total in rows:
        ops = count * 9  # about 9 ops per norm, averaged over the spellings
        lines.append(f"| {count} | ~{ops} | {pass_time:.3f} | {total:.3f} | "
                     f"{1e6 * pass_time / count:.0f} |")
    base = rows[0]
    ratios = ", ".join(f"{c / base[0]:.0f}x norms: {p / base[1]:.2f}x time"
                       for c, p, _ in rows[1:])
    lines.append("")
    lines.append(f"Pass time relative to {base[0]} norms: {ratios}.")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# `--norm-capture` scaling\n\n")
            f.write("`/usr/bin/python3 bench/capture_scaling.py --out "
                    "bench/results/capture_scaling.md` (one function, K "
                    "independent norms in four spellings; best of "
                    f"{args.repeat}; {os.cpu_count()} CPUs shared).\n\n")
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

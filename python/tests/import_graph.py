"""The import graph of python/norm_mlir and bench/*.py, read from the source
with `ast` (nothing is imported), and the layering it must respect.

    /usr/bin/python3 python/tests/import_graph.py        # layers, edges, problems

Every module belongs to one layer (LAYERS, lowest first); a module may
import modules of its own layer and of the layers its layer lists in
ALLOWED, nothing else. The module graph must have no cycle. Imports inside
functions count as much as top-level ones. Exits non-zero on any problem;
test_layers.py runs the same checks.
"""

import ast
import os
import sys

_TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(_TESTS))
PACKAGE = "norm_mlir"

# (layer, module name prefixes), lowest first. A module takes the layer of
# the longest prefix it matches.
LAYERS = [
    ("core", ["norm_mlir.core"]),
    ("base", ["norm_mlir.reference", "norm_mlir.diagnostics",
              "norm_mlir._capi"]),
    ("api", ["norm_mlir", "norm_mlir.compiler", "norm_mlir.pipelines",
             "norm_mlir.jit", "norm_mlir.norms"]),
    ("gpu-tools", ["norm_mlir.gpu", "norm_mlir.gpu.binaries",
                   "norm_mlir.gpu.emulator"]),
    ("testing", ["norm_mlir.testing"]),
    ("gpu-drivers", ["norm_mlir.gpu.check", "norm_mlir.gpu.device",
                     "norm_mlir.gpu.generate", "norm_mlir.gpu.budget"]),
    ("bench", ["bench"]),
]
# The layers each layer may import, besides its own: those below it, except
# that the public API and the GPU tools are beside each other, neither
# importing the other.
ALLOWED = {
    "core": set(),
    "base": {"core"},
    "api": {"core", "base"},
    "gpu-tools": {"core", "base"},
    "testing": {"core", "base", "api", "gpu-tools"},
    "gpu-drivers": {"core", "base", "api", "gpu-tools", "testing"},
    "bench": {"core", "base", "api", "gpu-tools", "testing", "gpu-drivers"},
}


def modules():
    """{module name: path} of every module of the package and of bench/."""
    found = {}
    package_dir = os.path.join(ROOT, "python", PACKAGE)
    for directory, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        relative = os.path.relpath(directory, os.path.join(ROOT, "python"))
        parts = relative.split(os.sep)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            stem = name[:-3]
            module = ".".join(parts if stem == "__init__" else parts + [stem])
            found[module] = os.path.join(directory, name)
    bench = os.path.join(ROOT, "bench")
    for name in sorted(os.listdir(bench)):
        if name.endswith(".py"):
            found["bench." + name[:-3]] = os.path.join(bench, name)
    return found


def _resolve(name, known):
    """The module `name` refers to, or None when it is not one of ours."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(module, path, known):
    """The modules of `known` that `module` (at `path`) imports."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from a import b` imports the module a.b when there is one.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known
                     else base for alias in node.names]
        else:
            continue
        for name in names:
            if module.startswith("bench.") and "bench." + name in known:
                name = "bench." + name  # bench/ scripts import each other bare.
            target = _resolve(name, known)
            if target and target != module:
                targets.add(target)
    return targets


def graph():
    """{module: set of modules it imports}."""
    known = modules()
    return {m: imports(m, path, known) for m, path in known.items()}


def layer_of(module):
    best, layer = -1, None
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and \
                    len(prefix) > best:
                best, layer = len(prefix), name
    return layer


def cycles(edges):
    """The import cycles of `edges`, each as a list of modules (one per
    strongly connected component of more than one module)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def problems(edges):
    """Everything wrong with `edges`: modules without a layer, imports a
    layer may not make, cycles."""
    found = []
    for module in sorted(edges):
        if layer_of(module) is None:
            found.append(f"{module}: in no layer (add it to LAYERS)")
    for module in sorted(edges):
        source = layer_of(module)
        for target in sorted(edges[module]):
            layer = layer_of(target)
            if source and layer and layer != source and \
                    layer not in ALLOWED[source]:
                found.append(f"{module} ({source}) imports {target} ({layer})")
    for cycle in cycles(edges):
        found.append("import cycle: " + " -> ".join(cycle))
    return found


def layer_edges(edges):
    """{(importing layer, imported layer): number of module imports}."""
    counts = {}
    for module, targets in edges.items():
        for target in targets:
            key = (layer_of(module), layer_of(target))
            if key[0] != key[1]:
                counts[key] = counts.get(key, 0) + 1
    return counts


def main():
    edges = graph()
    for name, _ in LAYERS:
        members = sorted(m for m in edges if layer_of(m) == name)
        print(f"{name}: {', '.join(members)}")
    print()
    for (source, target), count in sorted(layer_edges(edges).items()):
        print(f"{source} -> {target}: {count} imports")
    print()
    for module in sorted(edges):
        if edges[module]:
            print(f"{module} -> {', '.join(sorted(edges[module]))}")
    found = problems(edges)
    print()
    for problem in found:
        print("PROBLEM:", problem)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} imports, "
          f"{len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

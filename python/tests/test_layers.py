"""The package's layering (python/README.md, "Layers"), checked on its
import graph as read from the source by import_graph.py: core imports
nothing else of the package, the public API never imports the test harness,
every import goes to the importer's layer or one below, and no module
imports itself through others."""

import import_graph


def test_every_module_has_a_layer():
    edges = import_graph.graph()
    assert [m for m in edges if import_graph.layer_of(m) is None] == []


def test_core_imports_only_core():
    edges = import_graph.graph()
    core = [m for m in edges if import_graph.layer_of(m) == "core"]
    outside = {m: sorted(t for t in edges[m] if t not in core) for m in core}
    assert core and {m: t for m, t in outside.items() if t} == {}


def test_public_api_never_imports_testing():
    edges = import_graph.graph()
    api = [m for m in edges if import_graph.layer_of(m) == "api"]
    testing = {m: sorted(t for t in edges[m] if t.startswith("norm_mlir.testing"))
               for m in api}
    assert api and {m: t for m, t in testing.items() if t} == {}


def test_imports_respect_the_layers():
    assert import_graph.problems(import_graph.graph()) == []


def test_cycles_are_found():
    # The checker itself: a cycle and an upward import are reported.
    edges = {"norm_mlir.core.a": {"norm_mlir.core.b"},
             "norm_mlir.core.b": {"norm_mlir.core.a"},
             "norm_mlir.jit": {"norm_mlir.testing.harness"},
             "norm_mlir.testing.harness": set()}
    found = import_graph.problems(edges)
    assert "import cycle: norm_mlir.core.a -> norm_mlir.core.b" in found
    assert any("norm_mlir.jit (api) imports norm_mlir.testing.harness" in p
               for p in found)

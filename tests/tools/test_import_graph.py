"""The import graph has no cycle and keeps its layers (tools/import_graph.py)."""

from __future__ import annotations

from types import ModuleType

from tests.tool_module import load_tool


def graph_tool() -> ModuleType:
    return load_tool("import_graph")


def test_the_project_has_no_import_cycle_and_keeps_its_layers() -> None:
    tool = graph_tool()
    edges = tool.graph()
    assert "ada.trainer" in edges and "ada.envs.registry" in edges["ada.trainer"] | {
        d for m in edges["ada.trainer"] for d in edges.get(m, ())}
    assert tool.cycles(edges) == []
    layers = tool.layers(edges)
    assert "ada" not in layers.get("worlds", set()) | layers.get("agents", set()) \
        | layers.get("curriculum", set())  # the bottom layers use only ada's leaf modules
    assert layers.get("agents", set()) == set()


def test_a_cycle_is_found() -> None:
    tool = graph_tool()
    assert tool.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert tool.cycles({"a": {"b"}, "b": set()}) == []

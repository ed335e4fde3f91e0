"""Load the catalogue from YAML, validate it strictly and hash its content.

Every problem is reported with the file, the YAML path, the line and the rule broken, so
an editor can go straight to it. All problems found are reported at once, not just the
first.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from app.catalogue.schema import AreaFile, Catalogue, CatalogueHead

HEAD_FILE = "catalogue.yaml"
YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One broken rule at one place in one file."""

    file: str
    path: YamlPath
    line: int | None
    rule: str
    message: str

    @property
    def dotted_path(self) -> str:
        parts = []
        for part in self.path:
            parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
        return "".join(parts).lstrip(".") or "(document)"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.dotted_path}: {self.message} [{self.rule}]"


class CatalogueError(Exception):
    """The catalogue is invalid; `problems` lists every rule broken."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedCatalogue:
    catalogue: Catalogue
    content_hash: str

    @property
    def content(self) -> dict[str, Any]:
        return catalogue_content(self.catalogue)


class _YamlFile:
    """A parsed YAML file with the line of every node, addressed by path."""

    def __init__(self, path: Path, display_name: str):
        self.name = display_name
        self.lines: dict[YamlPath, int] = {}
        self.problems: list[Problem] = []
        text = path.read_text(encoding="utf-8")
        try:
            root, self.data = _parse(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            self.problems.append(Problem(self.name, (), line, "yaml_syntax", str(exc)))
            self.data = None
            return
        if root is not None:
            self._index(root, ())

    def _index(self, node: Node, path: YamlPath) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = _scalar_key(key_node)
                if key in seen:
                    self.problems.append(
                        Problem(
                            self.name,
                            (*path, key),
                            key_node.start_mark.line + 1,
                            "duplicate_key",
                            f"key '{key}' appears more than once in this mapping",
                        )
                    )
                seen.add(key)
                self._index(value_node, (*path, key))
                # Point at the key's line: a block value starts on the line after it.
                self.lines[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self._index(item, (*path, index))

    def line_of(self, path: YamlPath) -> int | None:
        """The line of path, or of its nearest ancestor that exists in the file."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def problem(self, path: YamlPath, rule: str, message: str) -> Problem:
        return Problem(self.name, tuple(path), self.line_of(path), rule, message)

    def validation_problems(self, error: ValidationError) -> list[Problem]:
        problems = []
        for item in error.errors():
            path = tuple(part for part in item["loc"] if part != "[key]")
            # Unions and tagged models add their type name to loc; drop what the file lacks.
            path = tuple(p for p in path if not (isinstance(p, str) and p.startswith("function-")))
            rule = _RULE_NAMES.get(item["type"], item["type"])
            problems.append(self.problem(path, rule, item["msg"]))
        return problems


# libyaml's parser when PyYAML has it: the same documents, about ten times faster.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str) -> tuple[Node | None, Any]:
    """The document's node tree (for lines) and its data, from a single parse."""
    loader = _SafeLoader(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def _scalar_key(node: Node) -> Any:
    if isinstance(node, ScalarNode) and node.tag.endswith(":int"):
        try:
            return int(node.value)
        except ValueError:
            return node.value
    return node.value if isinstance(node, ScalarNode) else str(node.start_mark)


_RULE_NAMES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "literal_error": "invalid_value",
}


def catalogue_content(catalogue: Catalogue) -> dict[str, Any]:
    """The catalogue as plain JSON-ready data: what is stored and hashed."""
    return catalogue.model_dump(mode="json")


def content_hash(content: dict[str, Any]) -> str:
    """A SHA-256 of the canonical JSON form: equal content, equal hash, whatever the files."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_catalogue(directory: Path | str) -> LoadedCatalogue:
    """Load, validate and hash the catalogue in directory; raise CatalogueError if invalid."""
    directory = Path(directory)
    head_path = directory / HEAD_FILE
    if not head_path.is_file():
        raise CatalogueError(
            [Problem(HEAD_FILE, (), None, "missing_file", f"{head_path} not found")]
        )

    problems: list[Problem] = []
    head_file = _YamlFile(head_path, HEAD_FILE)
    problems += head_file.problems
    if head_file.data is None:
        raise CatalogueError(problems or [head_file.problem((), "empty_file", "file is empty")])
    try:
        head = CatalogueHead.model_validate(head_file.data)
    except ValidationError as exc:
        raise CatalogueError(problems + head_file.validation_problems(exc)) from None
    problems += _head_uniqueness(head, head_file)

    context = head.validation_context()
    area_files: list[tuple[_YamlFile, AreaFile]] = []
    for index, relative in enumerate(head.areas):
        path = directory / relative
        if not path.is_file():
            problems.append(
                head_file.problem(
                    ("areas", index), "missing_file", f"area file '{relative}' not found"
                )
            )
            continue
        area_yaml = _YamlFile(path, relative)
        problems += area_yaml.problems
        if area_yaml.data is None:
            if not area_yaml.problems:
                problems.append(area_yaml.problem((), "empty_file", "file is empty"))
            continue
        try:
            area_files.append((area_yaml, AreaFile.model_validate(area_yaml.data, context=context)))
        except ValidationError as exc:
            problems += area_yaml.validation_problems(exc)

    problems += _cross_file_problems(area_files)
    if problems:
        raise CatalogueError(problems)

    catalogue = Catalogue.model_validate(
        {
            **head.model_dump(exclude={"areas"}),
            "areas": [
                {**area_file.area.model_dump(), "capabilities": area_file.capabilities}
                for _, area_file in area_files
            ],
        },
        context=context,
    )
    content = catalogue_content(catalogue)
    return LoadedCatalogue(catalogue=catalogue, content_hash=content_hash(content))


def _head_uniqueness(head: CatalogueHead, source: _YamlFile) -> list[Problem]:
    problems = []
    for field, items, key in (
        ("sectors", head.sectors, "id"),
        ("mnr_capabilities", head.mnr_capabilities, "number"),
        ("maturity_scale", head.maturity_scale, "key"),
        ("areas", head.areas, None),
    ):
        seen: set[Any] = set()
        for index, item in enumerate(items):
            value = getattr(item, key) if key else item
            if value in seen:
                problems.append(
                    source.problem((field, index), "duplicate_id", f"'{value}' appears twice")
                )
            seen.add(value)
    return problems


def _cross_file_problems(area_files: list[tuple[_YamlFile, AreaFile]]) -> list[Problem]:
    """Rules that span files: unique ids, dependencies that exist and form no cycle."""
    problems: list[Problem] = []
    area_ids: dict[str, str] = {}
    where: dict[str, tuple[_YamlFile, int]] = {}
    for source, area_file in area_files:
        if area_file.area.id in area_ids:
            problems.append(
                source.problem(
                    ("area", "id"),
                    "duplicate_id",
                    f"area id '{area_file.area.id}' is also used in {area_ids[area_file.area.id]}",
                )
            )
        area_ids.setdefault(area_file.area.id, source.name)
        for index, capability in enumerate(area_file.capabilities):
            if capability.id in where:
                other, _ = where[capability.id]
                problems.append(
                    source.problem(
                        ("capabilities", index, "id"),
                        "duplicate_id",
                        f"capability id '{capability.id}' is also used in {other.name}",
                    )
                )
                continue
            where[capability.id] = (source, index)

    graph: dict[str, list[str]] = {}
    for source, area_file in area_files:
        for index, capability in enumerate(area_file.capabilities):
            if where.get(capability.id) != (source, index):
                continue
            graph[capability.id] = []
            for dep_index, dependency in enumerate(capability.depends_on):
                path = ("capabilities", index, "depends_on", dep_index)
                if dependency == capability.id:
                    problems.append(
                        source.problem(
                            path, "cyclic_dependency", "a capability cannot depend on itself"
                        )
                    )
                elif dependency not in where:
                    problems.append(
                        source.problem(
                            path,
                            "dangling_dependency",
                            f"'{dependency}' is not a capability id in the catalogue",
                        )
                    )
                else:
                    graph[capability.id].append(dependency)

    for cycle in _cycles(graph):
        first = cycle[0]
        source, index = where[first]
        dep_index = _dependency_index(source, index, cycle[1])
        problems.append(
            source.problem(
                ("capabilities", index, "depends_on", dep_index),
                "cyclic_dependency",
                "dependency cycle: " + " -> ".join([*cycle, first]),
            )
        )
    return problems


def _dependency_index(source: _YamlFile, capability_index: int, dependency: str) -> int:
    deps = source.data["capabilities"][capability_index].get("depends_on", [])
    return deps.index(dependency) if dependency in deps else 0


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once, found by depth-first search, in a stable order."""
    cycles: list[list[str]] = []
    seen_cycles: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    cycles.append(cycle)
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def dependency_order(catalogue: Catalogue) -> list[str]:
    """Capability ids ordered so every capability comes after those it depends on."""
    order: list[str] = []
    done: set[str] = set()
    by_id = {capability.id: capability for capability in catalogue.capabilities()}

    def place(capability_id: str) -> None:
        if capability_id in done:
            return
        done.add(capability_id)
        for dependency in by_id[capability_id].depends_on:
            place(dependency)
        order.append(capability_id)

    for capability in catalogue.capabilities():
        place(capability.id)
    return order

"""Reading YAML written by users (policies, custom rules, runbooks) without surprises.

``yaml.safe_load`` lets through or crashes on several kinds of bad input: a duplicate key
silently keeps the last value, a malformed explicit tag or date (``!!int abc``,
``2027-13-45``) raises ValueError / KeyError / AttributeError rather than a YAML error, deep
nesting exhausts the stack and a control character gives no line. :func:`load_yaml` turns
every one of these into a :class:`YamlProblem` with the line (1-based) and, for duplicate
keys, the path of the mapping.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 100  # far beyond any real document, far below Python's recursion limit
_MERGE = "tag:yaml.org,2002:merge"


class YamlProblem(Exception):
    """Why a text is not acceptable YAML: ``line`` (1-based, None if unknown), ``path``, ``problem``."""

    def __init__(self, line: int | None, problem: str, path: tuple[Any, ...] = ()) -> None:
        super().__init__(f"line {line or '?'}: {problem}")
        self.line = line
        self.problem = problem
        self.path = path


class _Loader(yaml.SafeLoader):
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # noqa: BLE001 - ValueError, KeyError, IndexError, AttributeError... from PyYAML
            # a scalar with an explicit or implied tag it does not fit (!!int abc, 2027-13-45)
            kind = str(node.tag).rsplit(":", 1)[-1]
            value = node.value if isinstance(node.value, str) else ""
            detail = f": {exc}" if isinstance(exc, ValueError) and str(exc) else ""
            raise yaml.constructor.ConstructorError(None, None, f"{value[:60]!r} is not a valid {kind}{detail}", node.start_mark) from None


def _duplicate_keys(loader: _Loader, node: Any, path: tuple[Any, ...]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key: Any = None
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                key = loader.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    first = None
                else:
                    if first is not None:
                        raise YamlProblem(
                            key_node.start_mark.line + 1, f"duplicate key {key!r} (first given on line {first})", (*path, key)
                        )
                    seen[key] = key_node.start_mark.line + 1
            _duplicate_keys(loader, value_node, (*path, key if key is not None else "?"))
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _duplicate_keys(loader, child, (*path, i))


def _path_to(node: Any, mark: Any, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The path of the value (or key) that starts at ``mark`` in a composed document."""
    if node.start_mark.index == mark.index:
        return path
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            if key_node.start_mark.index == mark.index:
                return (*path, key)
            if value_node.start_mark.index <= mark.index <= value_node.end_mark.index:
                found = _path_to(value_node, mark, (*path, key))
                if found is not None:
                    return found
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            if child.start_mark.index <= mark.index <= child.end_mark.index:
                found = _path_to(child, mark, (*path, i))
                if found is not None:
                    return found
    return None


def load_yaml(text: str) -> tuple[Any, Any]:
    """``(data, root node)`` of a YAML text; raise :class:`YamlProblem` for anything unacceptable."""
    if not isinstance(text, str):
        raise YamlProblem(None, f"expected text, got {type(text).__name__}")
    loader: _Loader | None = None
    node: Any = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        node = loader.get_single_node()
        if node is None:
            return None, None
        _duplicate_keys(loader, node, ())
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context if exc.problem_mark is None else None, exc.problem) if p)
        path = _path_to(node, mark) if node is not None and mark is not None else None
        raise YamlProblem(mark.line + 1 if mark is not None else None, problem or str(exc), path or ()) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlProblem(line, f"character {exc.character!r} is not allowed in YAML ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, str(exc)) from None
    except RecursionError:
        raise YamlProblem(None, "nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()

"""The package reads as the pipeline, and stays that way.

* every stage has its folder: audio -> vad -> asr -> pipeline -> coach -> server,
  with cli, sessions and report around them;
* a stage imports only the stages before it (the coach knows nothing of the
  server, transcription nothing of the coach), so each can be read, tested and
  replaced on its own;
* no import cycles, in the package or in the benchmarks;
* no module over 400 lines.

Imports are read from the source (``ast``), module level and inside functions alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
MAX_LINES = 400

STAGES = (
    "audio",
    "vad",
    "asr",
    "scale",
    "pipeline",
    "coach",
    "server",
    "team",
    "cli",
    "sessions",
    "report",
)
# What each folder may import besides the shared top-level modules (errors, events,
# logs) and itself. Stages come in pipeline order; the CLI sits on top.
ALLOWED: dict[str, set[str]] = {
    "audio": set(),
    "vad": set(),
    "asr": {"vad"},  # the streaming policy acts on the segmenter's utterances
    "scale": {"asr"},  # many calls' decodes: the asr worker's rules, shared
    "pipeline": {"audio", "vad", "asr", "sessions"},
    "coach": set(),
    "server": set(),
    "sessions": set(),
    "report": {"coach", "sessions"},
    # The team server runs many sessions, as the CLI runs one.
    "team": {
        "audio",
        "vad",
        "asr",
        "scale",
        "pipeline",
        "coach",
        "server",
        "sessions",
        "report",
        "assemble",
    },
    "cli": {
        "audio",
        "vad",
        "asr",
        "pipeline",
        "coach",
        "server",
        "sessions",
        "report",
        "assemble",
        "team",
    },
}
SHARED = {"errors", "events", "logs", "__init__"}


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "assistant" else None


def test_each_pipeline_stage_has_its_folder() -> None:
    for stage in STAGES:
        init = REPO / "assistant" / stage / "__init__.py"
        assert init.is_file(), stage
        assert ast.get_docstring(ast.parse(init.read_text("utf-8"))), f"{stage}: say what it is"
    loose = sorted(p.stem for p in (REPO / "assistant").glob("*.py"))
    assert loose == ["__init__", "__main__", "assemble", "errors", "events", "logs"]


def test_stages_import_only_what_comes_before_them() -> None:
    modules = _modules(REPO / "assistant")
    wrong = []
    for module, path in modules.items():
        stage = _stage(module)
        if stage not in ALLOWED:
            continue
        for name in _imports(path, module):
            other = _stage(name)
            if other is None or other == stage or other in SHARED or other == "__version__":
                continue
            if name not in modules and name.rsplit(".", 1)[0] not in modules:
                continue  # "from assistant.x import Name": the module is counted
            if other not in ALLOWED[stage]:
                wrong.append(f"{module} imports {name}")
    assert not wrong, "\n".join(sorted(set(wrong)))


@pytest.mark.parametrize("root", ["assistant", "benchmarks"])
def test_no_import_cycles(root: str) -> None:
    modules = _modules(REPO / root)
    graph = {
        m: {n for n in _imports(p, m) if n in modules and n != m and not m.startswith(n + ".")}
        for m, p in modules.items()
    }
    # A package's __init__ is imported with each of its modules; only real edges
    # between modules count, so drop edges into packages that have no code.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            pytest.fail(" -> ".join(cycle))


@pytest.mark.parametrize("root", ["assistant", "benchmarks"])
def test_no_module_over_400_lines(root: str) -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in (REPO / root).rglob("*.py")
        if (n := len(p.read_text("utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long

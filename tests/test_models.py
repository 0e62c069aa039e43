from pathlib import Path

import pytest

from assistant.asr.models import resolve_model
from assistant.errors import ModelError


def test_default_model_comes_from_the_weights_package() -> None:
    spec = resolve_model()
    assert spec.name == "tiny.en" and spec.origin == "package"
    assert (spec.path / "model.bin").is_file()


def test_repository_models_dir_wins_over_package(tmp_path: Path) -> None:
    (tmp_path / "catalog.toml").write_text('[models."tiny.en"]\ncompute_type = "int8"\n')
    local = tmp_path / "tiny.en"
    local.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json"):
        (local / name).write_text("x")
    spec = resolve_model("tiny.en", models_dir=tmp_path)
    assert spec.origin == "repository" and spec.path == local


def test_explicit_directory_wins_and_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="incomplete.*model.bin"):
        resolve_model("tiny.en", model_dir=tmp_path)


def test_catalogued_but_absent_model_says_how_to_get_it(tmp_path: Path) -> None:
    (tmp_path / "catalog.toml").write_text(
        '[models."base.en"]\ninstall = "convert it with ct2-transformers-converter"\n'
    )
    with pytest.raises(ModelError, match="not installed; fix: convert it"):
        resolve_model("base.en", models_dir=tmp_path)

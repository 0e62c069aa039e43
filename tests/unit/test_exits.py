"""How the command line reports what ended it."""

from __future__ import annotations

import pytest

from assistant.cli.exits import EXIT_INTERRUPTED, exit_status


def _import_failed_from(cause: BaseException) -> ImportError:
    # What pybind11 raises when its module init is interrupted: raise_from(...).
    try:
        try:
            raise cause
        except BaseException as inner:
            raise ImportError("initialization failed") from inner
    except ImportError as outer:
        return outer


def test_ctrl_c_inside_an_extension_modules_init_is_an_interrupt(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert exit_status(_import_failed_from(KeyboardInterrupt())) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == ""


def test_an_import_that_really_failed_is_still_reported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TURNAROUND_DEBUG", raising=False)
    assert exit_status(_import_failed_from(OSError("libfoo.so: missing"))) == 1
    err = capsys.readouterr().err
    assert "unexpected ImportError: initialization failed" in err


def test_ctrl_c_under_a_model_error_is_an_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    # The decoder turns a failed faster-whisper import into a ModelError naming the fix.
    from assistant.errors import ModelError

    try:
        raise ModelError("faster-whisper is not installed") from _import_failed_from(
            KeyboardInterrupt()
        )
    except ModelError as exc:
        assert exit_status(exc) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == ""

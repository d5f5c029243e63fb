"""The CLI as a user meets it: help text on every option, a description that starts with Snakemake, and
progress bars whose update interval the environment controls."""

from __future__ import annotations

import argparse
import io

import pytest

from aelpn.cli import build_parser
from aelpn.core.progress import LOG_MININTERVAL, progress_bar


def _parsers(parser: argparse.ArgumentParser, path=("aelpn",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def test_every_option_and_argument_has_help():
    missing = [
        f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}"
        for path, parser in _parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_top_level_description_starts_users_with_snakemake():
    text = build_parser().format_help()
    assert "Start with Snakemake" in text and "snakemake --cores all --configfile config/quick.yaml" in text


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_tqdm_mininterval_overrides_every_bar(monkeypatch):
    monkeypatch.setenv("TQDM_MININTERVAL", "42")
    assert progress_bar(range(3), mininterval=5, file=_Terminal()).mininterval == 42.0
    assert progress_bar(range(3), file=io.StringIO()).mininterval == 42.0


def test_bars_in_log_files_update_rarely_by_default(monkeypatch):
    monkeypatch.delenv("TQDM_MININTERVAL", raising=False)
    assert progress_bar(range(3), file=io.StringIO()).mininterval == LOG_MININTERVAL
    assert progress_bar(range(3), mininterval=0.5, file=_Terminal()).mininterval == 0.5


def test_bad_tqdm_mininterval_names_the_variable(monkeypatch):
    from aelpn.core.config import ConfigError

    monkeypatch.setenv("TQDM_MININTERVAL", "often")
    with pytest.raises(ConfigError, match="TQDM_MININTERVAL='often'"):
        progress_bar(range(3))

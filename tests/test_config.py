"""The user's config file: defaults when absent, one-line errors naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.config import config_path, load_config
from copilot.errors import ConfigError, ExitCode


def write(text: str) -> Path:
    path = config_path()
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_defaults() -> None:
    config = load_config()
    assert config.model.n_ctx == 2048 and config.review.rpc is None


def test_values_are_read() -> None:
    write('[model]\nn_ctx = 4096\nthreads = 2\n[review]\npolicy = "paranoid"\n')
    config = load_config()
    assert (config.model.n_ctx, config.model.threads, config.review.policy) == (4096, 2, "paranoid")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[model]\nn_ctx = -5\n", "model.n_ctx"),
        ("[model]\nthreads = 0\n", "model.threads"),
        ("[model]\ncontext = 4096\n", "model.context"),
        ("[review]\npolicy = 3\n", "review.policy"),
    ],
)
def test_bad_values_name_the_file_and_key(text: str, where: str) -> None:
    path = write(text)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(path) in caught.value.one_line() and where in caught.value.one_line()


def test_bad_config_is_one_line_and_exit_3_through_the_cli() -> None:
    write("[model\n")
    result = CliRunner().invoke(cli, ["review", "fixtures/demo/unlimited-approval.json", "--no-llm"])
    assert result.exit_code == ExitCode.CONFIG
    assert result.stderr.count("\n") == 1 and "config.toml" in result.stderr


def test_binary_config_is_one_line() -> None:
    config_path().write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config()

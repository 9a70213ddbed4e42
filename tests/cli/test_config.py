"""Project configuration ([tool.cdpctl] / cdpctl.toml) and the flag > env > config > default
order for `validate`'s paths, format and colour."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import run_cli

from cdpctl import config

ROOT = Path(__file__).parents[2]
BROKEN = Path(__file__).parents[1] / "cases" / "validate" / "semantic-errors.yaml"
ANSI_RED = "\x1b[31m"


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CDPCTL_FORMAT", "CDPCTL_COLOR", "NO_COLOR", "FORCE_COLOR", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with mappings/broken.yaml and mappings/ok.yaml; the working directory is a
    sub-folder of it, so config files are found by searching upward."""
    (tmp_path / "mappings").mkdir()
    shutil.copy(BROKEN, tmp_path / "mappings" / "broken.yaml")
    shutil.copy(ROOT / "examples" / "loops.yaml", tmp_path / "mappings" / "ok.yaml")
    (tmp_path / "src" / "app").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "src" / "app")
    return tmp_path


def test_validate_without_paths_checks_the_configured_folders(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.cdpctl]\npaths = ["mappings"]\n'
    )
    result = run_cli(["validate"])
    assert result.exit_code == 1, result.output
    assert "mappings/broken.yaml:11:13: error CDP308" in result.stdout
    assert "2 files checked" in result.stdout


def test_paths_shown_relative_to_the_working_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "cdpctl.toml").write_text('paths = ["mappings/ok.yaml"]\n')
    monkeypatch.chdir(project)
    result = run_cli(["validate", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"path":"mappings/ok.yaml"' in result.stdout.replace(" ", "")


def test_paths_given_on_the_command_line_win(project: Path) -> None:
    (project / "cdpctl.toml").write_text('paths = ["mappings"]\n')
    result = run_cli(["validate", str(project / "mappings" / "ok.yaml")])
    assert result.exit_code == 0, result.output
    assert "1 file checked: all valid" in result.stdout


def test_cdpctl_toml_beats_pyproject_in_the_same_folder(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.cdpctl]\npaths = ["mappings"]\n')
    (project / "cdpctl.toml").write_text('paths = ["mappings/ok.yaml"]\n')
    result = run_cli(["validate"])
    assert result.exit_code == 0
    assert "1 file checked" in result.stdout


def test_a_pyproject_without_the_table_is_passed_over(project: Path) -> None:
    (project / "cdpctl.toml").write_text('paths = ["mappings/ok.yaml"]\n')
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    found = config.load(project / "src" / "app")
    assert found.source == project / "cdpctl.toml"
    assert found.paths == (project / "mappings" / "ok.yaml",)


def test_a_missing_configured_path_names_the_config(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "cdpctl.toml").write_text('paths = ["mappings", "mapings"]\n')
    monkeypatch.chdir(project)
    result = run_cli(["validate"])
    assert result.exit_code == 2
    assert f"{project / 'cdpctl.toml'} paths: no such file or folder: mapings" in result.stderr


def test_no_paths_and_no_config_is_a_usage_error(project: Path) -> None:
    result = run_cli(["validate"])
    assert result.exit_code == 2
    assert "set paths in [tool.cdpctl]" in result.stderr


def test_unknown_key_is_a_clear_error_naming_file_and_key(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.cdpctl]\ncolour = "never"\n')
    result = run_cli(["validate", str(project / "mappings" / "ok.yaml")])
    assert result.exit_code == 2
    assert (
        f'cdpctl: {project / "pyproject.toml"} [tool.cdpctl]: unknown key "colour" — did you '
        'mean "color"? (known keys: paths, format, color, strict, plan)'
    ) in result.stderr


def test_unknown_key_in_cdpctl_toml(project: Path) -> None:
    (project / "cdpctl.toml").write_text('paths = ["mappings"]\nexclude = ["x"]\n')
    result = run_cli(["validate"])
    assert result.exit_code == 2
    assert f'{project / "cdpctl.toml"}: unknown key "exclude"' in result.stderr


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('paths = "mappings', "not valid TOML"),
        ("paths = [1, 2]", "paths must be a list of folder or file names"),
        ("format = 3", "format must be a string"),
        ('color = "sometimes"', "color must be one of auto, always, never"),
    ],
)
def test_bad_values_are_usage_errors(project: Path, text: str, words: str) -> None:
    (project / "cdpctl.toml").write_text(text + "\n")
    result = run_cli(["validate", str(project / "mappings" / "ok.yaml")])
    assert result.exit_code == 2
    assert str(project / "cdpctl.toml") in result.stderr and words in result.stderr


def test_configured_format_must_be_one_validate_knows(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.cdpctl]\nformat = "xml"\n')
    result = run_cli(["validate", str(project / "mappings" / "ok.yaml")])
    assert result.exit_code == 2
    assert "[tool.cdpctl] format must be one of text, json, github, sarif, junit" in result.stderr


def test_format_flag_beats_env_beats_config_beats_text(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = str(project / "mappings" / "broken.yaml")
    assert "error CDP308" in run_cli(["validate", target]).stdout  # default: text
    (project / "cdpctl.toml").write_text('format = "json"\n')
    assert run_cli(["validate", target]).stdout.startswith("{")
    monkeypatch.setenv("CDPCTL_FORMAT", "github")
    assert run_cli(["validate", target]).stdout.startswith("::error ")
    assert "<testsuites" in run_cli(["validate", "--format", "junit", target]).stdout


def test_bad_format_in_the_environment_is_named(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDPCTL_FORMAT", "yaml")
    result = run_cli(["validate", str(project / "mappings" / "ok.yaml")])
    assert result.exit_code == 2
    assert "CDPCTL_FORMAT must be one of text, json, github, sarif, junit" in result.stderr


def _colored(args: list[str]) -> bool:
    result = run_cli(["validate", *args, str(BROKEN)])
    assert result.exit_code == 1, result.output
    return ANSI_RED in result.stdout


@pytest.mark.parametrize(
    ("config_color", "env", "flag", "colored"),
    [
        (None, {}, None, False),  # not a terminal
        ("always", {}, None, True),  # project config
        ("always", {"NO_COLOR": "1"}, None, False),  # NO_COLOR beats the project config
        ("never", {"FORCE_COLOR": "1"}, None, True),  # so does FORCE_COLOR
        (None, {"CDPCTL_COLOR": "always", "NO_COLOR": "1"}, None, True),  # ours beats NO_COLOR
        ("never", {"CDPCTL_COLOR": "always"}, None, True),  # env beats config
        (None, {"CDPCTL_COLOR": "always"}, "never", False),  # flag beats env
        ("never", {}, "always", True),  # flag beats config
        ("always", {}, "auto", False),  # an explicit auto means detection: not a terminal
    ],
)
def test_color_precedence(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    config_color: str | None,
    env: dict[str, str],
    flag: str | None,
    colored: bool,
) -> None:
    if config_color:
        (project / "cdpctl.toml").write_text(f'color = "{config_color}"\n')
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _colored(["--color", flag] if flag else []) is colored


@pytest.mark.parametrize(
    ("args", "env", "source"),
    [(["--color", "blue"], {}, "--color"), ([], {"CDPCTL_COLOR": "blue"}, "CDPCTL_COLOR")],
)
def test_bad_color_is_a_usage_error(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
    source: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_cli(["validate", *args, str(BROKEN)])
    assert result.exit_code == 2
    assert f"{source} must be one of auto, always, never (got 'blue')" in result.stderr

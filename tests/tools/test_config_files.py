"""Finding runbook.yaml: flag, RUNBOOK_CONFIG, the working directory or a parent, the user's config,
then the built-in sandbox, and never a silent fallback to the sandbox when a file is there but bad."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from tests.agent.cli_support import run_cli
from tools.config import ConfigError
from tools.config_files import read_config

SANDBOX = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())


def write(path: Path, **changes: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(SANDBOX | changes))
    return path


def ecs_config() -> dict[str, object]:
    data = yaml.safe_load(yaml.safe_dump(SANDBOX))
    for env in data["environments"].values():
        env.update(backend="ecs", region="eu-west-1")
        env.pop("identity", None)
    return data


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    return home


def test_the_first_of_flag_env_cwd_parents_user_wins(tmp_path: Path, home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    project, sub = tmp_path / "project", tmp_path / "project" / "services" / "api"
    sub.mkdir(parents=True)
    assert read_config(cwd=sub).found_by == "built-in"
    user = write(home / ".config" / "runbook" / "runbook.yaml", default_environment="staging")
    assert read_config(cwd=sub).path == user
    in_project = write(project / "runbook.yaml")
    found = read_config(cwd=sub)
    assert (found.path, found.found_by, found.state_path()) == (in_project, "parent", project / ".runbook")
    here = write(sub / "runbook.yaml")
    assert read_config(cwd=sub).found_by == "cwd"
    named = write(tmp_path / "elsewhere.yaml")
    monkeypatch.setenv("RUNBOOK_CONFIG", str(named))
    assert read_config(cwd=sub).path == named
    assert read_config(here, cwd=sub).path == here  # --config beats them all


def test_xdg_config_home_is_honoured(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    user = write(tmp_path / "xdg" / "runbook" / "runbook.yaml")
    assert read_config(cwd=tmp_path).path == user


def test_status_from_a_subdirectory_uses_the_projects_ecs_config_not_the_sandbox(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "runbook.yaml").write_text(yaml.safe_dump(ecs_config()))
    (tmp_path / "deploy" / "k8s").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deploy" / "k8s")
    # Nothing answers there: what matters is that ECS is asked, and that no fake fleet is reported.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = run_cli("status", "checkout-api", "-e", "production")
    assert "sandbox" not in result.output.lower()
    assert "healthy" not in result.output.replace("NOT healthy", "")
    assert "checkout-api (production): unknown" in result.output


def test_the_sandbox_says_it_is_the_sandbox() -> None:
    status = run_cli("status", "checkout-api")
    assert status.exit_code == 0 and "Sandbox: a simulated fleet" in status.output
    assert "config: built-in config, no runbook.yaml found" in status.output
    deploy = run_cli("deploy", "checkout-api", "--version", "1.2.3", "--dry-run")
    assert "Sandbox: simulated fleet · built-in config" in deploy.output
    assert '"backend":"sandbox"' in run_cli("history", "-o", "json").output
    assert "Sandbox: a simulated fleet" in run_cli("history").output
    started = run_cli("deploy", "checkout-api", "--version", "1.2.3", "--dry-run", "-o", "json").output.splitlines()[0]
    assert '"backend":"sandbox"' in started
    assert "(Sandbox: a simulated fleet" in run_cli("ask", "is checkout-api healthy?").output


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.mkdir(), "runbook.yaml is a directory, not a config file"),
    (lambda p: p.write_bytes(b"# ok\ndefault_environment: caf\xe9\n"), "runbook.yaml is not UTF-8 text (line 2); save it as UTF-8."),
    (lambda p: p.write_text("environments: [\n"), "runbook.yaml: not valid YAML at line 2"),
    (lambda p: p.write_text(yaml.safe_dump(SANDBOX | {"state_dir": "postgresql+psycopg://db/runbook"})),
     "state_dir: Value error, state_dir is a folder; name a database with database_url instead"),
    (lambda p: p.write_text(yaml.safe_dump(SANDBOX | {"database_url": "mysql://db/runbook"})),
     "database_url: Value error, expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"),
])
def test_a_bad_config_file_is_one_sentence_and_never_the_sandbox(make, message: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make(tmp_path / "runbook.yaml")
    result = run_cli("status")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert "Traceback" not in result.output and "Sandbox" not in result.output
    assert not (tmp_path / ".runbook").exists() and not (tmp_path / "postgresql+psycopg:").exists()


def test_an_unreadable_config_file_is_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "runbook.yaml")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)  # root reads through chmod 000, so the OS error is simulated
    with pytest.raises(ConfigError, match=r"^runbook.yaml cannot be read \(permission denied\); check its permissions\.$"):
        read_config(cwd=tmp_path)


def test_environment_settings_win_over_the_file_and_are_checked(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "runbook.yaml", database_url="sqlite:///from-file.db")
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", "postgres://team@db.internal/runbook")
    assert read_config(cwd=tmp_path).database_url == "postgresql+psycopg://team@db.internal/runbook"
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", "redis://cache")
    with pytest.raises(ConfigError, match="^RUNBOOK_DATABASE_URL: expected sqlite"):
        read_config(cwd=tmp_path)
    monkeypatch.delenv("RUNBOOK_DATABASE_URL")
    monkeypatch.setenv("RUNBOOK_CONFIG", str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="RUNBOOK_CONFIG names .*missing.yaml, which does not exist"):
        read_config(cwd=tmp_path)


def test_the_judges_alpha_is_configured_and_bounded() -> None:
    from tools.config import parse_config

    assert parse_config(SANDBOX, "t").judge.alpha == 0.05
    assert parse_config(SANDBOX | {"judge": {"alpha": 0.01}}, "t").judge.alpha == 0.01
    with pytest.raises(ConfigError, match="judge.alpha"):
        parse_config(SANDBOX | {"judge": {"alpha": 0.9}}, "t")


def test_thresholds_of_the_old_judge_still_load() -> None:
    from tools.config import parse_config

    data = yaml.safe_load(yaml.safe_dump(SANDBOX))
    data["services"]["checkout-api"]["thresholds"] = {"max_error_rate_increase_points": 1.0,
                                                      "max_p99_increase_percent": 50}
    assert parse_config(data, "t").services["checkout-api"].thresholds.max_p99_increase_percent == 50

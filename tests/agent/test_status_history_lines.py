"""What `status` and `history` print about past deploys: a refused attempt is not the "last deploy", a
refused attempt still names the version that ran, and history's columns line up under its header."""

from __future__ import annotations

from tests.agent.cli_support import deciding, run_cli


def test_a_refused_attempt_is_no_last_deploy_and_keeps_the_version_that_ran() -> None:
    with deciding("approve", "alice"):
        done = run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "production")
    assert done.exit_code == 0, done.output
    refused = run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "production")
    assert refused.exit_code == 2, refused.output

    status = run_cli("status", "checkout-api", "-e", "production")
    assert "last deploy 1.2.2 → 1.2.3 succeeded" in status.output, status.output
    assert "refused" not in status.output

    lines = run_cli("history").output.splitlines()
    header = next(line for line in lines if line.startswith("ID"))
    rows = [line for line in lines if line.startswith("dep-")]
    assert "1.2.3 → 1.2.3" in rows[0] and "refused" in rows[0] and "?" not in rows[0]
    for column in ("SERVICE", "ENV", "VERSION", "OUTCOME", "WHO"):
        at = header.index(column)
        assert all(row[at - 1] == " " and row[at] != " " for row in rows), (column, header, rows)

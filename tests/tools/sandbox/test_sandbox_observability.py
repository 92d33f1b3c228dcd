"""Registry, alarms and secrets of the sandbox."""

from __future__ import annotations

import re
from datetime import timedelta

from tools.backend import Backend, target_for
from tools.config import RunbookConfig
from tools.models import ServiceTarget
from tools.sandbox import SandboxFleet


def fleet_of(backend: Backend) -> SandboxFleet:
    fleet = backend.platform.fleet  # type: ignore[attr-defined]
    assert isinstance(fleet, SandboxFleet)
    return fleet


def test_registry_has_every_checkout_version(backend: Backend, checkout: ServiceTarget) -> None:
    repository = checkout.config.image_repository
    for tag in ("1.2.0", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5"):
        image = backend.registry.find_image(repository, tag)
        assert image is not None and image.uri == f"{repository}:{tag}"
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", image.digest)
        assert 240_000_000 <= image.size_bytes <= 250_000_000
    pushed = backend.registry.find_image(repository, "1.2.3")
    assert pushed is not None
    hours = (backend.clock.now() - pushed.pushed_at).total_seconds() / 3600
    assert 5 <= hours <= 7.5
    assert backend.registry.find_image(repository, "9.9.9") is None
    assert backend.registry.find_image("registry.example.com/nothing", "1.2.3") is None


def test_payments_starts_in_alarm_and_others_are_quiet(backend: Backend, config: RunbookConfig) -> None:
    payments = target_for(config, "payments-api", "production")
    (alarm,) = backend.incidents.active_alarms(payments)
    assert alarm.name == "payments-api-5xx-rate" and alarm.state == "ALARM"
    assert "Threshold Crossed" in alarm.reason and alarm.description
    assert alarm.since is not None and alarm.since < backend.clock.now() - timedelta(hours=1)
    for service in ("checkout-api", "inventory-api", "notifications-worker"):
        for environment in ("production", "staging"):
            assert backend.incidents.active_alarms(target_for(config, service, environment)) == []
    assert backend.incidents.active_alarms(target_for(config, "payments-api", "staging")) == []


def test_set_alarm_forces_and_releases_a_state(backend: Backend, checkout: ServiceTarget) -> None:
    fleet = fleet_of(backend)
    fleet.set_alarm("prod", "checkout-api", "checkout-api-5xx-rate", "ALARM", "Threshold Crossed: test")
    (alarm,) = backend.incidents.active_alarms(checkout)
    assert alarm.reason == "Threshold Crossed: test" and alarm.since is not None
    fleet.set_alarm("prod", "checkout-api", "checkout-api-5xx-rate", None)
    assert backend.incidents.active_alarms(checkout) == []


def test_bad_release_at_full_load_fires_the_alarms(backend: Backend, checkout: ServiceTarget) -> None:
    image = backend.registry.find_image(checkout.config.image_repository, "1.2.5")
    assert image is not None
    base = backend.platform.current_task_definition(checkout)
    backend.platform.start_rollout(checkout, backend.platform.register_revision(checkout, base, image))
    backend.clock.sleep(600)
    names = {a.name for a in backend.incidents.active_alarms(checkout)}
    assert names == {"checkout-api-5xx-rate", "checkout-api-p99-latency"}


def test_secrets_are_checked_never_read(backend: Backend, checkout: ServiceTarget) -> None:
    reference = backend.platform.current_task_definition(checkout).secrets["DB_PASSWORD"]
    assert backend.secrets.check_readable("DB_PASSWORD", reference).readable

    fleet_of(backend).set_secret_readable(reference, False)
    denied = backend.secrets.check_readable("DB_PASSWORD", reference)
    assert not denied.readable and denied.reason and "AccessDenied" in denied.reason

    missing = backend.secrets.check_readable("API_KEY", "arn:aws:secretsmanager:us-east-1:1:secret:nope")
    assert not missing.readable and missing.reason == "ResourceNotFoundException: secret not found"

"""The README's configuration examples are real configurations."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tools.config import parse_config

README = Path(__file__).resolve().parent.parent / "README.md"


def yaml_blocks() -> list[dict]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)]


def test_every_complete_config_example_validates() -> None:
    complete = [block for block in yaml_blocks() if "environments" in block]
    assert complete, "the README shows at least one complete runbook.yaml"
    for block in complete:
        parse_config(block, "README.md")


def test_partial_examples_fit_into_the_config() -> None:
    base = next(block for block in yaml_blocks() if "environments" in block)
    for block in yaml_blocks():
        if "environments" not in block:
            parse_config(base | block, "README.md")

"""What `runbook resume` does: continue (or close) a deploy whose process died."""

from __future__ import annotations

import sys
from pathlib import Path

from agent.commands import _load, _run, _terminal_prompt, _validate_output


def resume(deployment_id: str, abort: bool, force: bool, output: str, config_path: Path | None) -> int:
    def body() -> int:
        from agent.render import choose_mode, make_renderer
        from skills.deploy import resume_deploy

        mode = choose_mode(None if _validate_output(output) == "auto" else output, sys.stdout)
        config = _load(config_path)
        renderer = make_renderer(mode, sys.stdout)
        prompt = _terminal_prompt(renderer) if sys.stdin.isatty() and mode != "json" and not abort else None
        try:
            return resume_deploy(config, deployment_id, renderer, config.state_path(), config.current_user(),
                                 abort=abort, force=force, terminal_prompt=prompt)
        finally:
            renderer.close()

    return _run(body)

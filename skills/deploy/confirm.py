"""Between the approval and the rollout: the bytes rolled out are the bytes approved.

The new revision already pins the image by digest, so a tag pushed again after the approval could not
change what runs; but the person approved "1.2.3" meaning what the tag named then, so a tag that moves
in between stops the deploy before anything rolls out, and says so.
"""

from __future__ import annotations

from memory.outcome import Outcome
from skills.deploy.context import DeployContext, DeployState
from skills.events import CheckFailed, CheckPassed, Progress
from tools.backend import BackendError


def confirm_approved_image(ctx: DeployContext, state: DeployState) -> DeployState:
    approved = (state.get("image") or {}).get("digest")
    if not approved:
        return {}
    ctx.emit(Progress(message="Confirming the approved image..."))
    repository, tag = ctx.target.config.image_repository, ctx.request.version
    try:
        now = ctx.backend.registry.find_image(repository, tag)
    except BackendError as exc:
        ctx.emit(CheckFailed(check="approved_image", message=str(exc)))
        return {"outcome": Outcome.IMAGE_CHANGED, "failure": f"could not confirm {repository}:{tag}: {exc}"}
    if now is None or now.digest != approved:
        found = "is gone from the registry" if now is None else f"now names {now.digest[:19]}…"
        message = (f"{repository}:{tag} {found}, not the approved {approved[:19]}…: the tag was pushed again"
                   " after the approval, so nothing rolls out.")
        ctx.emit(CheckFailed(check="approved_image", message=message,
                             details=["Deploy again to have the new image checked, canaried and approved."]))
        return {"outcome": Outcome.IMAGE_CHANGED, "failure": message}
    ctx.emit(CheckPassed(check="approved_image", message=f"Approved image unchanged: {approved[:19]}…"))
    return {}

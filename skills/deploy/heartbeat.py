"""The deploy lock's heartbeat: a thread that refreshes the lock while the deploy runs, however long
one of its steps blocks (a rollout poll, the metrics settle wait), so that a lock past its expiry
means a deploy whose process is gone, and a dead deploy's approval card stops working within a
minute and a half even on another host."""

from __future__ import annotations

import threading

from memory.records import LockHeld
from skills.deploy.context import LOCK_TTL_SECONDS, DeployContext

HEARTBEAT_SECONDS = 15.0  # wall seconds between two refreshes; the lock lives LOCK_TTL_SECONDS


class Heartbeat:
    def __init__(self, ctx: DeployContext, every: float = HEARTBEAT_SECONDS) -> None:
        self.ctx, self.every = ctx, every
        self.lost: str | None = None  # set once another deployment holds the lock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{ctx.request.deployment_id}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def beat(self) -> None:
        ctx = self.ctx
        try:
            ctx.store.refresh_lock(ctx.lock_key, ctx.request.deployment_id, ctx.wall_now(), LOCK_TTL_SECONDS)
        except KeyError:
            pass  # not taken yet (pre-checks), or released at the end
        except LockHeld as held:
            self.lost = (f"The deploy lock of {ctx.lock_key} was taken over by {held.lock.deployment_id}"
                         " while the deploy ran.")

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except Exception:  # noqa: BLE001 - a store hiccup; the next beat (or the main thread) tells
                continue

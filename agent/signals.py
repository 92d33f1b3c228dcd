"""SIGINT, SIGTERM and SIGHUP end a command the same way: a `Stopped` exception raised in the main
thread, which a running deploy turns into its clean-up (canary removed, approval request withdrawn,
lock released) before the process exits with 130, 143 or 129."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from memory.outcome import Stopped

__all__ = ["Stopped", "stop_on_signals"]

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise(signum: int, _frame: FrameType | None) -> None:
    # Once is enough: while the clean-up runs, a second signal must not cut it short.
    for number in SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    raise Stopped(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, the three signals raise `Stopped` (only the main thread can install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _raise) for number in SIGNALS}
    try:
        yield
    except KeyboardInterrupt:  # raised before our handler was in place
        raise Stopped(signal.SIGINT) from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)

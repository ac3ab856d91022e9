"""Routes the client core's log lines to Python's `logging`, under the
`strom` logger. Installed when the first client is created (not at import:
`python -m strom server` logs to stderr as the broker binary does)."""

from __future__ import annotations

import atexit
import logging

from strom import _strom

_installed = False


def install() -> None:
    """Starts forwarding at the `strom` logger's effective level."""
    global _installed
    if _installed:
        return
    _installed = True
    _strom.install_logging(logging.getLogger("strom").getEffectiveLevel())
    # Interpreter shutdown must not wait on a logging thread taking the GIL.
    atexit.register(_strom.set_log_level, None)
    # Nor may a client thread take it while the interpreter finalizes (the
    # interpreter would end that thread mid-call, aborting the process):
    # the client runtime stops first. Registered with the first client, so
    # it runs after the exit handlers the application registered later.
    atexit.register(_strom.shutdown_runtime, 5.0)

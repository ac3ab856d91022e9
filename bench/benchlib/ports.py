"""Fixed ports for brokers restarted on the same address: the test suites'
`free_ports` (tests/compat/ports.py), which keeps them out of the kernel's
ephemeral range so no outgoing connection takes one between restarts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SHARED = Path(__file__).resolve().parents[2] / "tests" / "compat" / "ports.py"
_spec = importlib.util.spec_from_file_location("strom_test_ports", _SHARED)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

free_ports = _module.free_ports

"""The checked-in type stubs match the native module: every public name
and method of strom._strom is in strom/_strom.pyi and nothing else is, and
mypy --strict accepts the examples against the stubs."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import strom._strom as native

REPO_ROOT = Path(__file__).resolve().parents[2]
STUB = REPO_ROOT / "python" / "strom" / "_strom.pyi"
# Dunder methods worth typing; the rest come from `object`.
TYPED_DUNDERS = {"__len__", "__enter__", "__exit__", "__hash__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"}


def _public(name: str) -> bool:
    return not name.startswith("__") or name in TYPED_DUNDERS


def stub_names() -> dict[str, set[str] | None]:
    """Top-level names of the stub; for classes, their member names."""
    tree = ast.parse(STUB.read_text())
    names: dict[str, set[str] | None] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members: set[str] = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            names[node.name] = {m for m in members if _public(m) and m != "__init__"}
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
    # Aliases used by the stub itself are not module members.
    for alias in ("Payload", "HeaderValue", "Headers", "Config", "DeliveryCallback", "RebalanceCallback"):
        names.pop(alias, None)
    return names


def module_names() -> dict[str, set[str] | None]:
    names: dict[str, set[str] | None] = {}
    for name in dir(native):
        if name.startswith("__") and name != "__version__":
            continue
        value = getattr(native, name)
        if isinstance(value, type):
            members = {member for member in vars(value) if _public(member)}
            names[name] = members
        else:
            names[name] = None
    return names


def test_the_stub_names_what_the_module_has() -> None:
    stub, module = stub_names(), module_names()
    assert sorted(set(module) - set(stub)) == [], "in the module, missing from _strom.pyi"
    assert sorted(set(stub) - set(module)) == [], "in _strom.pyi, not in the module"
    for name, members in module.items():
        if members is None:
            continue
        expected = stub[name] or set()
        assert sorted(members - expected) == [], f"{name}: members missing from _strom.pyi"
        assert sorted(expected - members) == [], f"{name}: _strom.pyi has members the module lacks"


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (scripts/setup installs it)")
def test_mypy_strict_accepts_the_package_and_the_examples() -> None:
    examples = sorted(str(p) for p in (REPO_ROOT / "examples" / "python").glob("*.py") if p.name != "test_examples.py")
    # The installed package (its stubs and Python modules), then the
    # examples as a user's code checked against it.
    for targets in (["-p", "strom"], examples):
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *targets],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT / "examples" / "python",
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr

"""The package as a user gets it: a fresh venv with nothing but the wheel,
the `strom` console script, the bundled broker and its pytest fixture, and
the client's log lines in Python's `logging`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import venv
from pathlib import Path

import pytest

import strom
from strom.testing import Broker, BrokerStartError


@pytest.mark.skipif(not os.environ.get("STROM_TEST_WHEEL"), reason="STROM_TEST_WHEEL names the built wheel (scripts/test sets it)")
def test_a_fresh_venv_needs_nothing_but_the_wheel(tmp_path: Path) -> None:
    target = tmp_path / "venv"
    venv.create(target, with_pip=True, system_site_packages=False)
    python = target / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check", os.environ["STROM_TEST_WHEEL"]],
        check=True,
        timeout=300,
    )
    check = textwrap.dedent(
        """
        import strom
        from strom.testing import Broker, BrokerStartError
        with Broker() as bootstrap:
            producer = strom.Producer({"bootstrap.servers": bootstrap})
            producer.produce("fresh", b"x")
            assert producer.flush(10) == 0
        print("ok")
        """
    )
    done = subprocess.run([str(python), "-c", check], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
    version = subprocess.run([str(target / "bin" / "strom"), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("strom "), version.stdout + version.stderr


def test_the_bundled_broker_is_ready_in_well_under_a_second() -> None:
    started = time.monotonic()
    with Broker() as bootstrap:
        ready_after = time.monotonic() - started
        host, port = bootstrap.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        producer = strom.Producer({"bootstrap.servers": bootstrap})
        producer.produce("ready", b"x")
        assert producer.flush(10) == 0
    # Not a timing assertion on the client: the broker's start-up is the
    # feature (the "ready in well under a second").
    assert ready_after < 5, ready_after


def test_broker_stop_removes_its_data_dir() -> None:
    broker = Broker()
    broker.start()
    data_dir = Path(broker.data_dir)
    assert data_dir.is_dir()
    broker.stop()
    assert not data_dir.exists()


def test_a_test_process_killed_without_stop_takes_its_broker_and_dir_with_it() -> None:
    script = "from strom.testing import Broker; b = Broker(); print(b.start(), b.data_dir, flush=True); input()"
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert parent.stdout is not None
    bootstrap, data_dir = parent.stdout.readline().decode().split()
    host, port = bootstrap.rsplit(":", 1)
    assert Path(data_dir).is_dir()
    with socket.create_connection((host, int(port)), timeout=5):
        pass
    parent.kill()  # SIGKILL: no stop(), no atexit
    parent.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except OSError:
            if not Path(data_dir).exists() and not Path(f"{data_dir}.log").exists():
                break
        time.sleep(0.05)
    else:
        raise AssertionError(f"broker {bootstrap} still serving, or {data_dir} (or its log) still there")


def test_a_broker_that_fails_to_start_shows_its_log_and_leaves_no_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(**kwargs: str) -> str:
        made.append(real_mkdtemp(**kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    with pytest.raises(BrokerStartError, match="num.partitions"):
        Broker({"num.partitions": "zero"}).start()
    [data_dir] = made
    assert not Path(data_dir).exists()
    assert not Path(f"{data_dir}.log").exists()


def test_broker_settings_apply() -> None:
    with Broker({"num.partitions": "4"}) as bootstrap:
        producer = strom.Producer({"bootstrap.servers": bootstrap})
        producer.produce("auto-created", b"x")
        producer.flush(10)
        metadata = producer.list_topics("auto-created", timeout=10)
        assert len(metadata.topics["auto-created"].partitions) == 4


def test_the_pytest_fixture_is_installed_with_the_package(pytester_free_tmp: Path) -> None:
    test_file = pytester_free_tmp / "test_user.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import strom

            def test_uses_the_fixture(strom_broker):
                producer = strom.Producer({"bootstrap.servers": strom_broker})
                producer.produce("user-topic", b"x")
                assert producer.flush(10) == 0
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=pytester_free_tmp,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.fixture
def pytester_free_tmp(tmp_path: Path) -> Path:
    """A directory outside the repository, so the inner pytest run sees no
    conftest of ours: only the installed plugin."""
    return tmp_path


def test_client_log_lines_go_to_the_strom_logger(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import logging, sys
        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(name)s|%(levelname)s|%(message)s")
        import strom
        from strom.testing import Broker, BrokerStartError
        with Broker() as bootstrap:
            consumer = strom.Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
            consumer.subscribe(["logged"])
            for _ in range(20):
                consumer.poll(0.1)
                if consumer.assignment():
                    break
            consumer.close()
        import time; time.sleep(0.5)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("strom.")]
    assert lines, done.stdout
    assert any("group=g" in line for line in lines), lines

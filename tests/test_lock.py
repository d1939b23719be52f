"""One driver per records folder: a second one is refused naming the holder, a lock left
by a dead process is taken over, the lock is re-entrant and released however a sweep ends."""
import json
import os
import socket
import subprocess
import sys
import textwrap

import flax.linen as nn
import pytest

from _tiny import tiny_data
from dof_helpers import engine
from dof_helpers.engine import lock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Lin(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(x.reshape((x.shape[0], -1)))


def _holder(folder, then="import time; time.sleep(60)"):
    """Another driver process taking the lock of ``folder``; returns once it holds it."""
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        from dof_helpers.engine import lock
        with lock.records_lock({str(folder)!r}):
            print("held", flush=True)
            {then}
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_driver_is_refused_naming_the_holder(tmp_path):
    ds = tiny_data(n=64, n_test=32)
    config = engine.SweepConfig(methods=("random_affine",), d_values=(2,), epochs=1, batch_size=32)
    proc = _holder(tmp_path)
    try:
        with pytest.raises(engine.RecordsLocked) as err:
            engine.run_sweep(config, Lin(), ds, tmp_path / "r.jsonl", progress=False)  # in-process executor
        msg = str(err.value)
        assert f"host {socket.gethostname()}" in msg and f"pid {proc.pid}" in msg and "started 20" in msg
        assert not (tmp_path / "r.jsonl").exists()  # refused before any work
    finally:
        proc.kill()
        proc.wait()
    # its holder is gone (SIGKILL: the file is still there): the next driver takes over and runs
    assert (tmp_path / engine.LOCK_NAME).exists()
    records = engine.run_sweep(config, Lin(), ds, tmp_path / "r.jsonl", progress=False)
    assert len(records) == 1 and not (tmp_path / engine.LOCK_NAME).exists()


def test_a_stale_lock_is_taken_over(tmp_path):
    proc = _holder(tmp_path, then="import os; os._exit(0)")  # dies holding it
    proc.wait()
    assert json.loads((tmp_path / engine.LOCK_NAME).read_text())["pid"] == proc.pid
    with engine.records_lock(tmp_path):
        assert json.loads((tmp_path / engine.LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / engine.LOCK_NAME).exists()


def test_a_reused_pid_is_not_a_holder(tmp_path):
    me = json.dumps({"host": socket.gethostname(), "pid": 1, "started": "2020-01-01T00:00:00+00:00",
                     "pid_start": -1})  # pid 1 runs, but it is not the process that took the lock
    (tmp_path / engine.LOCK_NAME).write_text(me)
    if lock._proc_start(1) is None:
        pytest.skip("no /proc: a reused pid cannot be told apart here")
    with engine.records_lock(tmp_path):
        pass


def test_a_lock_of_another_host_is_refused_with_what_to_do(tmp_path):
    (tmp_path / engine.LOCK_NAME).write_text(json.dumps({"host": "node-17", "pid": 4242,
                                                         "started": "2026-01-01T10:00:00+00:00"}))
    with pytest.raises(engine.RecordsLocked, match=r"host node-17, pid 4242, started 2026-01-01.*delete .*\.sweep\.lock"):
        with engine.records_lock(tmp_path):
            pass


def test_re_entrant_and_released_on_an_exception(tmp_path):
    path = tmp_path / engine.LOCK_NAME
    with pytest.raises(KeyError):
        with engine.records_lock(tmp_path):
            with engine.records_lock(tmp_path):  # a chapter holding it around several sweeps
                assert lock.held(tmp_path)
            assert path.exists() and lock.held(tmp_path)  # the inner exit keeps it
            raise KeyError("boom")
    assert not path.exists() and not lock.held(tmp_path)
    proc = _holder(tmp_path, then="")  # another process can take it now, and releases it
    proc.wait()
    assert proc.returncode == 0 and not path.exists()


def _settings_of_a_running_driver(folder):
    """A folder as a driver on another host leaves it mid-sweep: its lock and its settings."""
    settings = {"state": "running", "completion": {"done": 3, "expected": 10},
                "updated_utc": "2026-01-01T00:05:00+00:00"}
    (folder / "settings.json").write_text(json.dumps(settings))
    lock.lock_path(folder).write_text(json.dumps({"host": "node-17", "pid": 4242,
                                                  "started": "2026-01-01T00:00:00+00:00"}))
    return settings


def test_status_while_a_driver_runs_reads_its_settings_instead_of_failing(tmp_path):
    settings = _settings_of_a_running_driver(tmp_path)
    refreshed = []
    info = lock.refresh_or_read(tmp_path, tmp_path / "settings.json", lambda: refreshed.append(1))
    assert not refreshed, "settings must not be rewritten while another driver holds the folder"
    assert info["completion"] == settings["completion"] and info["state"] == "running"
    assert info["driver"] == {"host": "node-17", "pid": 4242, "started": "2026-01-01T00:00:00+00:00"}
    assert json.loads((tmp_path / "settings.json").read_text()) == settings
    lock.lock_path(tmp_path).unlink()  # no driver: refreshed under the lock, which is then released
    assert lock.refresh_or_read(tmp_path, tmp_path / "settings.json", lambda: {"state": "partial"}) == {
        "state": "partial"}
    assert not lock.lock_path(tmp_path).exists()


def test_status_of_a_locked_folder_without_settings_still_names_the_driver(tmp_path):
    _settings_of_a_running_driver(tmp_path)
    (tmp_path / "settings.json").unlink()
    with pytest.raises(engine.RecordsLocked, match="pid 4242"):
        lock.refresh_or_read(tmp_path, tmp_path / "settings.json", lambda: {})


def test_phase_transition_status_command_reports_a_running_sweep(tmp_path, capsys):
    from dof_helpers.chapters import phase_transition
    settings = _settings_of_a_running_driver(tmp_path)
    (tmp_path / "settings.json").rename(tmp_path / phase_transition.SETTINGS_FILE)
    assert phase_transition.main(["status", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["completion"] == settings["completion"] and out["driver"]["pid"] == 4242

"""Run a command so that mode bits bind, even when the tests run as root.

Root ignores mode bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so ``chmod 000`` on a
folder gives root no EACCES to observe. The child drops those two capabilities from
its bounding set before ``exec``; on exec a uid-0 process gets only what the bounding
set allows, so it stays root (it can still run the interpreter, which may live under
a 0700 ``/root``, as here: a switch to uid 65534 could not even start Python) but now
gets a real ``EACCES`` from a folder at mode 000 or 0311. Not root: nothing to drop.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PR_CAPBSET_DROP = 24  # <linux/prctl.h>
CAP_DAC_OVERRIDE = 1  # <linux/capability.h>
CAP_DAC_READ_SEARCH = 2


def _drop_dac() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _preexec() -> Callable[[], None] | None:
    return _drop_dac if os.geteuid() == 0 else None


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``args`` in a subprocess where mode bits bind; stdout and stderr as text."""
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                          preexec_fn=_preexec())
    assert proc.returncode >= 0, "killed by a signal"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def require_binding_modes(tmp_path: Path) -> None:
    """Skip (saying why) where mode bits cannot be made to bind: root in a container
    without CAP_SETPCAP. Everywhere else this proves the subprocess sees EACCES."""
    probe = tmp_path / "mode-probe"
    probe.mkdir(mode=0)
    try:
        proc = subprocess.run([sys.executable, "-c", f"import os; os.listdir({str(probe)!r})"],
                              capture_output=True, text=True, timeout=60,
                              preexec_fn=_preexec())
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop root's override of mode bits here: {exc}")
    finally:
        probe.rmdir()
    if proc.returncode == 0:
        pytest.skip("mode bits do not bind here (root keeps CAP_DAC_OVERRIDE)")
    assert "PermissionError" in proc.stderr


@contextlib.contextmanager
def chmodded(path: Path, mode: int) -> Iterator[None]:
    """``path`` at ``mode`` for the block; its mode restored after (so cleanup works)."""
    before = os.stat(path).st_mode & 0o7777
    os.chmod(path, mode)
    try:
        yield
    finally:
        os.chmod(path, before)

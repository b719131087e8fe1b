"""The parent side of the persistent Blender worker (tk.blender.serve): start it, send a job, wait with a timeout
and a memory cap, and replace it when it crashes, hangs or grows past the cap. Its stderr goes to a log file whose
tail is kept in the error of a failed job. Every stage's Blender work goes through this one process type."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tk.blender.protocol import read_message, write_message
from tk.blender.serve import PRELOAD_ENV, THREADS_ENV

STARTUP_TIMEOUT = 120.0


class WorkerDied(Exception):
    """The worker process crashed, hung past its timeout, or broke the protocol; it has been killed."""


class WorkerProcess:
    """One persistent `python -m tk.blender.serve` subprocess."""

    def __init__(self, env: dict[str, str] | None = None, max_memory_gb: float = 0.0, threads: int = 0,
                 log_dir: str | None = None, preload: tuple[str, ...] = ()) -> None:
        # threads > 0: Blender's task pool is sized for that many threads (see tk.blender.serve.cpu_mask);
        # preload: the modules of the job types it will run, imported when it starts (others on first use)
        self.env = {**os.environ, **(env or {}), **({THREADS_ENV: str(threads)} if threads > 0 else {}),
                    **({PRELOAD_ENV: ",".join(preload)} if preload else {})}
        self.max_rss_kb = int(max_memory_gb * 2**20)  # 0: no limit
        self.proc: subprocess.Popen[bytes] | None = None
        # log_dir is the job's --out/logs when this node sees it (one machine, shared filesystem); never created
        # here, so a node that does not share the driver's disk logs to its temp folder instead
        where = log_dir if log_dir and os.path.isdir(log_dir) else None
        fd, self.log_path = tempfile.mkstemp(prefix="worker-" if where else "tk-blender-worker-", suffix=".log", dir=where)
        os.close(fd)
        # append mode: the log can be truncated between jobs while the worker keeps writing at its end
        self.log = open(self.log_path, "ab")
        self.started = 0
        self.blender = ""

    def start(self) -> None:
        """Start (or restart) the subprocess and wait until bpy is imported."""
        self.stop()
        self.log.truncate(0)
        # its own session, so a kill reaches everything Blender may have spawned
        self.proc = subprocess.Popen(_worker_command(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=self.env, start_new_session=True)
        self.started += 1
        hello = self._receive(STARTUP_TIMEOUT, "starting")
        self.blender = hello.get("blender", "")

    @property
    def pid(self) -> int | None:
        """The subprocess's pid (None when not running)."""
        return self.proc.pid if self.proc else None

    def run(self, job: dict[str, Any], timeout: float, doing: str = "running a job") -> dict[str, Any]:
        """Send one job and return its result; raise WorkerDied (after killing the process) on crash, timeout or
        memory over the cap. `doing` names the work in that error ("rendering", "probing")."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self.log.truncate(0)  # keep only this job's stderr, so the log stays small over thousands of objects
        try:
            write_message(self.proc.stdin, job)
        except (BrokenPipeError, OSError):
            raise self._died("the worker was gone before the job was sent") from None
        return self._receive(timeout, doing)

    def _receive(self, timeout: float, doing: str) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            # wake up every second to watch the worker's memory; one huge file must not take the machine down
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._died(f"timed out after {timeout:g} s while {doing}")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if ready:
                break
            rss = _rss_kb(self.proc.pid)
            if self.max_rss_kb and rss > self.max_rss_kb:
                raise self._died(f"used {rss / 2**20:.1f} GB, over the {self.max_rss_kb / 2**20:g} GB memory limit, "
                                 f"while {doing}")
        try:
            msg = read_message(self.proc.stdout)
        except Exception as e:  # a half-written message: the process died mid-write
            raise self._died(f"broken result stream ({type(e).__name__})") from None
        if msg is None:
            raise self._died(f"the worker died while {doing}")
        return msg

    def _died(self, what: str) -> WorkerDied:
        code = self._kill()
        if code is not None and code < 0:
            what += f" (signal {signal.Signals(-code).name})"
        elif code:
            what += f" (exit code {code})"
        tail = self.stderr_tail()
        return WorkerDied(f"{what}; worker stderr: {tail}" if tail else what)

    def _kill(self) -> int | None:
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        code = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream:
                stream.close()
        return code

    def stderr_tail(self, lines: int = 3) -> str:
        """The last lines of the worker's stderr that say something (Blender's progress lines dropped)."""
        self.log.flush()
        with open(self.log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(self.log_path) - 8192))
            text = f.read().decode("utf-8", "replace")
        keep = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(("Fra:", "Saved:"))]
        return " | ".join(keep[-lines:])[-400:]

    def stop(self) -> None:
        """Close the worker: end its input so it exits, kill it if it does not within a few seconds."""
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, OSError):
            pass
        self._kill()

    def close(self) -> None:
        """Stop the process and delete its log."""
        self.stop()
        self.log.close()
        try:
            os.unlink(self.log_path)
        except FileNotFoundError:
            pass


def clear_logs(log_dir: Path) -> None:
    """Delete the logs of workers whose owner was killed (a closed worker deletes its own), then the folder."""
    if not log_dir.is_dir():
        return
    for p in log_dir.glob("worker-*.log"):
        p.unlink(missing_ok=True)
    try:
        log_dir.rmdir()
    except OSError:  # something else is in it: not ours to delete
        pass


def _worker_command() -> list[str]:
    """`python -m tk.blender.serve`; on Linux it is first bound to die with this process (PR_SET_PDEATHSIG).

    A Ray actor killed by Ray, or lost with its node, must not leave Blender rendering on: its own session
    (for clean kills) keeps it out of the actor's process group, so only this binding ends it.
    """
    if not sys.platform.startswith("linux"):
        return [sys.executable, "-m", "tk.blender.serve"]
    # PR_SET_PDEATHSIG = 1, SIGKILL = 9; if the parent died before the binding, the parent pid has changed
    code = ("import ctypes, os, runpy, sys; ctypes.CDLL(None).prctl(1, 9); "
            "os.getppid() == int(sys.argv[1]) or os._exit(1); "
            "runpy.run_module('tk.blender.serve', run_name='__main__', alter_sys=True)")
    return [sys.executable, "-c", code, str(os.getpid())]


def _rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


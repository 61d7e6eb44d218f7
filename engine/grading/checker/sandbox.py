"""A persistent worker process that runs one function call at a time under a hard time and memory stop.

Why a process: an alarm signal only interrupts Python between bytecodes, so it cannot stop a
single huge integer power inside C; killing a process always works. Why a persistent worker:
forking per check costs far more than the check itself. The parent sends ``(fn, args)`` over a
pipe, waits with a timeout and, on timeout, SIGKILLs the worker; a fresh one is forked lazily on
the next call. The worker caps its address space (``RLIMIT_AS``) so a memory blow-up becomes a
``MemoryError`` there, reported as ``status="memory"``, instead of the machine swapping.
The modules the calls need (by default SymPy and the checker's evaluation) are imported here
before the fork, and a ``module:function`` entry is also called (the checker's runs one small
check), so that no call's time limit pays for imports or SymPy's first-use set-up.

Functions and arguments must be picklable (module-level functions, plain data, SymPy objects).
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import multiprocessing.process
    from multiprocessing.connection import Connection

__all__ = ["DEFAULT_TIMEOUT", "Sandbox", "SandboxResult", "default_sandbox"]

DEFAULT_TIMEOUT = 2.0
DEFAULT_MEMORY = 2 * 1024**3
# What the checker's calls run: SymPy and mpmath come with it.
CHECKER_MODULES = ("engine.grading.checker.expected:warm_up",)

Status = Literal["ok", "error", "timeout", "memory", "crashed"]


@dataclass(frozen=True)
class SandboxResult:
    """Outcome of one call: ``value`` is set for "ok", ``error`` names the failure otherwise."""

    status: Status
    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _current_address_space() -> int:
    """Bytes of virtual memory this process maps now (0 if unknown)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(extra_bytes: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Linux
        return
    # The fork inherits the parent's mappings, so the cap is relative to what is already mapped;
    # an absolute cap below that would make every allocation fail.
    limit = _current_address_space() + extra_bytes
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # pragma: no cover - a stricter outer limit already applies
        pass


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this worker when the parent dies, so no orphan keeps computing."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def _worker_main(
    conn: Connection, parent_end: Connection, memory_bytes: int, parent_pid: int, watch: bool
) -> None:
    # The forked child holds a copy of the parent's end; closing it lets recv() see EOF
    # as soon as the parent is gone.
    parent_end.close()
    # Ctrl-C in a terminal reaches the whole process group; the parent decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if watch:
        _die_with_parent(parent_pid)
    _limit_memory(memory_bytes)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args, kwargs = message
        try:
            reply: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except MemoryError:
            reply = ("memory", None)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, none kills us
            reply = ("error", f"{type(exc).__name__}: {str(exc)[:200]}")
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", None))
        except Exception as exc:  # an unpicklable return value
            conn.send(("error", f"{type(exc).__name__}: {str(exc)[:200]}"))


class Sandbox:
    """One lazily started worker process; ``run`` calls are serialised by a lock."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_bytes: int = DEFAULT_MEMORY,
        max_calls: int = 20_000,
        preload: tuple[str, ...] = CHECKER_MODULES,
    ) -> None:
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.preload = preload
        # Recycling the worker now and then bounds slow growth (caches, fragmentation).
        self.max_calls = max_calls
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._calls = 0
        self._pid_owner = os.getpid()

    def run(
        self, fn: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> SandboxResult:
        """Call ``fn(*args, **kwargs)`` in the worker; never raises for anything ``fn`` does."""
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            start = time.monotonic()
            try:
                conn = self._ensure_worker()
                conn.send((fn, args, kwargs))
            except (OSError, EOFError, ValueError):
                self._kill()
                return SandboxResult("crashed", error="worker unavailable")
            except Exception as exc:  # the call itself could not be pickled
                return SandboxResult("error", error=f"{type(exc).__name__}: {str(exc)[:200]}")
            self._calls += 1
            try:
                ready = conn.poll(limit)
                if not ready:
                    self._kill()
                    return SandboxResult(
                        "timeout", error=f"no answer within {limit:g} s", seconds=limit
                    )
                status, payload = conn.recv()
            except (EOFError, OSError):
                self._kill()
                return SandboxResult(
                    "crashed", error="worker died", seconds=time.monotonic() - start
                )
            seconds = time.monotonic() - start
            if status == "memory":
                self._kill()  # a worker that ran out of memory may be in a poor state
                return SandboxResult("memory", error="memory limit exceeded", seconds=seconds)
            if self._calls >= self.max_calls:
                self._kill()
            if status == "ok":
                return SandboxResult("ok", value=payload, seconds=seconds)
            return SandboxResult("error", error=payload, seconds=seconds)

    def close(self) -> None:
        """Stop the worker (it is restarted by the next ``run``)."""
        with self._lock:
            self._kill()

    @property
    def pid(self) -> int | None:
        """Process id of the current worker, if one is running."""
        return self._process.pid if self._process is not None else None

    def _ensure_worker(self) -> Connection:
        if os.getpid() != self._pid_owner:
            # We are a forked copy of the owner: the worker handles belong to the parent.
            self._process, self._conn, self._pid_owner = None, None, os.getpid()
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            return self._conn
        self._kill()
        for entry in self.preload:
            module, _, function = entry.partition(":")
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        import multiprocessing  # here: a run that never starts a worker does not load it

        context: Any = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
        parent_conn, child_conn = context.Pipe(duplex=True)
        process = context.Process(
            target=_worker_main,
            # PDEATHSIG fires when the forking *thread* exits, so only arm it from the main one.
            args=(
                child_conn,
                parent_conn,
                self.memory_bytes,
                os.getpid(),
                threading.current_thread() is threading.main_thread(),
            ),
            name="quizwright-sandbox",
            daemon=True,
        )
        process.start()
        child_conn.close()
        conn: Connection = parent_conn
        self._process, self._conn, self._calls = process, conn, 0
        return conn

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process, self._conn = None, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        if process is not None and os.getpid() == self._pid_owner:
            try:
                process.kill()
                process.join(timeout=5)
            except (OSError, ValueError, AssertionError):
                pass


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox, created on first use and stopped at interpreter exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default

"""Bounded retries of reads from remote storage (s3://, gs://, any fsspec URL), where transient errors are routine.

A read is tried up to `tries` times. After the k-th failure it waits FIRST_WAIT_S * 2**(k-1) s (1, 2, 4, 8 s ..., at
most MAX_WAIT_S: an outage of an hour is retried every minute, given tries and budget for it), unless that wait would
end more than `budget_s` after the read began: then, or after the last try, the read fails
with one line naming the file, the tries, the time spent and the last cause (RemoteReadError; the CLI adds what was
kept and the command that continues). Only OSError is retried (timeouts, dropped connections, 5xx answers as the
fsspec and pyarrow clients raise them); a file not found, a permission refused and anything else (a corrupt Parquet
file) fail at once, since another try cannot change them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tk.faults import StoppedError

TRIES = 5  # the first read and 4 retries: waits of 1 + 2 + 4 + 8 = 15 s
BUDGET_S = 120.0  # the most one read may take, its tries and waits together
FIRST_WAIT_S = 1.0
MAX_WAIT_S = 60.0
PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)

# The clock and the wait, module attributes so that tests run the backoff without sleeping.
clock: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep

T = TypeVar("T")


class RemoteReadError(StoppedError):
    """A read of remote storage that still failed after its tries or its time budget."""

    fix = "check the storage"


@dataclass(frozen=True)
class ReadPolicy:
    """How long one read is retried; `settings` names where the user sets it (quoted in the error)."""

    tries: int = TRIES
    budget_s: float = BUDGET_S
    settings: str = "data.read_tries, data.read_budget_s"


def read(policy: ReadPolicy, url: str, fn: Callable[[], T], retried: Callable[[], None] = lambda: None) -> T:
    """`fn()`, tried again on an OSError as `policy` allows; `retried()` is called before each retry (the counts)."""
    start = clock()
    for attempt in range(1, policy.tries + 1):
        try:
            return fn()
        except PERMANENT:
            raise
        except OSError as e:
            elapsed = clock() - start
            wait = min(FIRST_WAIT_S * 2 ** (attempt - 1), MAX_WAIT_S)
            if attempt == policy.tries or elapsed + wait > policy.budget_s:
                times = f"{attempt} times" if attempt > 1 else "once"
                raise RemoteReadError(f"reading {url} failed {times} over {elapsed:.1f} s ({type(e).__name__}: {e}; "
                                      f"{policy.settings} allow more tries or time)") from None
        retried()
        sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises

"""Running COSMIC's BSE in killable worker processes with time limits.

COSMIC 4.3.3 has no per-binary time limit, and a few binaries make BSE loop
for minutes. Binaries are therefore evolved in chunks by worker processes
(fresh Python interpreters) that are killed when a chunk overruns; the
binaries of an overrun or failed chunk are re-run one at a time, and any that
overrun or fail alone are dropped and counted. A worker sends back only what
the population synthesis needs from COSMIC's bpp table: the first row at which
both stars are white dwarfs (``first_dwd_rows``), the binaries that were
evolved, and those stopped by a COSMIC error (evol_type >= 100).

References
----------
Breivik K. et al., 2020, ApJ, 898, 71 (COSMIC).
Hurley J. R., Tout C. A., Pols O. R., 2002, MNRAS, 329, 897 (BSE).
Hurley J. R., Pols O. R., Tout C. A., 2000, MNRAS, 315, 543 (stellar types).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import subprocess
import sys
import time
import warnings
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for_connections
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["WD_TYPES", "first_dwd_rows"]

# BSE stellar types of white dwarfs (Hurley et al. 2000) and their composition.
WD_TYPES = {10: "He", 11: "CO", 12: "ONe"}
_BPP_COLUMNS = ["tphys", "mass_1", "mass_2", "kstar_1", "kstar_2", "sep", "porb",
                "ecc", "evol_type", "bin_state"]  # fmt: skip


class _SerialPool:
    """Stands in for COSMIC's process pool so that BSE runs in this process."""

    def map(self, func, items):
        return [func(item) for item in items]

    imap = map


def first_dwd_rows(bpp: pd.DataFrame) -> pd.DataFrame:
    """The first bpp row of each binary in which both stars are white dwarfs.

    Adds ``t_wd_1`` and ``t_wd_2``: the first ``tphys`` (Myr) at which each star
    is a white dwarf, so that each one's cooling age is known (the row's own
    ``tphys`` is when the second of them formed).
    """
    wd = list(WD_TYPES)
    both = bpp["kstar_1"].isin(wd) & bpp["kstar_2"].isin(wd)
    rows = bpp.loc[both].groupby("bin_num", sort=True).head(1).reset_index(drop=True)
    for star in ("1", "2"):
        born = bpp.loc[bpp[f"kstar_{star}"].isin(wd)].groupby("bin_num")["tphys"].min()
        rows[f"t_wd_{star}"] = rows["bin_num"].map(born).to_numpy(dtype=float)
    return rows


def _evolve_chunk(initial: pd.DataFrame, bse_dict: dict[str, Any]) -> dict[str, Any]:
    from cosmic.evolve import Evolve

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bpp = Evolve.evolve(
            initialbinarytable=initial, BSEDict=bse_dict, pool=_SerialPool(),
            bpp_columns=_BPP_COLUMNS,
        )[0]  # fmt: skip
    return {
        "dwd_rows": first_dwd_rows(bpp),
        "evolved": np.unique(bpp["bin_num"].to_numpy()),
        "errored": np.unique(bpp.loc[bpp["evol_type"] >= 100, "bin_num"].to_numpy()),
        "warnings": sorted({str(w.message)[:200] for w in caught}),
    }


def _worker_main(read_fd: int, write_fd: int) -> None:
    """Worker process: evolve chunks read from ``read_fd`` until it reads None."""
    import cosmic.evolve  # noqa: F401  (import before reporting ready)

    tasks, results = (
        Connection(read_fd, writable=False),
        Connection(write_fd, readable=False),
    )
    results.send("ready")
    while (task := tasks.recv()) is not None:
        try:
            results.send(("ok", _evolve_chunk(*task)))
        except Exception as exc:  # BSE failures are reported, not fatal
            results.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    """A python subprocess running ``_worker_main``, killable at any time.

    A fresh interpreter (not multiprocessing) so that callers need no
    ``if __name__ == "__main__"`` guard and no fork happens in a threaded
    parent; BSE's console output is discarded.
    """

    def __init__(self) -> None:
        task_read, task_write = os.pipe()
        result_read, result_write = os.pipe()
        code = (
            "from simfer.sims.cosmic_workers import _worker_main; "
            f"_worker_main({task_read}, {result_write})"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code],
            pass_fds=(task_read, result_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        os.close(task_read)
        os.close(result_write)
        self.tasks = Connection(task_write, readable=False)
        self.conn = Connection(result_read, writable=False)
        if not self.conn.poll(300.0) or self.conn.recv() != "ready":
            self.kill()
            raise RuntimeError("COSMIC worker process did not start within 300 s")
        self.task: np.ndarray | None = None
        self.deadline = math.inf

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.tasks.close()
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.tasks.send(None)
        try:
            self.process.wait(timeout=10.0)
            self.tasks.close()
            self.conn.close()
        except subprocess.TimeoutExpired:
            self.kill()


def _evolve_with_timeouts(
    initial: pd.DataFrame,
    bse_dict: dict[str, Any],
    n_proc: int,
    chunk_size: int,
    timeout_per_binary: float,
    chunk_timeout: tuple[float, float] = (10.0, 0.2),
) -> dict[str, Any]:
    """Evolve ``initial`` in ``n_proc`` worker processes with time limits.

    A chunk of k binaries may take chunk_timeout[0] + chunk_timeout[1] * k
    seconds (by default over ten times the typical 20-40 ms per binary). A
    chunk that overruns, fails or kills its worker is split into single
    binaries, each allowed ``timeout_per_binary`` seconds; single binaries
    that overrun or fail are dropped and returned as timed_out or failed.
    """
    positions = np.arange(len(initial))
    queue = collections.deque(
        positions[i : i + chunk_size] for i in range(0, len(positions), chunk_size)
    )
    workers: list[_Worker | None] = [None] * n_proc
    out: dict[str, list] = {"dwd_rows": [], "evolved": [], "errored": []}
    dropped: dict[str, list[int]] = {"timed_out": [], "failed": []}
    messages: set[str] = set()
    n_done, next_report = 0, 0.1

    def give_up_or_split(rows: np.ndarray, kind: str, why: str) -> None:
        if len(rows) == 1:
            dropped[kind].append(int(initial["bin_num"].iloc[rows[0]]))
            logger.warning("Dropped binary %d: %s", dropped[kind][-1], why)
        else:
            logger.info("Chunk of %d binaries %s; re-running singly", len(rows), why)
            queue.extend(rows[i : i + 1] for i in range(len(rows)))

    try:
        while queue or any(w is not None and w.task is not None for w in workers):
            for i, worker in enumerate(workers):
                if queue and (worker is None or worker.task is None):
                    workers[i] = worker = worker or _Worker()
                    rows = queue.popleft()
                    worker.tasks.send((initial.iloc[rows], bse_dict))
                    worker.task = rows
                    limit = timeout_per_binary
                    if len(rows) > 1:
                        limit = chunk_timeout[0] + chunk_timeout[1] * len(rows)
                    worker.deadline = time.monotonic() + limit
            busy = [w for w in workers if w is not None and w.task is not None]
            wait_s = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = wait_for_connections([w.conn for w in busy], wait_s)
            for i, worker in enumerate(workers):
                if worker is None or worker.task is None:
                    continue
                rows = worker.task
                if worker.conn in ready:
                    try:
                        status, result = worker.conn.recv()
                    except (EOFError, OSError):  # BSE ended the worker process
                        worker.kill()
                        workers[i] = None
                        give_up_or_split(rows, "failed", "ended its worker process")
                        continue
                    worker.task = None
                    if status != "ok":
                        give_up_or_split(rows, "failed", f"failed ({result})")
                        continue
                    for key in out:
                        out[key].append(result[key])
                    messages.update(result["warnings"])
                    n_done += len(rows)
                    if n_done >= next_report * len(initial):
                        logger.info("Evolved %d of %d binaries", n_done, len(initial))
                        next_report += 0.1
                elif time.monotonic() >= worker.deadline:
                    worker.kill()
                    workers[i] = None
                    give_up_or_split(rows, "timed_out", "timed out")
    finally:
        for worker in workers:
            if worker is not None:
                worker.stop()
    for message in sorted(messages):
        logger.debug("COSMIC warning: %s", message)
    empty = pd.DataFrame(columns=[*_BPP_COLUMNS, "bin_num"])
    return {
        "dwd_rows": pd.concat(out["dwd_rows"] or [empty], ignore_index=True),
        "evolved": np.concatenate([np.empty(0, int), *out["evolved"]]),
        "errored": np.concatenate([np.empty(0, int), *out["errored"]]),
        "timed_out": np.asarray(dropped["timed_out"], dtype=int),
        "failed": np.asarray(dropped["failed"], dtype=int),
    }

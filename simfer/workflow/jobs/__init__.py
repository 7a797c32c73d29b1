"""Job kinds: what a workflow file can ask simfer to do.

Each job kind declares a pydantic config model (unknown keys rejected, quantities
with units) and a ``run(config, context)`` function. The registry maps the ``kind``
named in a workflow file to its :class:`JobKind`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import numpy as np
from pydantic import BaseModel

__all__ = ["JobInputError", "JobKind", "finite_median", "get_job_kind", "job_kinds"]


class JobInputError(Exception):
    """A run cannot go on because of its inputs, found only while running.

    For example a COSMIC sample that holds no double white dwarf. The message says
    what to change; the CLI prints it without a traceback.
    """


def finite_median(values: Any) -> float:
    """Median of the finite values, for summaries; NaN (written as null) if none."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else float("nan")


@dataclass(frozen=True)
class JobKind:
    """A kind of job a workflow file can name.

    Attributes
    ----------
    name : str
        The value of ``kind:`` in a workflow file.
    description : str
        One line for ``simfer list``.
    config_model : type of pydantic.BaseModel
        Schema of the ``config:`` block.
    run : callable
        ``run(config, context) -> dict``: does the work through the run context and
        returns the flat summary of headline figures.
    summary_keys : dict of str to str
        Documentation of every key the summary may contain.
    """

    name: str
    description: str
    config_model: type[BaseModel]
    run: Callable[[Any, Any], dict[str, Any]]
    summary_keys: dict[str, str]


#: Job kinds by name, with their one-line descriptions. Each module of this package
#: named here defines one kind as a module-level ``JOB``; they are imported only
#: when that kind is used, so that `simfer list` need not load the scientific stack.
JOB_DESCRIPTIONS = {
    "verification_binaries": "SNR and Fisher errors of known Galactic binaries "
    "(Kupfer et al. 2018) for LISA, TianQin and both",
    "dwd_galaxy": "Galactic double white dwarfs (COSMIC + McMillan 2017) detected "
    "by LISA, TianQin and both, with Fisher errors; the eclipsing ones Gaia and "
    "Rubin find",
    "mbhb_fisher": "LISA Fisher forecasts (SNR, parameter errors, sky areas) for "
    "massive black-hole binaries: a list, a mass-redshift grid or a population",
    "mbhb_snl": "parameter estimation of one LISA massive black-hole binary by "
    "sequential neural likelihood (sbi), checked against MCMC",
}


def job_kinds() -> dict[str, JobKind]:
    """All registered job kinds by name (imports every job module)."""
    return {name: get_job_kind(name) for name in JOB_DESCRIPTIONS}


def get_job_kind(name: str) -> JobKind:
    """Look up a job kind by name, importing only its module.

    Raises
    ------
    KeyError
        If no job kind has that name; the message lists the known kinds.
    """
    if name not in JOB_DESCRIPTIONS:
        raise KeyError(
            f"unknown kind {name!r}; known kinds: {', '.join(JOB_DESCRIPTIONS)}"
        )
    return import_module(f"{__name__}.{name}").JOB

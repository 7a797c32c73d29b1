"""Forecasts and inference: signal-to-noise ratios and Fisher matrices.

Modules
-------
snr
    Averaged, per-source and network SNRs of galactic binaries.
fisher
    Fisher-matrix forecasts for quasi-monochromatic binaries.
mbhb_snr
    LISA TDI signals and SNRs of massive black-hole binaries (needs lalsuite,
    the ``gw`` extra; import it directly: ``from simfer.inference import
    mbhb_snr``).
mbhb_fisher
    Fisher-matrix forecasts of massive black-hole binaries for LISA (``gw``
    extra; ``from simfer.inference import mbhb_fisher``).
mbhb_compression
    Whitened score (MOPED) compression of LISA MBHB data to a few statistics
    with exactly known noise, for neural-likelihood inference.
mbhb_likelihood
    Relative-binning (heterodyned) Gaussian log-likelihood of LISA MBHB data,
    for MCMC reference posteriors.
mcmc
    emcee's ensemble sampler run until converged (autocorrelation times, split
    R-hat), with every log-probability evaluation counted.
snl
    Sequential neural likelihood on sbi's NLE trainer: rounds, NaN-safe
    simulation counting, seeded runs, networks saved as weights plus config
    (the ``sbi`` extra).
"""

from simfer.inference.fisher import (
    FisherResult,
    IllConditionedFisherWarning,
    fisher_galactic_binaries,
    fisher_galactic_binary,
)
from simfer.inference.snr import snr_averaged, snr_network, snr_per_source

__all__ = [
    "FisherResult",
    "IllConditionedFisherWarning",
    "fisher_galactic_binaries",
    "fisher_galactic_binary",
    "snr_averaged",
    "snr_network",
    "snr_per_source",
]

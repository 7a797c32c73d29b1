"""Benchmark: SNL against the emcee reference on one LISA MBHB (issue #6's claim).

Runs ``workflows/mbhb_snl.yaml`` (or another ``mbhb_snl`` workflow) in this
process: SNL on score-compressed data in Fisher-whitened parameters, and emcee
on the relative-binning likelihood of the full data until 50 autocorrelation
times and R-hat < 1.01, on the same data. Prints each method's waveform
evaluations and wall time, their ratios, and the agreement of the posteriors
(median offsets in MCMC sigmas, width ratios, C2ST) against the targets of
Martín Vílchez & Sopuerta (2024): at most 2 % of MCMC's simulator calls,
medians within 0.5 sigma, widths within 25 %.

Also times one waveform evaluation of each kind on a batch of the prior's
points: a compressed simulation (sparse waveform, response, projection on the
score) and a relative-binning likelihood.

Usage::

    python benchmarks/bench_snl.py [--workflow FILE] [--set KEY=VALUE ...]

About 10 minutes on 2 cores with the default workflow. Not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from simfer.workflow.runner import prepare, run

ROOT = Path(__file__).resolve().parents[1]


def per_evaluation_costs(prepared, n: int = 512) -> tuple[float, float]:
    """Seconds per compressed simulation and per likelihood, batches of ``n``."""
    import astropy.units as u
    from astropy.cosmology import Planck18

    from simfer.inference.mbhb_inference import MBHBInferenceProblem
    from simfer.workflow.jobs.mbhb_snl import _injection

    config = prepared.config
    problem = MBHBInferenceProblem.build(
        _injection(config.source), config.parameters,
        rng=np.random.default_rng(0), t_obs=float(config.t_obs.to_value(u.s)),
        noise=config.noise.build(), channels=config.channels,
        prior_width=config.prior_width, n_bins=config.n_bins,
        waveform_backend=config.waveform_backend, cosmology=Planck18,
    )  # fmt: skip
    theta = problem.fisher_draws(n, np.random.default_rng(1))
    rng = np.random.default_rng(2)
    problem.simulate(theta[:8], rng)  # compile the JAX kernels for these shapes
    problem.log_posterior(theta[:8])
    start = time.perf_counter()
    problem.simulate(theta, rng)
    simulation = (time.perf_counter() - start) / n
    start = time.perf_counter()
    problem.log_posterior(theta)
    likelihood = (time.perf_counter() - start) / n
    return simulation, likelihood


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workflow", default=str(ROOT / "workflows/mbhb_snl.yaml"))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    prepared = prepare(args.workflow, args.overrides)

    simulation, likelihood = per_evaluation_costs(prepared)
    print(f"one compressed simulation: {1e3 * simulation:.2f} ms; "
          f"one relative-binning likelihood: {1e3 * likelihood:.2f} ms")  # fmt: skip

    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        out = run(prepared, Path(directory) / "run")
        total = time.perf_counter() - start
        summary = json.loads((out / "summary.json").read_text())

    snl, mcmc = summary["snl_simulations"], summary.get("mcmc_likelihood_evaluations")
    print(f"\nworkflow {args.workflow}: {total:.0f} s in all")
    print(f"{'method':<8}{'waveform evaluations':>22}{'seconds':>10}")
    print(f"{'SNL':<8}{snl:>22,d}{summary['snl_seconds']:>10.0f}")
    if mcmc is None:
        print("(MCMC disabled: no comparison)")
        return
    print(f"{'emcee':<8}{mcmc:>22,d}{summary['mcmc_seconds']:>10.0f}")
    ratio = summary["simulation_ratio"]
    print(f"\nSNL / emcee waveform evaluations: {100 * ratio:.2f} % (target <= 2 %)")
    print(
        f"SNL / emcee wall time: {summary['snl_seconds'] / summary['mcmc_seconds']:.2f}"
    )
    print(f"emcee: converged {summary['mcmc_converged']}, "
          f"{summary['mcmc_autocorrelation_times']:.0f} autocorrelation times, "
          f"R-hat {summary['mcmc_max_r_hat']:.4f}")  # fmt: skip
    print(
        f"largest |median offset|: {summary['max_median_offset_sigma']:.3f} "
        "MCMC sigma (target < 0.5)"
    )
    print(f"width ratios: {summary['min_width_ratio']:.3f}-"
          f"{summary['max_width_ratio']:.3f} (target 0.75-1.25)")  # fmt: skip
    print(f"C2ST: {summary['c2st']:.3f} (0.5: indistinguishable)")


if __name__ == "__main__":
    main()

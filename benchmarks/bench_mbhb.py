"""Benchmark: MBHB waveform + LISA response + SNR, simfer against lisabeta.

Both codes do the same job on the same sources in one process: IMRPhenomD
(2,2) on a sparse grid from ``t_obs`` before merger, the full first-generation
A, E, T response (rescaled), and the optimal SNR over A, E, T with SciRDv1
instrument noise (no Galactic foreground). lisabeta runs
``GenerateLISATDISignal_SMBH`` (waveform, response, Fresnel-overlap SNR) in a
Python loop; simfer runs :func:`simfer.inference.mbhb_snr.mbhb_snr` on the
whole batch. Times are wall-clock per source, after a warm-up that compiles the
JAX kernels for the shapes used.

(c) Fisher matrices over the 11 parameters (masses, spins, t_c, phase,
distance, angles) for ``--n-fisher`` sources of the batch: simfer's
:func:`simfer.inference.mbhb_fisher.mbhb_fisher` on the batch against lisabeta's
``fisher_covariance_smbh`` in a loop, with its default steps, and the largest
relative difference of the 1-sigma errors against lisabeta at 1/100 or 1/1000 of
its default steps (where its one-sided differences have converged).

(b') repeats (a) and (b) with ``waveform_backend="jax"`` (IMRPhenomD from
ripple's JAX port, vectorised over the batch).

Usage::

    python benchmarks/bench_mbhb.py [--n-batch 1000] [--repeats 20] [--t-obs 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import astropy.units as u
import lal
import numpy as np

from simfer.inference.mbhb_fisher import mbhb_fisher
from simfer.inference.mbhb_snr import MBHBTDISignal, mbhb_snr, signal_snr
from simfer.sims.lisa_response import tdi_response
from simfer.sims.lisa_tdi_noise import LisaTdiNoise
from simfer.sims.mbhb_sources import MBHBSources, detector_frame
from simfer.sims.mbhb_waveforms import mode_amplitude_phase, sparse_frequency_grid


def random_sources(n, seed):
    """1e5-1e7 Msun (log-uniform, source frame), z 1-5, isotropic angles."""
    rng = np.random.default_rng(seed)
    return MBHBSources.from_total_mass_ratio(
        10 ** rng.uniform(5, 7, n) * u.Msun, rng.uniform(0.1, 1.0, n),
        chi1=rng.uniform(-0.9, 0.9, n), chi2=rng.uniform(-0.9, 0.9, n),
        redshift=rng.uniform(1, 5, n), inclination=np.arccos(rng.uniform(-1, 1, n)),
        phase=rng.uniform(0, 2 * np.pi, n),
        ecliptic_longitude=rng.uniform(0, 2 * np.pi, n),
        ecliptic_latitude=np.arcsin(rng.uniform(-1, 1, n)),
        polarization=rng.uniform(0, np.pi, n), t_c=0.0,
    )  # fmt: skip


def subset(sources, index):
    names = ("m1", "m2", "chi1", "chi2", "redshift", "inclination", "phase")
    names += ("ecliptic_longitude", "ecliptic_latitude", "polarization", "t_c")
    return MBHBSources(**{k: getattr(sources, k)[index] for k in names})


def lisabeta_params(sources):
    frame = detector_frame(sources)
    return [
        {
            "m1": frame.m1[i] / lal.MSUN_SI,
            "m2": frame.m2[i] / lal.MSUN_SI,
            "chi1": sources.chi1[i],
            "chi2": sources.chi2[i],
            "Deltat": 0.0,
            "dist": frame.luminosity_distance[i] / (1e6 * lal.PC_SI),
            "inc": sources.inclination[i],
            "phi": sources.phase[i],
            "lambda": sources.ecliptic_longitude[i],
            "beta": sources.ecliptic_latitude[i],
            "psi": sources.polarization[i],
        }
        for i in range(len(sources))
    ]


def lisabeta_snr(params, t_obs_yr):
    import lisabeta.lisa.lisa as lisa
    from lisabeta.lisa import pyLISAnoise

    noise = pyLISAnoise.LISAnoiseSciRDv1 | {"WDbackground": False}
    return np.array(
        [
            lisa.GenerateLISATDISignal_SMBH(
                p,
                approximant="IMRPhenomD",
                modes=[(2, 2)],
                timetomerger_max=t_obs_yr,
                Mfmax_model=0.2,
                TDIrescaled=True,
                LISAnoise=noise,
            )["SNR"]
            for p in params
        ]
    )


LISABETA_FISHER_ORDER = ("M", "q", "chi1", "chi2", "Deltat", "dist", "inc", "phi",
                         "lambda", "beta", "psi")  # fmt: skip


def lisabeta_fisher_errors(params, t_obs_yr, step_factor):
    """1-sigma errors of lisabeta's Fisher matrix in its parameters, per source."""
    import lisabeta.lisa.lisa_fisher as lisa_fisher
    from lisabeta.lisa import pyLISAnoise

    noise = pyLISAnoise.LISAnoiseSciRDv1 | {"WDbackground": False}
    out = []
    for p in params:
        p = p | {"M": p["m1"] + p["m2"], "q": p["m1"] / p["m2"]}
        steps = {
            k: v * step_factor
            for k, v in lisa_fisher.get_default_steps_smbh(p["M"]).items()
        }
        cov = lisa_fisher.fisher_covariance_smbh(
            p, steps=steps, list_params=list(LISABETA_FISHER_ORDER),
            approximant="IMRPhenomD", modes=[(2, 2)], timetomerger_max=t_obs_yr,
            Mfmax_model=0.2, TDIrescaled=True, LISAnoise=noise,
        )["cov"]  # fmt: skip
        out.append(np.sqrt(np.diag(cov)))
    return np.array(out)


def simfer_fisher_in_lisabeta_parameters(result, params):
    """Our errors mapped to lisabeta's (M, m1/m2, ..., D_L in Mpc) by the Jacobian."""
    out = []
    names = list(result.parameter_names)
    ours = {"chi1": "chi1", "chi2": "chi2", "Deltat": "t_c", "dist": "log_distance",
            "inc": "inclination", "phi": "phase", "lambda": "ecliptic_longitude",
            "beta": "ecliptic_latitude", "psi": "polarization"}  # fmt: skip
    for i, p in enumerate(params):
        q, total = p["m2"] / p["m1"], p["m1"] + p["m2"]
        jac = np.zeros((11, 11))
        jac[0, 0], jac[0, 1] = total, total * (-0.6 * (1 - q) / (q * (1 + q)))
        jac[1, 1] = -1 / q**2
        for row, name in enumerate(LISABETA_FISHER_ORDER[2:], start=2):
            jac[row, names.index(ours[name])] = p["dist"] if name == "dist" else 1.0
        out.append(np.sqrt(np.diag(jac @ result.covariance[i] @ jac.T)))
    return np.array(out)


def fisher_comparison(sources, t_obs, t_obs_yr, noise):
    """Times (s/src) of simfer and lisabeta Fisher matrices, and their agreement."""
    options = dict(t_obs=t_obs, noise=noise, channels="AET")
    mbhb_fisher(sources, **options)  # compile
    start = time.perf_counter()
    result = mbhb_fisher(sources, **options)
    ours = (time.perf_counter() - start) / len(sources)
    params = lisabeta_params(sources)
    start = time.perf_counter()
    default = lisabeta_fisher_errors(params, t_obs_yr, 1.0)
    theirs = (time.perf_counter() - start) / len(sources)
    mapped = simfer_fisher_in_lisabeta_parameters(result, params)
    # lisabeta's one-sided differences converge at different steps for
    # different sources: compare with the closer of steps / 100 and / 1000
    deviations = [
        np.abs(mapped / lisabeta_fisher_errors(params, t_obs_yr, f) - 1).max(axis=1)
        for f in (0.01, 0.001)
    ]
    default_deviation = np.abs(
        default / lisabeta_fisher_errors(params, t_obs_yr, 0.001) - 1
    ).max(axis=1)
    return ours, theirs, np.minimum(*deviations), default_deviation


def staged(sources, t_obs, noise, n_grid):
    """The pipeline of mbhb_snr step by step; returns SNRs and stage times (s)."""
    t = [time.perf_counter()]
    grid = sparse_frequency_grid(sources, n_grid, 1e-5, t_obs)
    wf = mode_amplitude_phase(sources, grid)[(2, 2)]
    t.append(time.perf_counter())
    sparse = tdi_response(
        wf.frequency[:, None], wf.amplitude[:, None], wf.phase[:, None],
        wf.time[:, None], ((2, 2),), sources.inclination, sources.phase,
        sources.ecliptic_longitude, sources.ecliptic_latitude,
        sources.polarization, rescaled=True,
    )  # fmt: skip
    sparse.phase.block_until_ready()
    t.append(time.perf_counter())
    signal = MBHBTDISignal(((2, 2),), sparse, wf.time[:, None], noise, t_obs)
    rho = signal_snr(signal, "AET")
    t.append(time.perf_counter())
    return rho, np.diff(t)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--t-obs", type=float, default=1.0, help="years")
    parser.add_argument("--n-grid", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--n-fisher", type=int, default=20)
    args = parser.parse_args()

    t_obs = (args.t_obs * u.yr).to_value(u.s)
    noise = LisaTdiNoise(rescaled=True)
    options = dict(t_obs=t_obs, n_grid=args.n_grid, channels="AET", noise=noise)
    batch = random_sources(args.n_batch, args.seed)
    one = subset(batch, slice(0, 1))
    params_one = lisabeta_params(one)

    # (a) one source, median over repeats after warm-up (JIT compilation)
    mbhb_snr(one, **options)
    lisabeta_snr(params_one, args.t_obs)
    ours, theirs, stages = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        mbhb_snr(one, **options)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        lisabeta_snr(params_one, args.t_obs)
        theirs.append(time.perf_counter() - start)
        stages.append(staged(one, t_obs, noise, args.n_grid)[1])
    single = (statistics.median(ours), statistics.median(theirs))
    single_stages = np.median(stages, axis=0)

    # (b) the batch: simfer vectorised, lisabeta in a Python loop
    mbhb_snr(batch, **options)  # compile for this batch shape
    start = time.perf_counter()
    rho = mbhb_snr(batch, **options)
    ours_batch = (time.perf_counter() - start) / len(batch)
    _, batch_stages = staged(batch, t_obs, noise, args.n_grid)
    params = lisabeta_params(batch)
    start = time.perf_counter()
    rho_ref = lisabeta_snr(params, args.t_obs)
    theirs_batch = (time.perf_counter() - start) / len(batch)
    rel = np.abs(rho / rho_ref - 1)

    # (b') the same with IMRPhenomD from the vectorised JAX port (ripple)
    jax_options = options | {"waveform_backend": "jax"}
    mbhb_snr(one, **jax_options)
    jax_single = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        mbhb_snr(one, **jax_options)
        jax_single.append(time.perf_counter() - start)
    mbhb_snr(batch, **jax_options)  # compile for this batch shape
    start = time.perf_counter()
    rho_jax = mbhb_snr(batch, **jax_options)
    jax_batch = (time.perf_counter() - start) / len(batch)
    rel_jax = np.abs(rho_jax / rho_ref - 1)

    ms = 1e3
    print(f"IMRPhenomD 22, t_obs = {args.t_obs} yr, n_grid = {args.n_grid}, "
          f"A+E+T, SciRDv1 (no foreground), seed {args.seed}")  # fmt: skip
    print(f"{'case':<22}{'simfer ms/src':>15}{'lisabeta ms/src':>17}{'ratio':>8}")
    for name, (a, b) in (
        ("single (median)", single),
        (f"batch of {len(batch)}", (ours_batch, theirs_batch)),
        ("single, JAX waveform", (statistics.median(jax_single), single[1])),
        ("batch, JAX waveform", (jax_batch, theirs_batch)),
    ):
        print(f"{name:<22}{a * ms:>15.3f}{b * ms:>17.3f}{a / b:>8.2f}")
    print("simfer stages, ms/src  waveform  response  SNR")
    print(f"  single {single_stages[0] * ms:>20.3f}{single_stages[1] * ms:>10.3f}"
          f"{single_stages[2] * ms:>6.3f}")  # fmt: skip
    per = batch_stages / len(batch) * ms
    print(f"  batch {per[0]:>21.3f}{per[1]:>10.3f}{per[2]:>6.3f}")
    print(f"SNR |simfer/lisabeta - 1| over the batch: median {np.median(rel):.2e}, "
          f"max {rel.max():.2e}")  # fmt: skip
    print(f"  with the JAX waveform: median {np.median(rel_jax):.2e}, "
          f"max {rel_jax.max():.2e}")  # fmt: skip

    # (c) Fisher matrices, 11 parameters
    fisher_sources = subset(batch, slice(0, args.n_fisher))
    ours_f, theirs_f, dev, dev_default = fisher_comparison(
        fisher_sources, t_obs, args.t_obs, noise
    )
    print(f"Fisher, {len(fisher_sources)} sources, 11 parameters")
    print(f"{'':<22}{ours_f * ms:>15.3f}{theirs_f * ms:>17.3f}"
          f"{ours_f / theirs_f:>8.3f}")  # fmt: skip
    print(
        "  max |sigma / sigma_lisabeta(small steps) - 1| per source: simfer median "
        f"{np.median(dev):.1e} max {dev.max():.1e}; lisabeta default steps "
        f"median {np.median(dev_default):.1e} max {dev_default.max():.1e}"
    )


if __name__ == "__main__":
    main()

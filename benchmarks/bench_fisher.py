"""Benchmark: Fisher forecasts for 1e4 DWD-like galactic binaries, LISA and TianQin.

Run with ``.venv/bin/python benchmarks/bench_fisher.py [--n 10000]``. The sources
are seeded random double white dwarfs: chirp masses 0.15-0.8 Msun, GW frequencies
log-uniform in 1-20 mHz (the resolvable band), distances 0.5-15 kpc, isotropic sky,
inclination and polarisation. Not run by the test suite.
"""

from __future__ import annotations

import argparse
import time
import warnings

import astropy.units as u
import numpy as np

from simfer.inference.fisher import (
    DEFAULT_NODES_PER_SEGMENT,
    IllConditionedFisherWarning,
    fisher_galactic_binaries,
)
from simfer.sims.detectors import get_detector
from simfer.sims.galactic_binaries import GalacticBinary


def dwd_like_sources(n: int, seed: int) -> GalacticBinary:
    """Seeded random DWD-like sources (see the module docstring)."""
    rng = np.random.default_rng(seed)
    return GalacticBinary.from_physical(
        rng.uniform(0.15, 0.8, n) * u.Msun,
        10 ** rng.uniform(-3.0, np.log10(2e-2), n) * u.Hz,
        rng.uniform(0.5, 15.0, n) * u.kpc,
        cos_inclination=rng.uniform(-1.0, 1.0, n),
        polarisation=rng.uniform(0.0, np.pi, n),
        ecliptic_latitude=np.arcsin(rng.uniform(-1.0, 1.0, n)),
        ecliptic_longitude=rng.uniform(0.0, 2 * np.pi, n),
        initial_phase=rng.uniform(0.0, 2 * np.pi, n),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of sources")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--nodes-per-segment", type=int, default=DEFAULT_NODES_PER_SEGMENT
    )
    parser.add_argument("--chunk-size", type=int, default=128)
    args = parser.parse_args()

    sources = dwd_like_sources(args.n, args.seed)
    total = 0.0
    for name in ("LISA", "TianQin"):
        detector = get_detector(name)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IllConditionedFisherWarning)
            table = fisher_galactic_binaries(
                sources,
                detector,
                nodes_per_segment=args.nodes_per_segment,
                chunk_size=args.chunk_size,
            )
        elapsed = time.perf_counter() - start
        total += elapsed
        loud = table["snr"] > 7
        print(
            f"{name:8s} {args.n} sources in {elapsed:7.2f} s "
            f"({1e3 * elapsed / args.n:.2f} ms/source, incl. compilation); "
            f"SNR>7: {int(loud.sum())}, ill-conditioned: "
            f"{int(table['ill_conditioned'].sum())} ({len(caught)} warning)"
        )
        if loud.any():
            rel_f = (
                table["sigma_f"][loud] / (sources.frequency[loud] * u.Hz)
            ).decompose()
            print(
                f"{'':8s} median over SNR>7: sigma_f/f = {np.nanmedian(rel_f):.2e}, "
                f"sigma_Mc/Mc = {np.nanmedian(table['sigma_Mc_over_Mc'][loud]):.2e}, "
                f"sky area = {np.nanmedian(table['sky_area_deg2'][loud]):.2e}"
            )
    print(f"total {total:.2f} s for {2 * args.n} Fisher matrices")


if __name__ == "__main__":
    main()

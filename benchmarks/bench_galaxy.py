"""Benchmark: the full Galactic DWD population, its detections and their Fisher errors.

Assembles the Galaxy's double white dwarfs today (McMillan 2017 components, the
shipped COSMIC samples matched by metallicity) for star-formation Model 1 (and
Model 2 with ``--model2``), counts LISA / TianQin / joint detections (per-source
SNR > 7) and the eclipsing DWDs Gaia and Rubin detect (``--no-optical`` skips
them) with bootstrap errors over the COSMIC sample, compares them with Jin et
al. (2025, MNRAS 536, 2770), and runs Fisher forecasts for every detected source.
Prints wall time and memory (current and peak resident set size) per stage.

If no shipped sample exists, ``--quick-sample N`` evolves N binaries with COSMIC
(Z = 0.02) instead: a much noisier sample, say so when quoting numbers.

Run: ``.venv/bin/python benchmarks/bench_galaxy.py [--model2] [--fraction 1]
[--workers 2] [--no-fisher]``. Not run by the test suite.
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import astropy.units as u
import numpy as np

from simfer.inference.fisher import (
    IllConditionedFisherWarning,
    fisher_galactic_binaries,
)
from simfer.sims.binary_evolution import PopulationSynthesisSettings, evolve_dwd_sample
from simfer.sims.detectors import get_detector
from simfer.sims.dwd_optical import OpticalSettings
from simfer.sims.dwd_population import MetallicityMismatchWarning, assemble_population
from simfer.sims.dwd_samples import load_shipped_sample, shipped_sample_labels
from simfer.sims.galactic_binaries import GalacticBinary
from simfer.sims.galaxy import MCMILLAN_2017
from simfer.sims.star_formation import MODEL_1, MODEL_2

#: Jin et al. (2025), abstract: detached DWDs with SNR > 7.
JIN_2025 = {
    "model_1": {
        "LISA": 1.7e4,
        "TianQin": 5e3,
        "joint": 1.8e4,
        "gaia": 67,
        "rubin": 273,
    },
    "model_2": {
        "LISA": 3.3e4,
        "TianQin": 1e4,
        "joint": 3.5e4,
        "gaia": 186,
        "rubin": 554,
    },
}


def _memory() -> str:
    current = float("nan")
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return f"RSS {current:5.2f} GiB, peak {peak:5.2f} GiB"


def _stage(name: str, start: float) -> None:
    print(f"  [{name:28s}] {time.perf_counter() - start:8.1f} s   {_memory()}")


def _samples(quick: int | None):
    if quick:
        return [evolve_dwd_sample(PopulationSynthesisSettings(), quick, seed=1)]
    labels = shipped_sample_labels()
    if not labels:
        raise SystemExit("no shipped DWD samples: rerun with --quick-sample N")
    return [load_shipped_sample(label) for label in labels]


def _fisher(population, detector_name: str) -> None:
    cat = population.catalogue
    detected = cat[cat[f"snr_{detector_name}"] > population.settings["snr_threshold"]]
    sources = GalacticBinary.from_physical(
        detected["chirp_mass"].to_numpy() * u.Msun,
        detected["f_gw"].to_numpy() * u.Hz,
        detected["distance"].to_numpy() * u.kpc,
        cos_inclination=detected["cos_i"].to_numpy(),
        polarisation=detected["psi"].to_numpy(),
        ecliptic_latitude=detected["lat_ecl"].to_numpy(),
        ecliptic_longitude=detected["lon_ecl"].to_numpy(),
        initial_phase=detected["phase"].to_numpy(),
        fdot=detected["fdot"].to_numpy() * u.Hz / u.s,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IllConditionedFisherWarning)
        table = fisher_galactic_binaries(sources, get_detector(detector_name))
    _stage(f"Fisher {detector_name} ({len(detected)} src)", start)
    ratio = np.asarray(table["snr"]) / detected[f"snr_{detector_name}"].to_numpy()
    sky = np.asarray(table["sky_area_deg2"].to_value(u.deg**2))
    print(
        f"    Fisher SNR / population SNR: median {np.median(ratio):.4f}, "
        f"range {ratio.min():.3f}-{ratio.max():.3f}; median sky area "
        f"{np.nanmedian(sky):.3g} deg2; median sigma_Mc/Mc "
        f"{np.nanmedian(table['sigma_Mc_over_Mc']):.3g}; "
        f"{int(np.sum(table['ill_conditioned']))} ill-conditioned "
        f"({len(caught)} warning)"
    )


def run_model(model, samples, args) -> None:
    print(f"\n=== {model.name}: {model.description}")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        mapper = map if args.workers == 1 else pool.map
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetallicityMismatchWarning)
            population = assemble_population(
                samples,
                MCMILLAN_2017,
                model,
                seed=args.seed,
                galaxy_fraction=args.fraction,
                n_bootstrap=args.n_bootstrap,
                optical=OpticalSettings() if args.optical else None,
                map_function=mapper,
            )
    _stage("assemble population", start)
    for stage, seconds in population.timings.items():
        print(f"    {stage:12s} {seconds:8.1f} s")
    if args.optical:
        # Chunk stages are summed over the workers: wall time ~ sum / workers.
        print(
            f"  optical (EM) stage: {population.timings['optical']:.1f} s summed over "
            f"chunks, ~{population.timings['optical'] / args.workers:.1f} s of wall "
            f"time on {args.workers} workers; {len(population.eclipsing)} eclipsing "
            "systems catalogued"
        )
    print(
        f"  catalogue: {len(population.catalogue)} rows above "
        f"{population.settings['f_min_catalogue_hz']:g} Hz, "
        f"{population.catalogue.memory_usage(deep=True).sum() / 2**30:.2f} GiB; "
        f"sample Z per component: {population.component_samples}"
    )
    print(f"  {'count':22s} {'value':>11s} {'boot std':>9s} {'16%':>11s} "
          f"{'84%':>11s} {'MC std':>9s} {'Jin+25':>8s}")  # fmt: skip
    summary = population.summary()
    for key, row in summary.iterrows():
        label = key.removeprefix("detected_").removeprefix("optical_")
        jin = JIN_2025.get(model.name, {}).get(label)
        print(
            f"  {key:22s} {row['count']:11.4g} {row['bootstrap_std']:9.2g} "
            f"{row['p16']:11.4g} {row['p84']:11.4g} {row['poisson_std']:9.2g} "
            f"{'' if jin is None else f'{jin:8.2g}'}"
        )
    if args.fisher:
        for name in population.settings["detectors"]:
            _fisher(population, name)
    del population


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model2", action="store_true", help="also run Model 2")
    parser.add_argument("--fraction", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--n-bootstrap", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick-sample", type=int, default=None, metavar="N")
    parser.add_argument("--no-fisher", dest="fisher", action="store_false")
    parser.add_argument(
        "--no-optical", dest="optical", action="store_false",
        help="skip the eclipsing-DWD (Gaia, Rubin) stage",
    )  # fmt: skip
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)

    start_all = time.perf_counter()
    start = time.perf_counter()
    samples = _samples(args.quick_sample)
    _stage("load DWD samples", start)
    for sample in samples:
        print(
            f"    Z={sample.settings.initial_conditions.metallicity:g}: "
            f"{len(sample.dwds)} DWDs from {sample.n_binaries_sampled} binaries, "
            f"{sample.dwds_per_solar_mass:.4g} per Msun formed"
        )
    for model in (MODEL_1, MODEL_2) if args.model2 else (MODEL_1,):
        run_model(model, samples, args)
    _stage("total", start_all)


if __name__ == "__main__":
    main()

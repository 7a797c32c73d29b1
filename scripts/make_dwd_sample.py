"""Regenerate the DWD samples shipped in simfer/data/ with COSMIC.

Usage (from the repository root)::

    python scripts/make_dwd_sample.py --n-binaries 200 --time-only
    python scripts/make_dwd_sample.py --n-binaries 40000

The i-th metallicity uses seed ``--seed + i``; every other setting is the
default of ``PopulationSynthesisSettings``. Files are written atomically to
``<out-dir>/dwd_sample_<label>.parquet`` (label e.g. ``z0p02``); a summary
of each run is logged. See simfer/data/README_dwd_sample.md.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from simfer.sims.binary_evolution import (
    InitialConditions,
    PopulationSynthesisSettings,
    evolve_dwd_sample,
    metallicity_label,
)

logger = logging.getLogger("make_dwd_sample")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "simfer" / "data"


def settings_for(metallicity: float) -> PopulationSynthesisSettings:
    """Default settings with the given metallicity Z."""
    return PopulationSynthesisSettings(
        initial_conditions=InitialConditions(metallicity=metallicity)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-binaries", type=int, required=True)
    parser.add_argument("--metallicities", type=float, nargs="+", default=[0.02, 0.002])
    parser.add_argument("--seed", type=int, default=20250)
    parser.add_argument("--n-proc", type=int, default=1)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--time-only", action="store_true", help="run and report, write nothing"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    for i, metallicity in enumerate(args.metallicities):
        settings = settings_for(metallicity)
        start = time.perf_counter()
        sample = evolve_dwd_sample(
            settings, args.n_binaries, args.seed + i, n_proc=args.n_proc
        )
        wall = time.perf_counter() - start
        types = (sample.dwds["type_1"] + "+" + sample.dwds["type_2"]).value_counts()
        logger.info(
            "Z=%g seed=%d: %d binaries, %d DWDs (%.4f per binary), "
            "total_mass_formed=%.6g Msun (analytic %.6g), %.4e DWDs/Msun, "
            "dropped=%d %s, wall=%.1f s (%.2f ms per binary)",
            metallicity, sample.seed, sample.n_binaries_sampled, len(sample.dwds),
            len(sample.dwds) / sample.n_binaries_sampled, sample.total_mass_formed,
            sample.provenance["total_mass_analytic"], sample.dwds_per_solar_mass,
            sample.n_dropped,
            {k: sample.provenance[k] for k in ("n_timed_out", "n_failed",
                                               "n_missing_from_output",
                                               "n_cosmic_error")},
            wall, 1e3 * wall / sample.n_binaries_sampled,
        )  # fmt: skip
        logger.info("Z=%g DWD types: %s", metallicity, types.to_dict())
        if not args.time_only:
            path = args.out_dir / f"dwd_sample_{metallicity_label(metallicity)}.parquet"
            sample.to_parquet(path)
            logger.info("Wrote %s (%.2f MB)", path, path.stat().st_size / 1e6)


if __name__ == "__main__":
    main()

"""Throughput of simfer's averaged SNR against LEGWORK on random double white dwarfs.

Draws 1e6 and 1e7 binaries (seeded; chirp mass uniform in 0.1-1 Msun, GW frequency
log-uniform in 1e-4 - 3e-2 Hz, distance uniform in 0.1-30 kpc) and times, for LISA
(4 yr, Karnesis et al. 2021 confusion noise, analytic response):

- ``simfer``: :func:`simfer.inference.snr.snr_averaged`, its defaults (sources whose
  frequency drifts by > 1e-3 over the mission are integrated along the GR chirp);
- ``simfer-mono``: the same with every source treated as monochromatic;
- ``legwork``: ``legwork.snr.snr_circ_stationary`` with astropy Quantities and
  ``approximate_R=True`` (LEGWORK's fastest path for circular stationary sources),
  in batches of 1e6 to bound memory.

Each case runs in its own process, so the peak resident memory (VmHWM) belongs to
it; the table reports the peak above the resident size once the inputs exist.
Timings are the best of ``--repeat`` runs after one warm-up run (JIT compilation).

Run: ``.venv/bin/python benchmarks/bench_snr.py [--sizes 1e6 1e7] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

SEED = 20240611
LEGWORK_BATCH = 1_000_000


def _rss_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _draw(n: int):
    import numpy as np

    msun = 1.988409870698051e30  # kg, IAU 2015 nominal (astropy)
    kpc = 3.0856775814913673e19  # m
    rng = np.random.default_rng(SEED)
    chirp_mass = rng.uniform(0.1, 1.0, n) * msun
    frequency = 10.0 ** rng.uniform(-4.0, np.log10(3e-2), n)
    distance = rng.uniform(0.1, 30.0, n) * kpc
    return chirp_mass, frequency, distance


def _case(method: str, n: int, repeat: int, queue) -> None:
    import numpy as np

    chirp_mass, frequency, distance = _draw(n)

    if method.startswith("simfer"):
        from simfer.inference.snr import snr_averaged
        from simfer.sims.detectors import get_detector

        detector = get_detector("LISA")
        threshold = np.inf if method == "simfer-mono" else 1e-3

        def run():
            return snr_averaged(
                chirp_mass, frequency, distance, detector, chirp_threshold=threshold
            )
    else:
        import astropy.units as u
        from legwork.snr import snr_circ_stationary

        def run():
            out = np.empty(n)
            for start in range(0, n, LEGWORK_BATCH):
                stop = min(start + LEGWORK_BATCH, n)
                out[start:stop] = snr_circ_stationary(
                    m_c=chirp_mass[start:stop] * u.kg,
                    f_orb=frequency[start:stop] / 2 * u.Hz,
                    dist=distance[start:stop] * u.m,
                    t_obs=4 * u.yr,
                    approximate_R=True,
                    confusion_noise="karnesis21",
                )
            return out

    baseline = _rss_mib("VmRSS")
    run()  # warm-up: JIT compilation for simfer, caches for LEGWORK
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        snr = run()
        best = min(best, time.perf_counter() - start)
    peak = _rss_mib("VmHWM") - baseline
    queue.put((best, peak, np.asarray(snr[:100_000])))


def _measure(method: str, n: int, repeat: int):
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_case, args=(method, n, repeat, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import numpy as np

    header = (
        f"{'n':>10} {'method':>12} {'time [s]':>9} {'sources/s':>11} "
        f"{'vs legwork':>10} {'peak [MiB]':>10}"
    )
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        n = int(size)
        results = {
            method: _measure(method, n, args.repeat)
            for method in ("legwork", "simfer", "simfer-mono")
        }
        reference = results["legwork"][0]
        for method, (seconds, peak, _) in results.items():
            print(
                f"{n:>10.0e} {method:>12} {seconds:>9.3f} {n / seconds:>11.3e} "
                f"{reference / seconds:>9.1f}x {peak:>10.0f}"
            )
        difference = np.max(
            np.abs(results["simfer-mono"][2] / results["legwork"][2] - 1)
        )
        print(
            f"{'':>10} max |simfer-mono / legwork - 1| on the first 1e5 sources: "
            f"{difference:.2e}"
        )


if __name__ == "__main__":
    main()

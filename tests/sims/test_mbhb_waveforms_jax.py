"""Tests of simfer.sims.mbhb_waveforms_jax: IMRPhenomD 22 mode in JAX (ripple).

Reference: ``mode_amplitude_phase(...)[(2, 2)]`` of simfer.sims.mbhb_waveforms,
i.e. lalsimulation's IMRPhenomD in lisabeta's convention.
"""

import subprocess
import sys

import lal
import numpy as np
import pytest

pytest.importorskip("ripplegw")

import jax
import jax.numpy as jnp

from simfer.sims.mbhb_sources import MBHBSources, detector_frame
from simfer.sims.mbhb_waveforms import (
    mode_amplitude_phase,
    peak_frequency,
    sparse_frequency_grid,
)
from simfer.sims.mbhb_waveforms_jax import (
    MF_CUT,
    phenomd_22_amplitude_phase,
    phenomd_peak_frequency,
)

MSUN = lal.MSUN_SI

# detector-frame total mass (Msun), q = m2/m1, chi1, chi2, z, t_c (s)
CASES = [
    (1e5, 1.0, 0.8, 0.8, 1.0, 0.0),
    (3e5, 0.5, -0.8, 0.3, 2.0, 1e4),
    (1e6, 0.25, 0.5, -0.5, 3.0, -3e5),
    (3e6, 0.6, 0.0, -0.8, 1.5, 2e6),
    (1e7, 0.125, 0.8, -0.8, 0.5, 123.0),
]

_batched = jax.jit(
    jax.vmap(phenomd_22_amplitude_phase, in_axes=(0, 0, 0, 0, 0, 0, 0, None))
)


@pytest.fixture(scope="module")
def batch():
    m_det, q, chi1, chi2, z, t_c = map(np.array, zip(*CASES, strict=True))
    # MBHBSources takes source-frame masses; detector frame is (1 + z) m
    sources = MBHBSources.from_total_mass_ratio(
        m_det / (1 + z) * MSUN, q, chi1=chi1, chi2=chi2, redshift=z, t_c=t_c
    )
    frame = detector_frame(sources)
    f = sparse_frequency_grid(sources, n=200, f_min=1e-5, frame=frame)
    return sources, frame, f


def _jax(batch, f_ref=None):
    sources, frame, f = batch
    out = _batched(
        f, frame.m1, frame.m2, sources.chi1, sources.chi2,
        frame.luminosity_distance, sources.t_c, f_ref,
    )  # fmt: skip
    return [np.asarray(x) for x in out]


def _phase_residual(phase, reference):
    """Difference after removing one integer multiple of 2 pi per source.

    mode_amplitude_phase unwraps from the wrapped argument at the first grid
    point, so its phase equals the convention only modulo 2 pi.
    """
    d = phase - reference
    k = np.round(np.median(d, axis=1, keepdims=True) / (2 * np.pi))
    return d - 2 * np.pi * k


def test_peak_frequency_matches_lalsimulation(batch):
    sources, frame, _ = batch
    f_peak = jax.vmap(phenomd_peak_frequency)(
        frame.m1, frame.m2, sources.chi1, sources.chi2
    )
    # same closed form (Khan et al. eq. 20) and QNM spline: measured 2.2e-16
    np.testing.assert_allclose(f_peak, peak_frequency(sources, frame), rtol=1e-13)


@pytest.mark.parametrize("f_ref", [None, 2e-4])
def test_matches_lalsimulation(batch, f_ref):
    sources, _, f = batch
    ref = mode_amplitude_phase(sources, f, f_ref=f_ref)[(2, 2)]
    amplitude, phase, time = _jax(batch, f_ref)

    # same closed form and QNM spline as LAL: measured 5.7e-14 (rounding)
    np.testing.assert_allclose(amplitude, ref.amplitude, rtol=1e-12, atol=0)
    # measured 2.1e-8 rad (f_ref = f_peak) where the phase reaches 1e7 rad; with
    # f_ref = 2e-4 Hz 9e-6 rad: lalsim's stencil estimate of the alignment time
    # at f_peak, where LAL's phase is then ~1e6 rad, times the lever arm in f
    atol = 1e-7 if f_ref is None else 3e-5
    np.testing.assert_allclose(_phase_residual(phase, ref.phase), 0, atol=atol)
    # lalsim's t(f) is a central difference: measured 7.5e-8 of the time to
    # merger (1.2e4 s at 8000 yr before merger) and 2.3e-5 s within 1e5 s of it
    to_merger = np.abs(ref.time - sources.t_c[:, None])
    np.testing.assert_array_less(np.abs(time - ref.time), 2e-7 * to_merger + 5e-5)


def test_alignment_and_end_of_model(batch):
    sources, frame, _ = batch
    i = 2
    args = (frame.m1[i], frame.m2[i], sources.chi1[i], sources.chi2[i],
            frame.luminosity_distance[i], sources.t_c[i])  # fmt: skip
    f_peak = float(phenomd_peak_frequency(*args[:4]))
    f_cut = MF_CUT / ((frame.m1[i] + frame.m2[i]) / MSUN * lal.MTSUN_SI)
    f = np.array([f_peak / 10, f_peak, f_cut, 1.5 * f_cut, 2 * f_cut])
    out = jax.jit(phenomd_22_amplitude_phase)(f, *args)
    amplitude, phase, time = map(np.asarray, out)
    t_c = sources.t_c[i]
    np.testing.assert_allclose(time[1], t_c, rtol=0, atol=1e-9 * abs(t_c))
    np.testing.assert_allclose(phase[1], 2 * np.pi * f_peak * t_c, rtol=1e-12)
    # above M f = 0.2: no amplitude, time held, phase continued linearly
    assert amplitude[2] > 0 and np.all(amplitude[3:] == 0)
    np.testing.assert_allclose(time[3:], time[2], rtol=1e-12)
    slope = np.diff(phase[2:]) / np.diff(f[2:]) / (2 * np.pi)
    np.testing.assert_allclose(slope, time[2], rtol=1e-9)


def test_gradient_matches_finite_difference():
    q, f_scale = 0.5, 1e-3  # q < 1: gradients are NaN at q = 1 (see module)
    f = jnp.array([1e-4, 1e-3, 3e-3, 1e-2])

    @jax.jit
    def objective(log_mc, chi1, chi2, distance, t_c, f_ref):
        """Sum of phase, 2 pi f_scale time and ln amplitude (rad-like)."""
        # fixed q: eta and the final spin stay fixed, the chirp mass varies
        m_total = jnp.exp(log_mc) * (q / (1 + q) ** 2) ** (-0.6)
        m1, m2 = m_total / (1 + q), m_total * q / (1 + q)
        amplitude, phase, time = phenomd_22_amplitude_phase(
            f, m1, m2, chi1, chi2, distance, t_c, f_ref
        )
        return jnp.sum(phase + 2 * jnp.pi * f_scale * time + jnp.log(amplitude))

    # chirp mass 4.4e5 Msun (detector frame), D_L 1.6 Gpc
    x0 = np.array([np.log(4.35e5 * MSUN), 0.3, -0.4, 5e25, 1e3, 2e-3])
    grad = np.array(jax.jit(jax.grad(objective, argnums=tuple(range(6))))(*x0))
    assert np.all(np.isfinite(grad))
    steps = np.array([1e-5, 1e-5, 1e-5, 1e-4 * x0[3], 1.0, 1e-5 * x0[5]])
    for k, h in enumerate(steps):
        hi, lo = x0.copy(), x0.copy()
        hi[k] += h
        lo[k] -= h
        fd = (float(objective(*hi)) - float(objective(*lo))) / (2 * h)
        # central differences: truncation ~h^2 and rounding ~1e-16 |S| / h,
        # both far below 1e-6 of these derivatives
        np.testing.assert_allclose(grad[k], fd, rtol=1e-6, err_msg=f"argument {k}")


def test_float64_tables_if_ripple_imported_first():
    # ripplegw builds its tables at import: imported before x64 is on they are
    # float32, and the module must rebuild them
    code = (
        "import jax; jax.config.update('jax_enable_x64', False)\n"
        "from ripplegw.waveforms.cbc.IMRPhenomD import IMRPhenomD_utils as u\n"
        "assert u.PhenomD_coeff_table.dtype == 'float32'\n"
        "import simfer.sims.mbhb_waveforms_jax\n"
        "assert u.PhenomD_coeff_table.dtype == 'float64'\n"
        "assert u.QNMData_fRD.dtype == 'float64'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

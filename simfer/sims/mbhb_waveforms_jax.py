"""IMRPhenomD (2,2) mode of massive black-hole binaries in JAX, for autodiff.

A differentiable twin of ``mode_amplitude_phase(...)[(2, 2)]`` of
:mod:`simfer.sims.mbhb_waveforms` with ``approximant="IMRPhenomD"``: the same
amplitude, phase and time-frequency relation of one source on any 1-d grid of
22-mode frequencies, written in ``jax.numpy`` so that Fisher-matrix derivatives
can be taken with ``jax.grad``/``jax.jacfwd`` instead of finite differences of
lalsimulation. The IMRPhenomD model itself (phenomenological coefficients,
final spin and radiated energy, inspiral/intermediate/merger-ringdown pieces
and their C1 matching) comes from ripple's JAX port (``ripplegw``); this
module adds the conventions, the alignment, the end of the model and the
interpolation of the quasi-normal-mode (QNM) tables.

Convention (that of :mod:`simfer.sims.mbhb_waveforms`, i.e. lisabeta's
``wftdi[(2,2)]`` with ``t0=0``, ``phiref=0``, ``Deltat=t_c``):

* ``h~_22(f) = amplitude(f) * exp(+1j * phase(f))`` with the Fourier sign
  ``exp(+2 i pi f t)``; from LAL's IMRPhenomD ``h~`` it is
  ``sqrt(16 pi / 5) * conj(h~)``, so the amplitude is
  ``sqrt(2 eta / 3) pi^(-1/6) (M f)^(-7/6) A(M f) M^2 c / D_L`` (M in s) and
  the phase is ``+Psi(f)`` up to a constant and a linear term, where ``Psi``
  is Khan et al.'s phase (``h~_LAL ~ exp(-i Psi)``).
* ``time(f) = (1/2 pi) d phase / df`` (s), here by forward-mode autodiff in f.
* Alignment: ``time(f_peak) = t_c`` at IMRPhenomD's amplitude-peak frequency
  ``f_peak`` (Khan et al. 2016, eq. 20) and ``phase(f_ref) = 2 pi f_ref t_c``
  (``f_ref = f_peak`` by default) -- exactly, whereas the lalsimulation path
  fixes the phase only modulo 2 pi (it unwraps from the first grid point).
* Above the model's end ``M f = 0.2`` the amplitude is zero, the time is held
  at its value at the end and the phase continues linearly, as in
  :mod:`simfer.sims.mbhb_waveforms`.
* Detector (SSB) frame: redshifted masses ``(1 + z) m`` and the luminosity
  distance, e.g. from :func:`simfer.sims.mbhb_sources.detector_frame`.

Numerical notes: float64 is switched on here, before ripple is imported,
because ripple builds its coefficient and quasi-normal-mode tables as JAX
arrays at import time (float32 if it was imported first; they are then
rebuilt, see ``_ensure_float64_tables``). Derivatives are exact except at equal masses,
where ripple's ``sqrt(|1 - 4 eta|)`` has an infinite slope and gradients are
NaN: use q slightly below 1. Ringdown and damping frequencies are natural
cubic splines of LAL's QNM tables in the final spin, as in lalsimulation, so
they are twice continuously differentiable.

References
----------
Khan, S. et al. 2016, PRD 93, 044007 (arXiv:1508.07253), IMRPhenomD.
Husa, S. et al. 2016, PRD 93, 044006 (arXiv:1508.07250), IMRPhenomD.
Edwards, T. D. P. et al. 2024, ripple: differentiable and hardware-accelerated
waveforms (arXiv:2302.05329).
Marsat, S., Baker, J. G. & Dal Canton, T. 2021, PRD 103, 083011
(arXiv:2003.00357), the lisabeta conventions.
"""

from __future__ import annotations

import importlib
import logging

import jax

# before ripplegw: its tables are created at import in the default dtype
jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from astropy.cosmology import Planck18  # noqa: E402
from jax.typing import ArrayLike  # noqa: E402
from ripplegw.constants import MSUN, MTSUN, C  # noqa: E402
from ripplegw.waveforms.cbc.IMRPhenomD import (  # noqa: E402
    IMRPhenomD_QNMdata,
    IMRPhenomD_utils,
)
from ripplegw.waveforms.cbc.IMRPhenomD.IMRPhenomD import (  # noqa: E402
    IMRPhenDAmplitude_NoCut,
    Phase,
    get_Amp0,
)
from scipy.interpolate import CubicSpline  # noqa: E402

from simfer.sims.mbhb_sources import MBHBSources, detector_frame  # noqa: E402
from simfer.sims.mbhb_waveforms import (  # noqa: E402
    APPROXIMANTS,
    ModeWaveform,
    _check_frequencies,
    _warn_calibration,
)

__all__ = [
    "MF_CUT",
    "phenomd_22_amplitude_phase",
    "phenomd_22_mode",
    "phenomd_peak_frequency",
]

logger = logging.getLogger(__name__)

MF_CUT = 0.2  # IMRPhenomD's end of the 22 mode in M f (Khan et al. 2016)


def _ensure_float64_tables():
    """Rebuild ripple's IMRPhenomD tables in float64 if it was imported first.

    ``IMRPhenomD_QNMdata`` (ringdown/damping frequencies vs final spin) and
    ``IMRPhenomD_utils.PhenomD_coeff_table`` are JAX arrays made at import; with
    x64 off they are float32 (relative errors ~1e-7 in the phenomenological
    coefficients). Reloading re-executes both modules in their own namespaces,
    which ripple's functions read at call time.
    """
    if IMRPhenomD_utils.PhenomD_coeff_table.dtype == jnp.float64:
        return
    logger.info("ripplegw was imported without x64; rebuilding its tables")
    importlib.reload(IMRPhenomD_QNMdata)
    importlib.reload(IMRPhenomD_utils)
    if IMRPhenomD_utils.PhenomD_coeff_table.dtype != jnp.float64:
        raise ImportError("could not rebuild ripplegw's IMRPhenomD tables in float64")


_ensure_float64_tables()


def _natural_spline(y):
    """Natural cubic spline of ``y`` on the final-spin knots: (knots, coefficients).

    LAL's IMRPhenomD interpolates the QNM tables with GSL's natural cubic
    spline (``gsl_interp_cspline``) on ~1000 knots, evaluated here. ripple's
    own lookup, a linear interpolation of 500 000-point resampled tables,
    differs by ~1e-10 and embeds 16 MB of constants in every compiled function
    (slow to compile); the spline is also smooth in the final spin.
    """
    knots = np.asarray(IMRPhenomD_QNMdata._QNMData_a, dtype=np.float64)
    spline = CubicSpline(knots, np.asarray(y, dtype=np.float64), bc_type="natural")
    return jnp.asarray(knots), jnp.asarray(spline.c)


_A_KNOTS, _FRD_SPLINE = _natural_spline(IMRPhenomD_QNMdata._QNMData_fRD)
_, _FDAMP_SPLINE = _natural_spline(IMRPhenomD_QNMdata._QNMData_fdamp)


def _spline_eval(coefficients, x):
    """Value at ``x`` of the piecewise cubic with ``coefficients`` (4, n - 1)."""
    i = jnp.clip(jnp.searchsorted(_A_KNOTS, x, side="right") - 1, 0, _A_KNOTS.size - 2)
    dx = x - _A_KNOTS[i]
    c = coefficients[:, i]
    return ((c[0] * dx + c[1]) * dx + c[2]) * dx + c[3]


def _model(m1_det_kg, m2_det_kg, chi1, chi2):
    """ripple's theta = (m1, m2 in Msun, chi1, chi2), coefficients, transitions.

    The transitions are ``(f1, f2, f3, f4, f_RD, f_damp)`` in Hz, with ``f4``
    the amplitude-peak frequency (Khan et al. 2016, eq. 20). Ringdown and
    damping frequencies: QNM tables at the final spin, divided by
    ``1 - E_rad`` (Husa et al. 2016), as ripple's ``get_fRD_fdamp`` and LAL.
    """
    theta = jnp.stack(
        [jnp.asarray(m1_det_kg) / MSUN, jnp.asarray(m2_det_kg) / MSUN, chi1, chi2]
    ).astype(jnp.float64)
    coeffs = IMRPhenomD_utils.get_coeffs(theta)
    m_total = theta[0] + theta[1]
    eta = theta[0] * theta[1] / m_total**2
    s = (theta[2] * theta[0] ** 2 + theta[3] * theta[1] ** 2) / m_total**2
    final_spin = IMRPhenomD_utils.FinalSpin0815_s(eta, s)
    scale = (1.0 - IMRPhenomD_utils.EradRational0815(eta, theta[2], theta[3])) * (
        m_total * MTSUN
    )
    f_rd = _spline_eval(_FRD_SPLINE, final_spin) / scale
    f_damp = _spline_eval(_FDAMP_SPLINE, final_spin) / scale
    transitions = IMRPhenomD_utils.get_transition_frequencies_from_fRD_fdamp(
        theta, coeffs[5], coeffs[6], f_rd, f_damp
    )
    return theta, coeffs, transitions


def phenomd_peak_frequency(
    m1_det_kg: ArrayLike, m2_det_kg: ArrayLike, chi1: ArrayLike, chi2: ArrayLike
) -> jax.Array:
    """IMRPhenomD's amplitude-peak frequency of the 22 mode (Hz, detector frame).

    ``f_peak = |f_RD + f_damp gamma3 (sqrt(1 - gamma2^2) - 1) / gamma2|`` for
    ``gamma2 <= 1``, else ``|f_RD - f_damp gamma3 / gamma2|``, as lalsim's
    ``IMRPhenomDGetPeakFreq``.

    Parameters
    ----------
    m1_det_kg, m2_det_kg : float
        Detector-frame (redshifted) component masses (kg), m1 >= m2.
    chi1, chi2 : float
        Dimensionless aligned spins.

    Returns
    -------
    jax.Array
        Peak frequency (Hz), a scalar.

    References
    ----------
    Khan et al. 2016, PRD 93, 044007 (arXiv:1508.07253), eq. (20).
    """
    return _model(m1_det_kg, m2_det_kg, chi1, chi2)[2][3]


def phenomd_22_amplitude_phase(
    frequencies: ArrayLike,
    m1_det_kg: ArrayLike,
    m2_det_kg: ArrayLike,
    chi1: ArrayLike,
    chi2: ArrayLike,
    distance_m: ArrayLike,
    t_c: ArrayLike,
    f_ref: ArrayLike | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Amplitude, phase and time of IMRPhenomD's 22 mode of one source, in JAX.

    Same convention as ``mode_amplitude_phase(sources, frequencies)[(2, 2)]``
    of :mod:`simfer.sims.mbhb_waveforms` with ``approximant="IMRPhenomD"``
    (module docstring): ``h~_22 = amplitude * exp(1j * phase)`` in lisabeta's
    Fourier convention, ``time(f_peak) = t_c`` and
    ``phase(f_ref) = 2 pi f_ref t_c``. Jittable and differentiable with respect
    to every scalar argument (and ``f_ref`` when given); vmap it over sources.

    Parameters
    ----------
    frequencies : array_like
        22-mode frequencies (Hz, detector frame), 1-d, > 0. Frequencies above
        the model's end ``MF_CUT / (G M / c^3)`` get zero amplitude, the end's
        time and a linearly continued phase.
    m1_det_kg, m2_det_kg : float
        Detector-frame (redshifted) component masses (kg), m1 >= m2 (not
        checked: traced values cannot raise). Gradients are NaN at m1 == m2.
    chi1, chi2 : float
        Dimensionless aligned spins of the heavier and lighter body, in (-1, 1).
    distance_m : float
        Luminosity distance (m).
    t_c : float
        Time (s, SSB frame) at which the 22 mode reaches ``f_peak``.
    f_ref : float, optional
        22-mode frequency (Hz) where ``phase = 2 pi f_ref t_c``; default the
        peak frequency ``phenomd_peak_frequency(m1, m2, chi1, chi2)``.

    Returns
    -------
    amplitude : jax.Array
        ``|h~_22(f)|`` (1/Hz), shape of ``frequencies``.
    phase : jax.Array
        Unwrapped phase (rad).
    time : jax.Array
        ``(1/2 pi) d phase / df`` (s), by forward-mode autodiff in f.

    References
    ----------
    Khan et al. 2016, PRD 93, 044007 (arXiv:1508.07253), IMRPhenomD;
    Edwards et al. 2024 (arXiv:2302.05329), ripple, whose IMRPhenomD amplitude
    (``IMRPhenDAmplitude_NoCut``, ``get_Amp0``) and phase (``Phase``) are used;
    Marsat et al. 2021 (arXiv:2003.00357), the conventions.
    """
    f = jnp.asarray(frequencies, dtype=jnp.float64)
    theta, coeffs, transitions = _model(m1_det_kg, m2_det_kg, chi1, chi2)
    f_peak = transitions[3]
    m_total_s = (theta[0] + theta[1]) * MTSUN
    eta = theta[0] * theta[1] / (theta[0] + theta[1]) ** 2
    f_cut = MF_CUT / m_total_s

    # Khan et al.'s Psi and dPsi/df (rad, rad/Hz) by forward-mode autodiff in f,
    # in one call at the grid, f_peak and f_ref; above f_cut Psi continues
    # linearly, Psi(f) = Psi(f_cut) + Psi'(f_cut) (f - f_cut), whose derivative
    # in f is the held slope Psi'(f_cut)
    f_ref = f_peak if f_ref is None else jnp.asarray(f_ref, dtype=jnp.float64)
    x = jnp.concatenate([f, jnp.stack([f_peak, f_ref])])
    x_in = jnp.minimum(x, f_cut)
    psi, dpsi = jax.jvp(
        lambda y: Phase(y, theta, coeffs, transitions), (x_in,), (jnp.ones_like(x_in),)
    )
    psi = psi + dpsi * (x - x_in)
    # time shift putting t(f_peak) = 0, then phase(f_ref) = 0, then t_c
    dt = -dpsi[-2] / (2 * jnp.pi)
    n = f.size
    phase = psi[:n] - psi[-1] + 2 * jnp.pi * (dt * (f - f_ref) + t_c * f)
    time = dpsi[:n] / (2 * jnp.pi) + dt + t_c

    # ripple's amplitude is A(Mf) only; the prefactor sqrt(2 eta/3) pi^(-1/6)
    # (Mf)^(-7/6) times M^2 c / D_L is LAL's amp0 * sqrt(16 pi / 5)
    raw = IMRPhenDAmplitude_NoCut(f, theta, coeffs, transitions)
    amplitude = get_Amp0(f * m_total_s, eta) * raw * m_total_s**2 * C / distance_m
    amplitude = jnp.where(f <= f_cut, amplitude, 0.0)
    return amplitude, phase, time


_batched_amplitude_phase = jax.jit(jax.vmap(phenomd_22_amplitude_phase))


def phenomd_22_mode(
    sources: MBHBSources, frequencies: ArrayLike, cosmology=Planck18
) -> ModeWaveform:
    """The 22 mode of a batch on per-source grids, like ``mode_amplitude_phase``.

    A drop-in, vectorised replacement of
    ``mode_amplitude_phase(sources, frequencies, "IMRPhenomD")[(2, 2)]``: one
    jitted, vmapped evaluation for the whole batch (compiled once per batch
    shape) instead of a lalsimulation call per source. The phase differs from
    the lalsimulation path's by a constant multiple of 2 pi only (module
    docstring).

    Parameters
    ----------
    sources : MBHBSources
    frequencies : array_like or Quantity, shape (n_f,) or (n_sources, n_f)
        22-mode frequencies (Hz, detector frame), strictly increasing, not above
        the model's end ``Mf = 0.2``.
    cosmology : astropy.cosmology.FLRW

    Returns
    -------
    ModeWaveform
        Arrays (n_sources, n_f).

    Raises
    ------
    ValueError
        Bad frequencies or frequencies above the model's end (names the source).

    References
    ----------
    Khan et al. 2016 (arXiv:1508.07253); Edwards et al. 2024 (arXiv:2302.05329).
    """
    _warn_calibration(sources, APPROXIMANTS["IMRPhenomD"], "IMRPhenomD")
    frame = detector_frame(sources, cosmology)
    f22 = _check_frequencies(frequencies, len(sources))
    f_end = MF_CUT / frame.total_mass_seconds
    above = np.flatnonzero(f22[:, -1] > f_end * (1 + 1e-12))
    if above.size:
        i = above[0]
        raise ValueError(
            f"frequencies exceed IMRPhenomD's end frequency Mf = {MF_CUT} for "
            f"{above.size} source(s), e.g. source {i}: {f22[i, -1]:.4g} Hz > "
            f"{f_end[i]:.4g} Hz"
        )
    amplitude, phase, time = _batched_amplitude_phase(
        f22, frame.m1, frame.m2, sources.chi1, sources.chi2,
        frame.luminosity_distance, sources.t_c,
    )  # fmt: skip
    return ModeWaveform(
        f22.copy(), np.asarray(amplitude), np.asarray(phase), np.asarray(time)
    )

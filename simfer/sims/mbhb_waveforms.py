"""Frequency-domain waveform modes of massive black-hole binaries (MBHBs) for LISA.

Aligned-spin, quasi-circular binaries of 1e4-1e8 Msun at redshifts up to ~20.
The modes come from lalsimulation (IMRPhenomD, IMRPhenomHM, IMRPhenomXHM),
evaluated on sparse per-source frequency grids and returned as amplitude and
unwrapped phase in the convention of lisabeta (Marsat & Baker 2018; Marsat et al.
2021), so that the LISA response can multiply them by its transfer functions.

Convention of the returned modes (identical to lisabeta's ``wftdi[lm]['amp']``,
``['phase']`` and ``['tf']`` with ``t0=0``, ``phiref=0``, ``Deltat=t_c``):

* Fourier transform ``h~(f) = int h(t) exp(+2 i pi f t) dt`` (opposite sign to
  LAL's), and ``h_+ - i h_x = sum_lm  -2Y_lm(inclination, phase) h_lm(t)``
  with ``h_lm ~ exp(-i m phi_orb)``. For ``m > 0``, ``h~_lm`` has support at
  ``f > 0`` and ``h~_lm(f) = amplitude(f) * exp(+1j * phase(f))``.
  From LAL's output: ``h~_lm(f) = (-1)^l conj(h~^LAL_{l,-m}(f))``.
* Only ``m > 0`` modes are returned; ``h_{l,-m}`` follows by the symmetry
  ``h~_{l,-m}(f) = (-1)^l conj(h~_lm(-f))`` of non-precessing binaries.
* The spin-weighted spherical harmonic is NOT included: the response multiplies
  by ``-2Y_lm(inclination, phase)`` (and the ``(l,-m)`` partner), where
  ``phase`` is lisabeta's observer azimuth ``phi``. Inclination, phase, sky
  position and polarisation therefore do not enter the modes.
* ``time(f) = +(1/2 pi) d phase / d f`` (s) is the SPA time-frequency relation;
  the 22-mode time equals ``t_c`` at IMRPhenomD's peak frequency ``f_peak`` and
  ``phase_22(f_ref) = 2 pi f_ref t_c`` (``f_ref = f_peak`` by default), i.e. the
  waveform is aligned with ``t_22(f_peak) = 0`` and ``phase_22(f_ref) = 0``,
  then shifted by ``t_c`` as ``phase_lm += 2 pi f t_c``, as lisabeta does.
  The phase equality holds modulo 2 pi: the unwrapped phase starts from the
  wrapped argument at the first grid point (a constant 2 pi k, irrelevant for
  the signal; :mod:`simfer.sims.mbhb_waveforms_jax` meets it exactly).
* Amplitudes in 1/Hz (Fourier-domain strain), frequencies in Hz, times in s,
  all in the detector (SSB) frame.

Unwrapping on sparse grids: lalsimulation returns complex values, whose
argument is known only modulo 2 pi. Each frequency is evaluated with two
neighbours ``f (1 +- eps)``, giving ``phase'`` and ``phase''`` locally, and the
phase increment between grid points is integrated with the two-point
Hermite rule; the exact increment is that estimate plus the wrapped residual.
A residual above one radian means the grid is too coarse and raises.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import astropy.units as u
import lal
import lalsimulation as lalsim
import numpy as np
from astropy.cosmology import Planck18
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import CubicSpline

from simfer import SimferWarning
from simfer.sims.mbhb_sources import (
    DetectorFrame,
    MBHBSources,
    _as_array,
    detector_frame,
)
from simfer.sims.si_inputs import as_si

__all__ = [
    "APPROXIMANTS",
    "DetectorFrame",
    "MBHBSources",
    "ModeWaveform",
    "WaveformCalibrationWarning",
    "detector_frame",
    "mode_amplitude_phase",
    "peak_frequency",
    "sparse_frequency_grid",
    "time_of_frequency",
]

logger = logging.getLogger(__name__)

MSUN_SI = lal.MSUN_SI  # kg, the value lalsimulation uses
MTSUN_SI = lal.MTSUN_SI  # G Msun / c^3 in s
C_SI = lal.C_SI  # m/s
G_SI = lal.G_SI  # m^3 kg^-1 s^-2

# Model properties. ``mf_end``: geometric frequency M f where the 22 mode ends
# (IMRPhenomD's f_CUT = 0.2, Khan et al. 2016; IMRPhenomXHM's 0.3, Garcia-Quiros
# et al. 2020). ``q_calibrated``: smallest m2/m1 of the NR calibration (1/18).
# ``q_min``: smallest mass ratio accepted at all.
APPROXIMANTS = {
    "IMRPhenomD": {
        "modes": ((2, 2),),
        "mf_end": 0.2,
        "mode_end_scales": True,
        "q_calibrated": 1 / 18,
    },
    "IMRPhenomHM": {
        "modes": ((2, 2), (2, 1), (3, 3), (3, 2), (4, 4), (4, 3)),
        "mf_end": 0.2,
        "mode_end_scales": True,
        "q_calibrated": 1 / 18,
    },
    "IMRPhenomXHM": {
        "modes": ((2, 2), (2, 1), (3, 3), (3, 2), (4, 4)),
        "mf_end": 0.3,
        "mode_end_scales": False,
        "q_calibrated": 1 / 18,
    },
}
_EPS_STENCIL = 1e-6  # largest relative half-width of the derivative stencil
_GRID_KAPPA = 0.1  # weight of the inspiral term in the adapted grid


class WaveformCalibrationWarning(SimferWarning):
    """Sources outside the calibration range of the waveform model."""


def peak_frequency(sources: MBHBSources, frame: DetectorFrame | None = None):
    """IMRPhenomD's amplitude-peak frequency of the 22 mode (Hz, detector frame).

    References
    ----------
    Khan et al. 2016, PRD 93, 044007 (arXiv:1508.07253), eq. (20).
    """
    frame = detector_frame(sources) if frame is None else frame
    return np.array(
        [
            lalsim.IMRPhenomDGetPeakFreq(a / MSUN_SI, b / MSUN_SI, c1, c2)
            for a, b, c1, c2 in zip(
                frame.m1, frame.m2, sources.chi1, sources.chi2, strict=True
            )
        ]
    )


def sparse_frequency_grid(
    sources: MBHBSources,
    n: int = 200,
    f_min: float | u.Quantity = 1e-5,
    t_obs: float | u.Quantity | None = None,
    approximant: str = "IMRPhenomD",
    frame: DetectorFrame | None = None,
) -> NDArray:
    """Per-source adapted 22-mode frequency grids, shape (n_sources, n), in Hz.

    The grid starts at ``max(f_min, f_N(t_obs))``, where ``f_N(t_obs)`` is the
    Newtonian 22-mode frequency a time ``t_obs`` before coalescence,
    ``f = (1/pi) (5 / (256 t_obs))^(3/8) (G Mc / c^3)^(-5/8)``, and ends at the
    model's end frequency ``Mf_end / (G M / c^3)`` (redshifted masses). Points
    are uniform in ``ln(Mf) - 0.1 (Mf)^(-1/3)``: log-spaced near merger, denser
    in ln f where the inspiral phase (~ (Mf)^(-5/3)) is large.

    Parameters
    ----------
    sources : MBHBSources
    n : int
        Points per grid (>= 4).
    f_min : float or Quantity
        Lowest frequency (Hz), e.g. the low edge of LISA's band.
    t_obs : float or Quantity, optional
        Observation time before coalescence (s); ``None`` ignores it.
    approximant : str
        Sets the end frequency (Mf = 0.2 for IMRPhenomD/HM, 0.3 for XHM).
    frame : DetectorFrame, optional
        Precomputed ``detector_frame(sources)``.

    Raises
    ------
    ValueError
        If a source ends below ``f_min`` (too heavy or too distant for the band).

    References
    ----------
    Peters 1964, Phys. Rev. 136, B1224; Khan et al. 2016 (arXiv:1508.07253).
    """
    model = _model(approximant)
    if int(n) != n or n < 4:
        raise ValueError(f"n must be an integer >= 4, got {n}")
    f_low = float(as_si(f_min, u.Hz, "f_min"))
    if not f_low > 0:
        raise ValueError("f_min must be > 0 Hz")
    frame = detector_frame(sources) if frame is None else frame
    f_start = np.full(len(sources), f_low)
    if t_obs is not None:
        tau = float(as_si(t_obs, u.s, "t_obs"))
        if not tau > 0:
            raise ValueError("t_obs must be > 0 s")
        mc_s = frame.chirp_mass * G_SI / C_SI**3
        f_start = np.maximum(f_start, (5 / (256 * tau)) ** 0.375 * mc_s**-0.625 / np.pi)
    f_end = model["mf_end"] / frame.total_mass_seconds
    bad = np.flatnonzero(f_start >= f_end)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{bad.size} source(s) end below the starting frequency: source {i} "
            f"(detector-frame total mass {(frame.m1[i] + frame.m2[i]) / MSUN_SI:.3g}"
            f" Msun, redshift {sources.redshift[i]:.3g}) ends at "
            f"f = {f_end[i]:.3g} Hz (Mf = {model['mf_end']}) < {f_start[i]:.3g} Hz;"
            f" remove such sources, lower f_min, or check t_obs and the masses"
            " (bare numbers are seconds and kg)"
        )
    return _adapted_grid(f_start, f_end, frame.total_mass_seconds, int(n))


def _adapted_grid(f_start, f_end, m_total_s, n):
    """Grids uniform in v = ln(Mf) - kappa (Mf)^(-1/3), kappa = _GRID_KAPPA.

    The inspiral phase grows as (Mf)^(-5/3), so the steps in ln f must shrink as
    (Mf)^(1/3) at low frequency to keep the phase interpolation (and unwrapping)
    error even; near merger the grid is log-spaced.
    """
    dense = np.geomspace(f_start, f_end, 4 * n, axis=-1)
    mf = dense * m_total_s[:, None]
    v = np.log(mf) - _GRID_KAPPA * mf ** (-1 / 3)
    targets = np.linspace(v[:, 0], v[:, -1], n, axis=-1)
    grid = np.empty((f_start.size, n))
    for i in range(f_start.size):
        grid[i] = np.exp(np.interp(targets[i], v[i], np.log(dense[i])))
    grid[:, 0], grid[:, -1] = f_start, f_end
    return grid


@dataclass(frozen=True)
class ModeWaveform:
    """One (l, m) mode of a batch on per-source grids, arrays (n_sources, n_f).

    ``h~_lm(f) = amplitude * exp(1j * phase)`` in lisabeta's convention (module
    docstring); ``time = (1/2 pi) d phase/df``.

    Attributes
    ----------
    frequency : Hz. amplitude : 1/Hz. phase : rad, unwrapped. time : s.
    """

    frequency: NDArray
    amplitude: NDArray
    phase: NDArray
    time: NDArray


def _model(approximant):
    if approximant not in APPROXIMANTS:
        raise ValueError(
            f"approximant must be one of {sorted(APPROXIMANTS)}, got {approximant!r}"
        )
    return APPROXIMANTS[approximant]


def _lal_modes(approximant, freqs, m1, m2, chi1, chi2, distance, f_ref, modes):
    """Complex modes in lisabeta's convention, before alignment, on ``freqs``."""
    seq = lal.CreateREAL8Vector(freqs.size)
    seq.data = freqs
    out = {}
    if approximant == "IMRPhenomD":
        h = lalsim.SimIMRPhenomDFrequencySequence(
            seq, 0.0, f_ref, m1, m2, chi1, chi2, distance, None, lalsim.NoNRT_V
        ).data.data
        # LAL's h~ is normalised so that h~_+ = h~ (1 + cos^2 i)/2; the 22 mode is
        # 2 h~ / -2Y22(0) = sqrt(16 pi / 5) h~ (Khan et al. 2016, sec. II)
        out[(2, 2)] = np.sqrt(16 * np.pi / 5) * np.conj(h)
    elif approximant == "IMRPhenomHM":
        hlms = lalsim.SimIMRPhenomHMGethlmModes(
            seq, m1, m2, 0.0, 0.0, chi1, 0.0, 0.0, chi2, 0.0, 0.0, f_ref, None
        )
        # geometric amplitudes: scale by M^2 (G/c^2)(G/c^3) / D_L
        m_total = (m1 + m2) / MSUN_SI
        amp0 = m_total**2 * lal.MRSUN_SI * MTSUN_SI / distance
        for ell, m in modes:
            hlm = lalsim.SphHarmFrequencySeriesGetMode(hlms, ell, m).data.data
            out[(ell, m)] = amp0 * np.conj(hlm)
    else:
        for ell, m in modes:
            hlm = lalsim.SimIMRPhenomXHMFrequencySequenceOneMode(
                seq, m1, m2, chi1, chi2, ell, -m, distance, 0.0, f_ref, None
            ).data.data
            out[(ell, m)] = (-1) ** ell * np.conj(hlm)
    return out


def _wrap(x):
    return (x + np.pi) % (2 * np.pi) - np.pi


def _stencil_widths(f, mode_m, chirp_mass_s):
    """Relative half-widths eps of the derivative stencils at frequencies ``f``.

    The phase must change by much less than pi across ``f (1 +- eps)``; its slope
    is 2 pi t(f), so eps ~ 0.05 / (2 pi f t_N) with the Newtonian time to
    coalescence t_N of the 22 mode at 2 f / m (Peters 1964), capped at 1e-6.
    """
    f22 = 2 * f / mode_m
    t_newton = 5 / 256 * chirp_mass_s ** (-5 / 3) * (np.pi * f22) ** (-8 / 3)
    return np.minimum(_EPS_STENCIL, 0.05 / (1 + 2 * np.pi * f * t_newton))


def _phase_derivative(arg, f, eps):
    """d phase/df (rad/Hz) by central differences of the arguments arg[:, 0..2]."""
    lo = _wrap(arg[:, 0] - arg[:, 1])
    hi = _wrap(arg[:, 2] - arg[:, 1])
    return (hi - lo) / (2 * eps * f)


def _unwrap_steps(h, f, eps):
    """Argument increments between grid points and their wrapped residuals.

    The increment between grid points is the integral of a cubic spline of
    f d phase/df in ln f, corrected by the wrapped difference of the arguments
    (exact while the estimate is off by less than pi).
    """
    arg = np.angle(h)
    d1 = _phase_derivative(arg, f, eps)
    log_f = np.log(f)
    estimate = np.diff(CubicSpline(log_f, f * d1).antiderivative()(log_f))
    residual = _wrap(np.diff(arg[:, 1]) - estimate)
    return arg, d1, estimate, residual


def _unwrapped_phase(h, f, eps, evaluate=None, max_refinements=3):
    """Phase, d phase/df and amplitude from values h[:, 0..2] at f(1 -+ eps).

    Where the estimated increment misses the measured one by more than one
    radian the grid is too coarse there (fast phase features such as the
    mode mixing of IMRPhenomXHM's (3,2) ringdown): with ``evaluate(f_new)``
    (values (n, 3) on the stencils of new frequencies) those intervals are
    subdivided 8-fold, up to ``max_refinements`` times, and the phase unwrapped
    through the extra points, which are then dropped. Otherwise, or if that
    does not suffice, ValueError.
    """
    original = np.ones(f.size, dtype=bool)
    for level in range(max_refinements + 1):
        arg, d1, estimate, residual = _unwrap_steps(h, f, eps)
        bad = np.flatnonzero(np.abs(residual) > 1.0)
        if not bad.size:
            phase = arg[0, 1] + np.concatenate(([0.0], np.cumsum(estimate + residual)))
            return phase[original], d1[original], np.abs(h[original, 1])
        if evaluate is None or level == max_refinements:
            i = bad[0]
            raise ValueError(
                f"frequencies too sparse to unwrap the phase between {f[i]:.4g} and "
                f"{f[i + 1]:.4g} Hz (residual {residual[i]:.2f} rad); use more points"
            )
        ratio = (f[bad + 1] / f[bad])[:, None] ** (np.arange(1, 8) / 8)
        extra = (f[bad, None] * ratio).ravel()
        extra_h, extra_eps = evaluate(extra)
        order = np.argsort(np.concatenate([f, extra]), kind="stable")
        f = np.concatenate([f, extra])[order]
        h = np.concatenate([h, extra_h])[order]
        eps = np.concatenate([eps, extra_eps])[order]
        original = np.concatenate([original, np.zeros(extra.size, bool)])[order]
    raise AssertionError("unreachable")


def _check_frequencies(frequencies, n_sources):
    f = np.asarray(as_si(frequencies, u.Hz, "frequencies"), dtype=float)
    if f.ndim == 1:
        f = np.broadcast_to(f, (n_sources, f.size))
    if f.ndim != 2 or f.shape[0] != n_sources or f.shape[1] < 2:
        raise ValueError(
            f"frequencies must have shape (n_f,) or ({n_sources}, n_f) with n_f >= 2,"
            f" got {f.shape}"
        )
    if not np.all(np.isfinite(f)) or np.any(f <= 0):
        raise ValueError("frequencies must be finite and > 0 Hz")
    if np.any(np.diff(f, axis=1) <= 0):
        raise ValueError("frequencies must increase strictly along each grid")
    if np.any(np.diff(f, axis=1) / f[:, :-1] < 10 * _EPS_STENCIL):
        raise ValueError("frequencies closer than 1e-6 relative are not supported")
    return f


def _warn_calibration(sources, model, approximant):
    outside = sources.mass_ratio < model["q_calibrated"]
    if np.any(outside):
        warnings.warn(
            f"{outside.sum()} source(s) have mass ratio q = m2/m1 below "
            f"{approximant}'s calibration limit {model['q_calibrated']:.3g} "
            f"(smallest q = {sources.mass_ratio.min():.3g}); the waveform is "
            "extrapolated",
            WaveformCalibrationWarning,
            stacklevel=3,
        )


def mode_amplitude_phase(
    sources: MBHBSources,
    frequencies: ArrayLike | u.Quantity,
    approximant: str = "IMRPhenomD",
    modes: list[tuple[int, int]] | None = None,
    f_ref: float | u.Quantity | None = None,
    scale_mode_frequencies: bool = True,
    cosmology=Planck18,
) -> dict[tuple[int, int], ModeWaveform]:
    """Amplitude, phase and time-frequency relation of each mode of each source.

    Parameters
    ----------
    sources : MBHBSources
    frequencies : array_like or Quantity
        22-mode frequencies (Hz, detector frame), shape (n_f,) shared or
        (n_sources, n_f) per source (e.g. ``sparse_frequency_grid``), strictly
        increasing, not above the model's end frequency.
    approximant : {"IMRPhenomD", "IMRPhenomHM", "IMRPhenomXHM"}
    modes : list of (l, m), optional
        Modes with m > 0 (default: all of the approximant's).
    f_ref : float or Quantity, optional
        22-mode frequency (Hz) where ``phase_22 = 2 pi f_ref t_c``; default
        IMRPhenomD's peak frequency of each source.
    scale_mode_frequencies : bool
        Evaluate mode (l, m) at ``(m/2) f`` (lisabeta's ``scale_freq_hm``), so
        every mode covers the same times; else at ``f``.
    cosmology : astropy.cosmology.FLRW
        For the redshifted masses and luminosity distance.

    Returns
    -------
    dict mapping (l, m) to ModeWaveform

    Raises
    ------
    ValueError
        Unknown approximant or mode, bad frequencies, or a lalsimulation failure
        (the message names the source's parameters).

    References
    ----------
    Khan et al. 2016 (arXiv:1508.07253), IMRPhenomD; London et al. 2018
    (arXiv:1708.00404), IMRPhenomHM; Garcia-Quiros et al. 2020
    (arXiv:2001.10914), IMRPhenomXHM; Marsat & Baker 2018 (arXiv:1806.10734)
    and Marsat et al. 2021 (arXiv:2003.00357) for the conventions.
    """
    model = _model(approximant)
    modes = list(model["modes"]) if modes is None else [tuple(lm) for lm in modes]
    unknown = [lm for lm in modes if lm not in model["modes"]]
    if unknown or not modes:
        raise ValueError(f"modes must be a non-empty subset of {model['modes']}")
    _warn_calibration(sources, model, approximant)
    frame = detector_frame(sources, cosmology)
    f22 = _check_frequencies(frequencies, len(sources))
    f_end = model["mf_end"] / frame.total_mass_seconds
    above = np.flatnonzero(f22[:, -1] > f_end * (1 + 1e-12))
    if above.size:
        i = above[0]
        raise ValueError(
            f"frequencies exceed {approximant}'s end frequency Mf = "
            f"{model['mf_end']} for {above.size} source(s), e.g. source {i}: "
            f"{f22[i, -1]:.4g} Hz > {f_end[i]:.4g} Hz"
        )
    f_peak = peak_frequency(sources, frame)
    if f_ref is None:
        f_refs = f_peak
    else:
        f_refs = np.broadcast_to(_as_array(f_ref, u.Hz, "f_ref"), f_peak.shape)
        if np.any(f_refs <= 0) or np.any(f_refs > f_end):
            raise ValueError("f_ref must be > 0 Hz and below the model's end")

    shape = (len(sources), f22.shape[1])
    out = {lm: [np.empty(shape) for _ in range(4)] for lm in modes}
    for i in range(len(sources)):
        _one_source(
            i, sources, frame, f22[i], f_peak[i], f_refs[i], approximant,
            modes, scale_mode_frequencies, out,
        )  # fmt: skip
    return {lm: ModeWaveform(*arrays) for lm, arrays in out.items()}


def _one_source(i, sources, frame, f22, f_peak, f_ref, approximant, modes, scale,
                out):  # fmt: skip
    """Fill ``out[lm][k][i]`` for source i: generate, unwrap, align."""
    factors = {lm: lm[1] / 2 if scale else 1.0 for lm in modes}
    wanted = modes if (2, 2) in modes else [*modes, (2, 2)]
    # each mode at its own grid; the 22 mode also at the pivots f_peak and f_ref
    grids = {lm: f22 * factors.get(lm, 1.0) for lm in wanted}
    grids[(2, 2)] = np.concatenate((grids[(2, 2)], [f_peak, f_ref]))
    mc_s = frame.chirp_mass[i] * G_SI / C_SI**3
    eps = {lm: _stencil_widths(g, lm[1], mc_s) for lm, g in grids.items()}
    stencils = {
        lm: (g[:, None] * (1 + eps[lm][:, None] * np.array([-1.0, 0.0, 1.0])))
        for lm, g in grids.items()
    }
    evaluated = np.concatenate([s.ravel() for s in stencils.values()])
    # lalsimulation's frequency sequences must increase strictly
    unique, inverse = np.unique(evaluated, return_inverse=True)
    try:
        h = _lal_modes(
            approximant, unique, frame.m1[i], frame.m2[i],
            sources.chi1[i], sources.chi2[i], frame.luminosity_distance[i], f_ref,
            wanted,
        )  # fmt: skip
    except RuntimeError as exc:
        raise ValueError(
            f"lalsimulation {approximant} failed for source {i} (m1 = "
            f"{frame.m1[i] / MSUN_SI:.4g} Msun, m2 = {frame.m2[i] / MSUN_SI:.4g} Msun"
            f" detector frame, chi1 = {sources.chi1[i]:.3g}, chi2 = "
            f"{sources.chi2[i]:.3g}, z = {sources.redshift[i]:.3g}): {exc}"
        ) from exc
    start = np.cumsum([0] + [s.size for s in stencils.values()])
    values = {}
    for k, lm in enumerate(stencils):
        values[lm] = h[lm][inverse[start[k] : start[k + 1]]].reshape(-1, 3)

    # align t_22(f_peak) = 0; lalsimulation (phiRef = 0) already puts the 22
    # phase near 0 at f_ref, so its wrapped value is far from +-pi and the
    # m/2 rotation below has no branch ambiguity for odd m
    pivots = np.angle(values[(2, 2)][-2:-1])
    d1 = _phase_derivative(pivots, grids[(2, 2)][-2:-1], eps[(2, 2)][-2:-1])
    dt = -d1[0] / (2 * np.pi)
    phase_ref = np.angle(values[(2, 2)][-1, 1])
    values[(2, 2)] = values[(2, 2)][:-2]
    t_c = sources.t_c[i]
    model = APPROXIMANTS[approximant]
    m_total_s = frame.total_mass_seconds[i]
    for lm in modes:
        f = grids[lm][: f22.size]
        scale = lm[1] / 2 if model["mode_end_scales"] else 1.0
        # valid: below the mode's end, stencil fully evaluated (XHM returns 0 at
        # and above its cut)
        valid = (f <= scale * model["mf_end"] / m_total_s * (1 + 1e-9)) & np.all(
            values[lm] != 0, axis=1
        )
        n_in = int(np.argmin(valid)) if not np.all(valid) else f.size
        phase = np.zeros(f.size)
        time = np.zeros(f.size)
        amplitude = np.zeros(f.size)
        if n_in >= 2:

            def evaluate(freqs, lm=lm):
                widths = _stencil_widths(freqs, lm[1], mc_s)
                stencil = freqs[:, None] * (1 + widths[:, None] * np.array([-1, 0, 1]))
                flat, back = np.unique(stencil.ravel(), return_inverse=True)
                extra = _lal_modes(
                    approximant, flat, frame.m1[i], frame.m2[i], sources.chi1[i],
                    sources.chi2[i], frame.luminosity_distance[i], f_ref, [lm],
                )[lm]  # fmt: skip
                return extra[back].reshape(-1, 3), widths

            phase[:n_in], d1, amplitude[:n_in] = _unwrapped_phase(
                values[lm][:n_in], f[:n_in], eps[lm][:n_in], evaluate
            )
            time[:n_in] = d1 / (2 * np.pi)
        # past the mode's end: zero amplitude, time held, phase continued linearly
        last = max(n_in - 1, 0)
        time[n_in:] = time[last]
        phase[n_in:] = phase[last] + 2 * np.pi * time[last] * (f[n_in:] - f[last])
        # lisabeta's order: the orbital phase is set at f_ref first (rotation by
        # -phase_ref / 2, i.e. -m phase_ref / 2 for mode m), then every mode is
        # shifted by dt, the common factor exp(2 i pi dt (f - f_ref)) keeping
        # phase_22(f_ref) = 0
        phase += 2 * np.pi * dt * (f - f_ref) - lm[1] / 2 * phase_ref
        phase += 2 * np.pi * f * t_c
        time += dt + t_c
        for k, array in enumerate((f, amplitude, phase, time)):
            out[lm][k][i] = array


def time_of_frequency(
    sources: MBHBSources,
    frequencies: ArrayLike | u.Quantity,
    approximant: str = "IMRPhenomD",
    modes: list[tuple[int, int]] | None = None,
    **kwargs,
) -> dict[tuple[int, int], NDArray]:
    """t_lm(f) = (1/2 pi) d phase_lm / df (s) of each mode.

    Same arguments as ``mode_amplitude_phase``.

    References
    ----------
    Marsat & Baker 2018 (arXiv:1806.10734), eq. (20) (stationary phase).
    """
    wf = mode_amplitude_phase(sources, frequencies, approximant, modes, **kwargs)
    return {lm: w.time for lm, w in wf.items()}

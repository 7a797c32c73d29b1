"""Fisher-matrix forecasts for massive black-hole binaries (MBHBs) seen by LISA.

For a signal h(theta) in Gaussian noise, the Fisher matrix
``F_ab = (d_a h | d_b h)`` with the noise-weighted inner product
``(a | b) = 4 Re sum_c int a_c b_c^* / S_c df`` over the TDI channels bounds the
covariance of an unbiased estimate by ``F^-1`` at high SNR (Cutler & Flanagan
1994; Vallisneri 2008 on its limits).

Parameters (:data:`FISHER_PARAMETERS`): the detector-frame chirp mass and the
luminosity distance in logarithm (errors are fractional), the mass ratio
q = m2/m1 <= 1, the aligned spins, the time ``t_c`` and observer phase at the
22-mode peak (lisabeta's ``Deltat`` and ``phi``), inclination, ecliptic sky
position and polarisation, all in the SSB frame.

Derivatives: central finite differences of the complete TDI signal of each
mode, waveform (lalsimulation) and response recomputed on the fiducial
source's sparse frequency grid, which stays fixed for every step (as in
lisabeta, Marsat et al. 2021), with Richardson extrapolation from steps h and
h/2 (error O(h^4)); the spread between the h/2 estimate and the extrapolated one
is reported as ``step_error`` and checked. The mass and spin steps are scaled so
that the step changes the Newtonian inspiral phase at the start of the band by
at most ~0.05 rad, which keeps the differences in their linear regime from 1e4
to 1e8 solar masses. Bounded parameters (q <= 1, |chi| < 1) switch to one-sided
second-order differences at their edges. The distance derivative is exact,
``d h / d ln D_L = -h``.

Inner products: each mode's derivative ``d_a h_lm = exp(i Phi_lm) v_a,lm(f)``
has a slowly varying ``v``, so ``(d_a h_lm | d_b h_lm)`` is integrated on the
sparse grid with Gauss-Legendre quadrature of splined ``v`` (as the SNR of
:mod:`simfer.inference.mbhb_snr`), and products of different modes with the
same Filon rule as the SNR's cross terms. The SNR comes out of the same Gram
matrix.

Inversion: the Fisher matrix is normalised by its diagonal before inversion and
its condition number reported; above ``condition_threshold`` an
:class:`~simfer.inference.fisher.IllConditionedFisherWarning` is issued.
Gaussian priors (``priors``, 1-sigma widths in the parameters' units) add
``1 / sigma^2`` to the diagonal; :data:`BOUNDED_ANGLE_PRIORS` gives each
bounded angle the variance of a uniform distribution over its range.

References
----------
Cutler, C. & Flanagan, E. E. 1994, PRD 49, 2658 (Fisher forecasts).
Vallisneri, M. 2008, PRD 77, 042001 (use and abuse of the Fisher matrix).
Marsat, S., Baker, J. G. & Dal Canton, T. 2021, PRD 103, 083011
(arXiv:2003.00357) (lisabeta, sparse-grid Fisher matrices for LISA).
Cutler, C. 1998, PRD 57, 7089 (sky-location error area).
Richardson, L. F. 1911, Phil. Trans. R. Soc. A 210, 307 (extrapolation).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, replace
from functools import partial
from typing import NamedTuple

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
from astropy.cosmology import Planck18
from astropy.table import QTable
from numpy.typing import NDArray

from simfer import SimferWarning
from simfer.inference.fisher import (
    DEFAULT_CONDITION_THRESHOLD,
    IllConditionedFisherWarning,
    invert_fisher,
)
from simfer.inference.mbhb_snr import (
    CHANNELS,
    _cross_gram,
    _gauss_nodes,
    _gram_kernel,
    _inverse_psd,
    _signal_band,
    _signal_grid,
    _truncate_above,
)
from simfer.sims.lisa_response import tdi_response
from simfer.sims.lisa_tdi_noise import LisaTdiNoise
from simfer.sims.mbhb_sources import MSUN_SI, Q_MIN, MBHBSources, detector_frame
from simfer.sims.mbhb_waveforms import (
    APPROXIMANTS,
    WaveformCalibrationWarning,
    _warn_calibration,
    mode_amplitude_phase,
)
from simfer.sims.si_inputs import as_si

__all__ = [
    "BOUNDED_ANGLE_PRIORS",
    "FISHER_PARAMETERS",
    "MBHBFisher",
    "UnstableDerivativeWarning",
    "mbhb_fisher",
]

logger = logging.getLogger(__name__)

#: Parameters of the MBHB Fisher matrix, in this order, and their units.
FISHER_PARAMETERS = {
    "log_chirp_mass": u.one,  # ln of the detector-frame chirp mass
    "mass_ratio": u.one,  # q = m2 / m1 <= 1
    "chi1": u.one,
    "chi2": u.one,
    "t_c": u.s,
    "phase": u.rad,
    "log_distance": u.one,  # ln of the luminosity distance
    "inclination": u.rad,
    "ecliptic_longitude": u.rad,
    "ecliptic_latitude": u.rad,
    "polarization": u.rad,
}
_INTRINSIC = ("log_chirp_mass", "mass_ratio", "chi1", "chi2")
_NAMES = tuple(FISHER_PARAMETERS)

#: 1-sigma Gaussian priors on the bounded angles, rad: the standard deviation
#: width / sqrt(12) of a uniform distribution over each angle's range.
BOUNDED_ANGLE_PRIORS = {
    "phase": 2 * np.pi / math.sqrt(12),
    "inclination": np.pi / math.sqrt(12),
    "ecliptic_longitude": 2 * np.pi / math.sqrt(12),
    "ecliptic_latitude": np.pi / math.sqrt(12),
    "polarization": np.pi / math.sqrt(12),
}

# Step sizes. Masses and spins: scaled to the inspiral phase (module docstring),
# a step in ln Mc moving the Newtonian phase at the band's start by _PHASE_STEP;
# q and chi move the phase less per unit, hence the larger relative factors
# (lisabeta's defaults have the same ordering, Marsat et al. 2021).
_PHASE_STEP = 0.05  # rad
_MAX_LOG_MC_STEP = 1e-4
_INTRINSIC_FACTORS = {"log_chirp_mass": 1.0, "mass_ratio": 30.0, "chi1": 10.0,
                      "chi2": 10.0}  # fmt: skip
_EXTRINSIC_STEPS = {"t_c": 1e-2, "phase": 1e-4, "inclination": 1e-4,
                    "ecliptic_longitude": 1e-4, "ecliptic_latitude": 1e-4,
                    "polarization": 1e-4}  # fmt: skip
_END_MARGIN = 1e-3  # grid ends this fraction below the model's end frequency
_MAX_LOG_MASS_STEP = 0.05  # largest total-mass change of a step (ln M)
_STEP_ERROR_TOLERANCE = 1e-2  # warn above this relative error change
_LINEAR_LIMIT = 0.5  # errors above this (rad, e-folds, unit range) are not linear
_CHI_MAX = 0.999  # spins are stepped one-sided beyond this
_DERIVATIVES = ("finite_difference", "autodiff")
_UNSTABLE_MODES = {"IMRPhenomXHM": ((3, 2),)}  # see _fisher_modes
_CHUNK = 32  # sources per batch of derivative evaluations (memory ~ 30 MB each)


class UnstableDerivativeWarning(SimferWarning):
    """Finite-difference derivatives changed by more than 1 % between steps.

    The errors of the affected sources depend on the step size; pass smaller
    ``steps`` (or report the source to the developers).
    """


# --- finite-difference stencils ---------------------------------------------


@dataclass(frozen=True)
class _Stencil:
    """Offsets and weights of one derivative: d f ~ sum_k w_k f(x + o_k) + w0 f(x)."""

    offsets: tuple[float, ...]
    refined: tuple[float, ...]  # weights (w0, w_1, ...), Richardson-extrapolated
    check: tuple[float, ...]  # weights of the plain estimate at the smaller step


def _central(h):
    # D(s) = (f(s) - f(-s)) / 2s; Richardson (4 D(h/2) - D(h)) / 3
    return _Stencil(
        offsets=(h, -h, h / 2, -h / 2),
        refined=(0.0, -1 / (6 * h), 1 / (6 * h), 4 / (3 * h), -4 / (3 * h)),
        check=(0.0, 0.0, 0.0, 1 / h, -1 / h),
    )


def _one_sided(h, sign):
    # D2(s) = (-3 f(0) + 4 f(s) - f(2s)) / 2s at s = sign h/4 and sign h/2;
    # Richardson (4 D2(h/4) - D2(h/2)) / 3
    s = sign * h
    d_small = np.array([-3.0, 4.0, -1.0, 0.0]) / (2 * s / 4)  # f0, f(s/4), f(s/2)
    d_large = np.array([-3.0, 0.0, 4.0, -1.0]) / (2 * s / 2)  # f0, f(s/2), f(s)
    return _Stencil(
        offsets=(s / 4, s / 2, s),
        refined=tuple((4 * d_small - d_large) / 3),
        check=tuple(d_small),
    )


# where central stencils switch to one-sided ones, and the valid ranges
_SWITCH = {"mass_ratio": (Q_MIN, 1.0), "chi1": (-_CHI_MAX, _CHI_MAX),
           "chi2": (-_CHI_MAX, _CHI_MAX)}  # fmt: skip
_DOMAIN = {"mass_ratio": (Q_MIN, 1.0), "chi1": (-1.0, 1.0), "chi2": (-1.0, 1.0)}


def _stencil(name, value, step):
    """Central differences, one-sided towards the inside near a bound.

    Raises ValueError when even the one-sided stencil leaves the parameter's
    range (a step too large for the source).
    """
    if name not in _SWITCH:
        return _central(step)
    low, high = _SWITCH[name]
    if low <= value - step and value + step <= high:
        return _central(step)
    stencil = _one_sided(step, 1.0 if value - step < low else -1.0)
    reach = value + np.array(stencil.offsets)
    lowest, highest = _DOMAIN[name]
    inside = (reach >= lowest) & (reach <= highest)
    if name != "mass_ratio":
        inside &= np.abs(reach) < 1  # spins strictly inside (-1, 1)
    if not np.all(inside):
        raise ValueError(
            f"steps[{name!r}] = {step:g} moves {name} = {value:g} outside "
            f"[{lowest:g}, {highest:g}]; use a smaller step"
        )
    return stencil


def _default_steps(frame, grid):
    """Per-source steps: ln Mc moves the Newtonian phase at grid[0] by 0.05 rad."""
    mc_s = frame.chirp_mass / MSUN_SI * 4.925490947641267e-06  # G Msun / c^3, s
    newtonian_phase = 2 * 3 / 128 * (np.pi * mc_s * grid[:, 0]) ** (-5 / 3)
    log_mc = np.minimum(_MAX_LOG_MC_STEP, _PHASE_STEP / (5 / 3 * newtonian_phase))
    steps = {name: log_mc * factor for name, factor in _INTRINSIC_FACTORS.items()}
    for name, value in _EXTRINSIC_STEPS.items():
        steps[name] = np.full(log_mc.shape, value)
    return steps


# --- result -----------------------------------------------------------------


@dataclass(frozen=True)
class MBHBFisher:
    """Fisher forecasts of a batch of ``n`` MBHBs over ``k`` free parameters.

    Attributes
    ----------
    parameter_names : tuple of str
        Free parameters, a subset of :data:`FISHER_PARAMETERS` in its order.
    fiducial : dict of str to ndarray (n,)
        Parameter values of each source (``log_*`` in ln of kg and m).
    fisher : ndarray, shape (n, k, k)
        Fisher matrices of the data, without priors, in the parameters' units.
    covariance : ndarray, shape (n, k, k)
        Inverse of fisher plus the prior precision; NaN where not positive
        definite.
    condition_number : ndarray, shape (n,)
        Of the diagonal-normalised Fisher matrix plus priors.
    snr : ndarray, shape (n,)
        Optimal SNR sqrt((h|h)).
    step_error : ndarray, shape (n,)
        Largest relative change of a 1-sigma error between the finite-difference
        estimate at the smaller step and the Richardson-extrapolated one.
    redshift : ndarray, shape (n,)
    distance_derivative : ndarray, shape (n,)
        d ln(1 + z) / d ln D_L of the cosmology at each source (for source-frame
        masses).
    """

    parameter_names: tuple[str, ...]
    fiducial: dict[str, NDArray]
    fisher: NDArray
    covariance: NDArray
    condition_number: NDArray
    snr: NDArray
    step_error: NDArray
    redshift: NDArray
    distance_derivative: NDArray

    def __len__(self) -> int:
        return self.snr.size

    @property
    def errors(self) -> dict[str, NDArray]:
        """1-sigma marginal errors sqrt(diag(covariance)), per parameter (n,)."""
        sigma = np.sqrt(np.diagonal(self.covariance, axis1=-2, axis2=-1))
        return {name: sigma[:, i] for i, name in enumerate(self.parameter_names)}

    @property
    def reliable(self) -> NDArray:
        """Whether each forecast can be trusted as a Fisher forecast, (n,) bool.

        The Fisher matrix describes the posterior only where the signal is
        linear in the parameters over the error ellipsoid (high SNR; Vallisneri
        2008). Flagged unreliable: an ill-conditioned matrix, derivatives that
        depend on the step (``step_error`` > 1 %), or a 1-sigma error of at
        least ``0.5`` on any free parameter other than ``t_c`` (rad for angles,
        e-folds for ln Mc and ln D_L, the full scale of q and the spins), where
        the signal is far from linear and the true posterior is wider and
        non-Gaussian (e.g. the distance-inclination degeneracy of nearly
        face-on sources, even with priors).
        """
        ok = (self.condition_number <= DEFAULT_CONDITION_THRESHOLD) & (
            self.step_error <= _STEP_ERROR_TOLERANCE
        )
        for name, sigma in self.errors.items():
            if name != "t_c":
                ok &= sigma < _LINEAR_LIMIT
        return ok

    def _full_covariance(self):
        """Covariance embedded in all of FISHER_PARAMETERS (zero for fixed ones)."""
        index = [_NAMES.index(p) for p in self.parameter_names]
        full = np.zeros((len(self), len(_NAMES), len(_NAMES)))
        full[:, np.ix_(index, index)[0], np.ix_(index, index)[1]] = self.covariance
        return full

    def _linear_error(self, gradient):
        """sqrt(g^T C g) for gradients g (n, len(FISHER_PARAMETERS))."""
        cov = self._full_covariance()
        return np.sqrt(np.einsum("ni,nij,nj->n", gradient, cov, gradient))

    @property
    def sky_area(self) -> u.Quantity:
        """1-sigma sky-location area 2 pi |cos b| sqrt(s_b^2 s_l^2 - C_bl^2), deg^2.

        Cutler 1998, eq. (6.4), with ecliptic latitude b and longitude l; zero
        where the sky is fixed, capped at the whole sky (41,253 deg^2).
        """
        cov = self._full_covariance()
        i, j = _NAMES.index("ecliptic_longitude"), _NAMES.index("ecliptic_latitude")
        det = cov[:, i, i] * cov[:, j, j] - cov[:, i, j] ** 2
        cos_b = np.abs(np.cos(self.fiducial["ecliptic_latitude"]))
        area = 2 * np.pi * cos_b * np.sqrt(np.maximum(det, 0.0))
        return (np.minimum(area, 4 * np.pi) * u.sr).to(u.deg**2)

    @property
    def derived_errors(self) -> dict[str, NDArray]:
        """Fractional 1-sigma errors of derived quantities, per source (n,).

        ``distance`` (sigma_D / D), ``chirp_mass`` and ``total_mass`` (detector
        frame), ``source_chirp_mass``, ``source_total_mass``,
        ``source_mass_1``, ``source_mass_2`` (source frame: the redshift follows
        from D_L through the cosmology, so the distance error enters; Jacobians
        of ln M = ln Mc - (3/5) ln eta, eta = q / (1 + q)^2, m1 = M / (1 + q)).
        """
        q = self.fiducial["mass_ratio"]
        n = len(self)
        idx = {name: _NAMES.index(name) for name in _NAMES}

        def gradient(log_mc=1.0, dq=0.0, log_d=0.0):
            g = np.zeros((n, len(_NAMES)))
            g[:, idx["log_chirp_mass"]] = log_mc
            g[:, idx["mass_ratio"]] = dq
            g[:, idx["log_distance"]] = log_d
            return g

        dlog_m_dq = -0.6 * (1 - q) / (q * (1 + q))  # d ln M / dq at fixed Mc
        dz = -self.distance_derivative  # d ln m_source / d ln D_L
        dm1 = dlog_m_dq - 1 / (1 + q)
        dm2 = dlog_m_dq + 1 / q - 1 / (1 + q)
        out = {
            "distance": gradient(0.0, 0.0, 1.0),
            "chirp_mass": gradient(),
            "total_mass": gradient(dq=dlog_m_dq),
            "source_chirp_mass": gradient(log_d=dz),
            "source_total_mass": gradient(dq=dlog_m_dq, log_d=dz),
            "source_mass_1": gradient(dq=dm1, log_d=dz),
            "source_mass_2": gradient(dq=dm2, log_d=dz),
        }
        return {name: self._linear_error(g) for name, g in out.items()}

    def table(self) -> QTable:
        """One row per source: fiducial detector-frame chirp mass, q, z, D_L; SNR,
        1-sigma errors (with units), derived errors, checks and ``reliable``."""
        table = QTable()
        table["chirp_mass"] = (np.exp(self.fiducial["log_chirp_mass"]) * u.kg).to(
            u.Msun
        )  # detector frame
        table["mass_ratio"] = self.fiducial["mass_ratio"]
        table["redshift"] = self.redshift
        table["luminosity_distance"] = (np.exp(self.fiducial["log_distance"]) * u.m).to(
            u.Mpc
        )
        table["snr"] = self.snr
        for name, sigma in self.errors.items():
            table[f"sigma_{name}"] = sigma * FISHER_PARAMETERS[name]
        for name, sigma in self.derived_errors.items():
            table[f"relative_error_{name}"] = sigma
        table["sky_area"] = self.sky_area
        table["condition_number"] = self.condition_number
        table["step_error"] = self.step_error
        table["reliable"] = self.reliable
        return table


# --- computation ------------------------------------------------------------


def _fiducial(sources, frame, cosmology):
    mc = frame.chirp_mass
    return {
        "log_chirp_mass": np.log(mc),
        "mass_ratio": sources.mass_ratio,
        "chi1": sources.chi1,
        "chi2": sources.chi2,
        "t_c": sources.t_c,
        "phase": sources.phase,
        "log_distance": np.log(frame.luminosity_distance),
        "inclination": sources.inclination,
        "ecliptic_longitude": sources.ecliptic_longitude,
        "ecliptic_latitude": sources.ecliptic_latitude,
        "polarization": sources.polarization,
    }


def _distance_derivative(redshift, cosmology):
    """d ln(1 + z) / d ln D_L by central differences of astropy's D_L(z)."""
    dz = 1e-5 * redshift
    d_hi = cosmology.luminosity_distance(redshift + dz).to_value(u.m)
    d_lo = cosmology.luminosity_distance(redshift - dz).to_value(u.m)
    d = cosmology.luminosity_distance(redshift).to_value(u.m)
    return d / (1 + redshift) * 2 * dz / (d_hi - d_lo)


def _intrinsic_sources(fiducial, redshift, perturbations):
    """MBHBSources (waveform parameters only) for intrinsic perturbations."""
    values = {}
    for name in _INTRINSIC:
        values[name] = fiducial[name][perturbations["source"]] + np.where(
            perturbations["name"] == name, perturbations["offset"], 0.0
        )
    z = redshift[perturbations["source"]]
    q = values["mass_ratio"]
    mc_source = np.exp(values["log_chirp_mass"]) / (1 + z)
    m1 = mc_source * (1 + q) ** 0.2 / q**0.6
    return MBHBSources(m1=m1, m2=q * m1, chi1=values["chi1"], chi2=values["chi2"],
                       redshift=z,
                       t_c=fiducial["t_c"][perturbations["source"]])  # fmt: skip


def mbhb_fisher(
    sources: MBHBSources,
    parameters: list[str] | tuple[str, ...] | None = None,
    *,
    priors: dict[str, float] | None = None,
    steps: dict[str, float] | None = None,
    channels: str = "AET",
    noise: LisaTdiNoise | None = None,
    approximant: str = "IMRPhenomD",
    modes: list[tuple[int, int]] | None = None,
    t_obs: float | u.Quantity | None = None,
    f_min: float | u.Quantity = 1e-5,
    f_max: float | u.Quantity = 1.0,
    n_grid: int = 200,
    t0: float | u.Quantity = 0.0,
    cosmology=Planck18,
    condition_threshold: float = DEFAULT_CONDITION_THRESHOLD,
    derivatives: str = "finite_difference",
) -> MBHBFisher:
    """Fisher matrices and parameter errors of a batch of MBHBs for LISA.

    Parameters
    ----------
    sources : MBHBSources
        The fiducial sources (source frame plus redshift).
    parameters : sequence of str, optional
        Free parameters (default all of :data:`FISHER_PARAMETERS`); the others
        are held fixed.
    priors : dict of str to float or Quantity, optional
        Gaussian 1-sigma prior widths, in the parameters' units (rad, s, or
        dimensionless; Quantities are converted), added to the Fisher matrix
        before inversion (e.g. :data:`BOUNDED_ANGLE_PRIORS`; priors on the
        spins, e.g. ``{"chi1": 0.5, "chi2": 0.5}``, regularise q = 1).
    steps : dict of str to float, optional
        Finite-difference step h per parameter (same for every source),
        overriding the defaults (module docstring); h/2 is used as well.
    channels : {"AE", "AET"}
        TDI channels in the inner product (default all three, as lisabeta).
    noise : LisaTdiNoise, optional
        Noise model (default ``LisaTdiNoise()``); the rescaled response and PSDs
        of its generation are used.
    approximant, modes, t_obs, f_min, f_max, n_grid, t0, cosmology
        As in :func:`simfer.inference.mbhb_snr.mbhb_tdi_signal`, except that
        by default ``modes`` leaves out IMRPhenomXHM's (3,2) mode, whose
        derivatives are unstable (and refuses it when asked for). ``t_obs`` is
        in seconds when a bare number.
    condition_threshold : float
        Condition number above which IllConditionedFisherWarning is issued.
    derivatives : {"finite_difference", "autodiff"}
        ``"autodiff"``: exact derivatives by ``jax.jacfwd`` through ripple's
        JAX IMRPhenomD (:mod:`simfer.sims.mbhb_waveforms_jax`) and the JAX
        response, on the same fixed grid; IMRPhenomD (2,2) only, q < 1;
        20-40 s of compilation per batch shape, then ~0.2-0.5 s per source (the
        finite differences take ~20 ms). ``step_error`` is then 0.

    Returns
    -------
    MBHBFisher

    Raises
    ------
    ValueError
        Unknown parameter or prior name, non-positive prior width or step,
        bad signal options (see ``mbhb_tdi_signal``).

    Warns
    -----
    IllConditionedFisherWarning
        Some Fisher matrix has a condition number above the threshold.
    UnstableDerivativeWarning
        Some error changes by more than 1 % between the step sizes.

    References
    ----------
    Cutler & Flanagan 1994; Marsat et al. 2021 (arXiv:2003.00357), section IV.
    """
    if not isinstance(sources, MBHBSources):
        raise TypeError(f"sources must be MBHBSources, got {type(sources).__name__}")
    free = _check_names(_NAMES if parameters is None else parameters, "parameters")
    if len(set(free)) != len(free):
        raise ValueError(f"parameters contains duplicates: {list(free)}")
    free = tuple(name for name in _NAMES if name in free)
    priors = _check_positive(priors or {}, "priors")
    user_steps = _check_positive(steps or {}, "steps")
    if channels not in CHANNELS:
        raise ValueError(
            f"channels must be one of {sorted(CHANNELS)}, got {channels!r}"
        )
    if not condition_threshold > 1:
        raise ValueError("condition_threshold must be > 1")
    modes = _fisher_modes(approximant, modes)
    if derivatives not in _DERIVATIVES:
        raise ValueError(
            f"derivatives must be one of {_DERIVATIVES}, got {derivatives!r}"
        )
    if derivatives == "autodiff":
        if approximant != "IMRPhenomD" or modes not in (None, [(2, 2)], ((2, 2),)):
            raise ValueError(
                "derivatives='autodiff' needs approximant='IMRPhenomD' with the "
                f"(2, 2) mode only, got {approximant!r} with modes {modes}"
            )
        if np.any(sources.mass_ratio >= 1):
            raise ValueError(
                "derivatives='autodiff' needs mass ratios q < 1 (the JAX "
                "IMRPhenomD's mass derivatives diverge at q = 1); use "
                "finite differences"
            )

    plan = _prepare(
        sources, free, user_steps, noise, approximant, t_obs, f_min, f_max, n_grid,
        t0, cosmology,
    )  # fmt: skip
    fiducial, grid, stencils = plan.fiducial, plan.grid, plan.stencils
    noise, t_orbit = plan.noise, plan.t_orbit

    parts = []
    for lo in range(0, len(sources), _CHUNK):  # bounded memory for large batches
        chunk = slice(lo, lo + _CHUNK)
        values = {name: value[chunk] for name, value in fiducial.items()}
        if derivatives == "autodiff":
            parts.append(
                _autodiff_matrices(values, grid[chunk], free, noise, channels, t_orbit)
            )
            continue
        parts.append(_fisher_matrices(
            values, sources.redshift[chunk], grid[chunk], free, stencils[chunk],
            noise, channels, approximant, modes, t_orbit, cosmology,
        ))  # fmt: skip
    gram, fisher_refined, fisher_check = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )

    prior = np.zeros(len(free))
    for name, sigma in priors.items():
        if name in free:
            precision = np.float64(sigma) ** -2.0 if sigma > 1e-150 else np.inf
            if not np.isfinite(precision):
                raise ValueError(
                    f"priors[{name!r}] = {sigma:g} is too narrow (1/sigma^2 "
                    "overflows); fix the parameter instead"
                )
            prior[free.index(name)] = precision
    covariance, condition = invert_fisher(fisher_refined + np.diag(prior))
    check_cov, _ = invert_fisher(fisher_check + np.diag(prior))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.sqrt(np.diagonal(check_cov, axis1=1, axis2=2)) / np.sqrt(
            np.diagonal(covariance, axis1=1, axis2=2)
        )
    step_error = np.nanmax(np.abs(ratio - 1), axis=1, initial=0.0)
    _warn(condition, condition_threshold, step_error)
    return MBHBFisher(
        parameter_names=free,
        fiducial=fiducial,
        fisher=fisher_refined,
        covariance=covariance,
        condition_number=condition,
        snr=np.sqrt(gram),
        step_error=step_error,
        redshift=sources.redshift.copy(),
        distance_derivative=_distance_derivative(sources.redshift, cosmology),
    )


class _Plan(NamedTuple):
    """Fiducial values, fixed grids and stencils of a batch (see ``_prepare``)."""

    fiducial: dict[str, NDArray]
    grid: NDArray
    stencils: list[dict[str, _Stencil]]
    noise: LisaTdiNoise
    t_orbit: float


def _prepare(sources, free, user_steps, noise, approximant, t_obs, f_min, f_max,
             n_grid, t0, cosmology):  # fmt: skip
    """Check the signal options; fiducial values, fixed grids and FD stencils."""
    noise, tau, f_low, f_high, t_orbit = _signal_band(noise, t_obs, f_min, f_max, t0)
    noise = replace(noise, rescaled=True)
    if approximant not in APPROXIMANTS:
        raise ValueError(
            f"approximant must be one of {sorted(APPROXIMANTS)}, got {approximant!r}"
        )
    _warn_calibration(sources, APPROXIMANTS[approximant], approximant)
    frame = detector_frame(sources, cosmology)
    fiducial = _fiducial(sources, frame, cosmology)
    # keep the grid inside the model's end for every mass step
    mf_end = APPROXIMANTS[approximant]["mf_end"]
    f_top = np.minimum(f_high, mf_end * (1 - _END_MARGIN) / frame.total_mass_seconds)
    grid = _signal_grid(sources, frame, approximant, n_grid, f_low, f_top, tau)
    step_table = _default_steps(frame, grid)
    for name, value in user_steps.items():
        step_table[name] = np.full(len(sources), value)
    # a mass step lowers the model's end frequency: end the grid below it
    q = sources.mass_ratio
    log_mass_step = step_table["log_chirp_mass"] * ("log_chirp_mass" in free) + (
        step_table["mass_ratio"] * 0.6 * (1 - q) / (q * (1 + q))
    ) * ("mass_ratio" in free)
    if np.any(log_mass_step > _MAX_LOG_MASS_STEP):
        raise ValueError(
            "steps['log_chirp_mass'] or steps['mass_ratio'] change the total "
            f"mass by up to {np.max(log_mass_step):.3g} in ln M (at most "
            f"{_MAX_LOG_MASS_STEP} allowed); use smaller steps"
        )
    margin = np.maximum(_END_MARGIN, 2 * log_mass_step)
    grid = _truncate_above(grid, f_top * (1 - margin) / (1 - _END_MARGIN))

    stencils = [
        {name: _stencil(name, fiducial[name][i], step_table[name][i])
         for name in free if name != "log_distance"}
        for i in range(len(sources))
    ]  # fmt: skip
    return _Plan(fiducial, grid, stencils, noise, t_orbit)


def _fisher_modes(approximant, modes):
    """Modes of the Fisher signal: without those unstable under differentiation.

    IMRPhenomXHM's (3,2) mode mixes spherical and spheroidal harmonics in its
    ringdown; its finite-difference derivatives do not converge (steps change
    the errors by tens of per cent), so it is left out by default and refused
    when asked for, as lisabeta does (Marsat et al. 2021).
    """
    unstable = _UNSTABLE_MODES.get(approximant, ())
    if modes is None:
        if approximant not in APPROXIMANTS:
            return None  # reported by _prepare
        return [lm for lm in APPROXIMANTS[approximant]["modes"] if lm not in unstable]
    asked = [tuple(lm) for lm in modes]
    bad = [lm for lm in asked if lm in unstable]
    if bad:
        raise ValueError(
            f"modes {bad} of {approximant} mix harmonics in the ringdown and their "
            "derivatives are unstable: leave them out of Fisher forecasts"
        )
    return asked


def _check_names(names, what):
    if isinstance(names, str):
        raise TypeError(f"{what} must be a sequence of parameter names, not a str")
    names = tuple(names)
    unknown = [n for n in names if n not in FISHER_PARAMETERS]
    if unknown or not names:
        raise ValueError(
            f"{what}: unknown or missing names {unknown}; expected a non-empty "
            f"subset of {list(FISHER_PARAMETERS)}"
        )
    return names


def _check_positive(mapping, what):
    if not isinstance(mapping, dict):
        raise TypeError(f"{what} must be a dict of parameter name to width")
    _check_names(list(mapping) or list(_NAMES[:1]), what)
    out = {}
    for name, value in mapping.items():
        unit = FISHER_PARAMETERS[name]
        value = float(np.asarray(as_si(value, unit, f"{what}[{name!r}]")))
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{what}[{name!r}] must be finite and > 0, got {value}")
        out[name] = value
    return out


def _warn(condition, threshold, step_error):
    bad = np.flatnonzero(~(condition <= threshold))
    if bad.size:
        warnings.warn(
            f"{bad.size} Fisher matrix or matrices with condition number above "
            f"{threshold:.1e} (largest {np.max(condition[bad]):.2e}, source "
            f"{bad[0]}): errors unreliable; parameters are degenerate (e.g. "
            "phase and polarisation of a face-on source, or the two spins at "
            "q = 1): fix one or add a prior",
            IllConditionedFisherWarning,
            stacklevel=3,
        )
    shaky = np.flatnonzero(step_error > _STEP_ERROR_TOLERANCE)
    if shaky.size:
        warnings.warn(
            f"{shaky.size} source(s) with errors changing by more than "
            f"{_STEP_ERROR_TOLERANCE:.0%} between finite-difference steps "
            f"(largest {np.max(step_error[shaky]):.2%}, source {shaky[0]})",
            UnstableDerivativeWarning,
            stacklevel=3,
        )


def _fisher_matrices(fiducial, redshift, grid, free, stencils, noise, channels,
                     approximant, modes, t_orbit, cosmology):  # fmt: skip
    """SNR^2, Richardson and check Fisher matrices, (n,), (n, k, k), (n, k, k)."""
    derivatives = _derivative_vectors(
        fiducial, redshift, grid, free, stencils, noise, approximant, modes,
        t_orbit, cosmology,
    )  # fmt: skip
    k = len(free)
    gram = _gram_matrices(derivatives, noise, channels)
    refined = gram[:, 1 : 1 + k, 1 : 1 + k]
    check = gram[:, 1 + k :, 1 + k :]
    return gram[:, 0, 0], refined, check


class _Derivatives(NamedTuple):
    """Fiducial signals and their derivatives, mode by mode, on fixed grids.

    ``frequencies``, ``phase`` (fiducial, with the Doppler phase) and ``time``:
    (n, n_modes, n_f); ``vectors`` (n, n_modes, 1 + 2 k, 3, n_f): the fiducial
    A, E, T complex amplitudes, then the k Richardson-extrapolated derivatives,
    then the k check derivatives, all relative to ``exp(i phase)``.
    """

    frequencies: NDArray
    vectors: NDArray
    phase: NDArray
    time: NDArray


def _gram_matrices(derivatives, noise, channels):
    """Inner products of all the vectors of each source: (n, 1 + 2k, 1 + 2k)."""
    chans = CHANNELS[channels]
    t, w = _gauss_nodes()
    f = derivatives.frequencies
    nodes = f[..., :-1, None] + np.diff(f, axis=-1)[..., None] * t
    inverse_psd = _inverse_psd(noise, nodes, chans)
    gram = np.asarray(_gram_kernel(f, derivatives.vectors, inverse_psd, t, w))
    gram = gram.sum(axis=1)
    if f.shape[1] > 1:
        for i in range(f.shape[0]):
            gram[i] += _cross_gram(
                f[i], derivatives.vectors[i], derivatives.phase[i],
                derivatives.time[i], noise, chans,
            )  # fmt: skip
    return gram


def _derivative_vectors(fiducial, redshift, grid, free, stencils, noise,
                        approximant, modes, t_orbit, cosmology):  # fmt: skip
    """Finite-difference derivative vectors of each source (:class:`_Derivatives`)."""
    n_src = len(redshift)
    # perturbed items: the fiducial (offset 0) then every stencil offset
    rows = []  # (source, name, offset)
    for i in range(n_src):
        rows.append((i, "", 0.0))
        for name, stencil in stencils[i].items():
            rows.extend((i, name, o) for o in stencil.offsets)
    source_of = np.array([r[0] for r in rows])
    name_of = np.array([r[1] for r in rows], dtype=object)
    offset_of = np.array([r[2] for r in rows])

    # waveforms: one per fiducial and per intrinsic offset
    is_wave = (name_of == "") | np.isin(name_of, _INTRINSIC)
    wave_rows = np.flatnonzero(is_wave)
    wave_sources = _intrinsic_sources(
        fiducial, redshift,
        {"source": source_of[wave_rows], "name": name_of[wave_rows],
         "offset": offset_of[wave_rows]},
    )  # fmt: skip
    with warnings.catch_warnings():
        # said once per fiducial source in _prepare, not per perturbed copy
        warnings.simplefilter("ignore", WaveformCalibrationWarning)
        waveform = mode_amplitude_phase(
            wave_sources, grid[source_of[wave_rows]], approximant=approximant,
            modes=modes, cosmology=cosmology,
        )  # fmt: skip
    mode_list = tuple(waveform)
    fields = {}
    for key in ("frequency", "amplitude", "phase", "time"):
        stacked = np.stack([getattr(waveform[lm], key) for lm in mode_list], axis=1)
        # rows that only change angles or t_c reuse their source's fiducial
        full = np.empty((len(rows), *stacked.shape[1:]))
        full[wave_rows] = stacked
        fiducial_row = wave_rows[name_of[wave_rows] == ""]
        other = np.flatnonzero(~is_wave)
        full[other] = stacked[np.searchsorted(wave_rows, fiducial_row)][
            source_of[other]
        ]
        fields[key] = full
    # the waveform already contains the fiducial t_c; add the t_c offsets
    dt = np.where(name_of == "t_c", offset_of, 0.0)[:, None, None]
    fields["phase"] = fields["phase"] + 2 * np.pi * fields["frequency"] * dt
    fields["time"] = fields["time"] + dt

    angles = {}
    for name in ("inclination", "phase", "ecliptic_longitude", "ecliptic_latitude",
                 "polarization"):  # fmt: skip
        angles[name] = fiducial[name][source_of] + np.where(
            name_of == name, offset_of, 0.0
        )
    sparse = tdi_response(
        fields["frequency"], fields["amplitude"], fields["phase"], fields["time"],
        mode_list, angles["inclination"], angles["phase"],
        angles["ecliptic_longitude"], angles["ecliptic_latitude"],
        angles["polarization"], t0=t_orbit, tdi="AET", generation=noise.generation,
        rescaled=True, arm_length=noise.arm_length,
    )  # fmt: skip
    camp = np.asarray(sparse.complex_amplitude)  # (rows, modes, 3, n_f)
    phase = np.asarray(sparse.phase)  # (rows, modes, n_f)

    # derivative vectors relative to the fiducial phase of each mode
    k = len(free)
    n_modes, n_f = phase.shape[1], phase.shape[2]
    vectors = np.zeros((n_src, n_modes, 1 + 2 * k, 3, n_f), dtype=complex)
    start = 0
    for i in range(n_src):
        base = start
        g0 = camp[base]
        vectors[i, :, 0] = g0
        pos = base + 1
        for a, name in enumerate(free):
            if name == "log_distance":
                vectors[i, :, 1 + a] = vectors[i, :, 1 + k + a] = -g0
                continue
            stencil = stencils[i][name]
            n_off = len(stencil.offsets)
            items = range(pos, pos + n_off)
            pos += n_off
            relative = [g0] + [
                camp[j] * np.exp(1j * _phase_offset(phase[j] - phase[base]))[:, None]
                for j in items
            ]
            for slot, weights in ((1 + a, stencil.refined), (1 + k + a, stencil.check)):
                vectors[i, :, slot] = _combine(weights, relative)
        start = pos

    base_rows = np.flatnonzero(name_of == "")
    return _Derivatives(
        fields["frequency"][base_rows], vectors, phase[base_rows],
        fields["time"][base_rows],
    )  # fmt: skip


def _autodiff_matrices(fiducial, grid, free, noise, channels, t_orbit):
    """As :func:`_fisher_matrices`, derivatives by jax.jacfwd (IMRPhenomD 22)."""
    # imported here (ripplegw is optional), before tracing: ripple builds JAX
    # tables at import time, which must not happen inside the jitted kernel
    import simfer.sims.mbhb_waveforms_jax  # noqa: F401

    theta = np.stack([fiducial[name] for name in _NAMES], axis=-1)  # (n, 11)
    options = ("AET", int(noise.generation), "full", True, float(noise.arm_length))
    camp, jacobian = _autodiff_kernel(theta, grid, float(t_orbit), options)
    index = [_NAMES.index(name) for name in free]
    derivatives = np.moveaxis(np.asarray(jacobian)[..., index], -1, 1)  # (n, k, 3, f)
    camp = np.asarray(camp)[:, None]  # (n, 1, 3, n_f)
    vectors = np.concatenate([camp, derivatives], axis=1)[:, None]  # one mode
    t, w = _gauss_nodes()
    nodes = grid[:, None, :-1, None] + np.diff(grid, axis=-1)[:, None, :, None] * t
    inverse_psd = _inverse_psd(noise, nodes, CHANNELS[channels])
    gram = np.asarray(_gram_kernel(grid[:, None], vectors, inverse_psd, t, w))[:, 0]
    fisher = gram[:, 1:, 1:]
    return gram[:, 0, 0], fisher, fisher


@partial(jax.jit, static_argnames=("options",))
def _autodiff_kernel(theta, grid, t_orbit, options):
    """Fiducial A, E, T amplitudes (n, 3, n_f) and d/d theta (n, 3, n_f, 11)."""
    from simfer.sims.lisa_response import _transfer_core
    from simfer.sims.mbhb_waveforms_jax import phenomd_22_amplitude_phase

    def signal(parameters, f):
        log_mc, q, chi1, chi2, t_c, phase, log_d, inc, lon, lat, psi = parameters
        m1 = jnp.exp(log_mc) * (1 + q) ** 0.2 * q**-0.6
        amplitude, phi, time = phenomd_22_amplitude_phase(
            f, m1, q * m1, chi1, chi2, jnp.exp(log_d), t_c
        )
        angles = jnp.stack([inc, phase, lon, lat, psi, t_orbit])
        channels, doppler = _transfer_core(
            f[None], (time + t_orbit)[None], angles, ((2, 2),), options
        )
        return jnp.stack([amplitude * c[0] for c in channels]), phi + doppler[0]

    def one(parameters, f):
        camp0, phase0 = signal(parameters, f)

        def relative(p):  # the signal over the fiducial's phase: smooth in f
            camp, phase = signal(p, f)
            return camp * jnp.exp(1j * (phase - phase0))

        return camp0, jax.jacfwd(relative)(parameters)

    return jax.vmap(one)(theta, grid)


def _combine(weights, values):
    """sum_k weights[k] * values[k] (values: fiducial first, then the offsets)."""
    return sum(w * v for w, v in zip(weights, values, strict=True))


def _phase_offset(delta):
    """Phase difference per mode (modes, n_f) with its 2 pi k branch offset removed.

    Unwrapping anchors a perturbed waveform's phase on a branch that can differ
    from the fiducial's by a constant 2 pi k (module docstring of
    :mod:`simfer.sims.mbhb_waveforms`).
    """
    shift = 2 * np.pi * np.round(np.median(delta, axis=-1, keepdims=True) / (2 * np.pi))
    return delta - shift

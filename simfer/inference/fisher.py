"""Fisher-matrix forecasts for quasi-monochromatic galactic binaries.

Inner product
-------------
For real channel data with one-sided noise PSD P_k, nearly flat over the narrow
band of a quasi-monochromatic source, (a|b) = 4 Re int a~ b~* / P_k df
= (2 / P_k) int a(t) b(t) dt. Writing each channel as a slow complex amplitude on a
fast carrier, a_k = Re[alpha_k exp(2 pi i f_c t)], the product a b averages to
Re[alpha conj(beta)] / 2 (the 2 f_c term integrates to zero), so

    (a|b) = sum_k (1 / P_k) int w(t) Re[alpha_k(t) conj(beta_k(t))] dt,

with w(t) the observing mask (1 on, 0 off). The per-channel PSD of the two
long-wavelength channels is P_k = (3/10) S_n(f): the effective sensitivity S_n of
:mod:`simfer.sims.detectors` is the per-channel noise divided by the channel's
sky- and polarisation-averaged response (3/20, i.e. (sqrt3/2)^2 / 5) and by the two
channels (Robson, Cornish & Liu 2019). The isotropic average of
(h|h) = sum_k int |s_k|^2 / P_k dt is then (10/3)(0.96 A^2) T_on / S_n
= (16/5) A^2 T_on / S_n, the averaged SNR^2, and for one source
(h|h) = snr_averaged^2 * snr_response_factor (tested).

Time sampling
-------------
The integrand Re[d_i s_k conj(d_j s_k)] carries no carrier or chirp phase (it
cancels between s and conj(s)) and its sum over the two channels does not depend
on the in-plane rotation (:mod:`simfer.sims.response`), so it is smooth on the
yearly orbit: harmonics up to about 6/yr times polynomials in t up to t^4, even
for TianQin, whose 3.65 d rotation drops out. Gauss-Legendre quadrature on
segments of at most 3 months that follow the observing windows exactly therefore
suffices: the default 16 nodes per segment (256 nodes for 4 yr of LISA, 160 for
TianQin's 10 windows) agree with 64 nodes to ~1e-14 and with a dense uniform grid
to that grid's error (tested). Single channels are not resolved by these nodes;
only channel sums are formed.

Conventions and limits
----------------------
f and phi0 are mid-mission values (``simfer.inference.snr`` quotes f at the start;
immaterial for the SNR). Errors are the high-SNR Cramer-Rao bound without priors:
angle errors beyond their range, or any error at SNR below ~10, mean little.

References
----------
Cutler 1998, PRD 57, 7089 (Fisher forecasts for LISA, sky-localisation area).
Takahashi & Seto 2002, ApJ 575, 1030 (errors of f and fdot for galactic binaries).
Robson, Cornish & Liu 2019, CQG 36, 105011 (sensitivity normalisation).
Huang et al. 2020, PRD 102, 063021 (TianQin 3-month on/off observing scheme).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
from astropy.table import QTable
from jax.typing import ArrayLike

from simfer import SimferWarning
from simfer.sims.detectors import Detector, get_detector
from simfer.sims.galactic_binaries import (
    PARAMETER_NAMES,
    GalacticBinary,
    slow_signal_parts,
)
from simfer.sims.response import geometry_name

jax.config.update("jax_enable_x64", True)

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CONDITION_THRESHOLD",
    "DEFAULT_NODES_PER_SEGMENT",
    "PARAMETER_ALIASES",
    "SEGMENT_LENGTH",
    "FisherResult",
    "IllConditionedFisherWarning",
    "fisher_galactic_binaries",
    "fisher_galactic_binary",
    "fisher_matrix",
    "invert_fisher",
    "observation_grid",
]

#: Longest quadrature segment, s (3 months, one TianQin observing window).
SEGMENT_LENGTH = 0.25 * 365.25 * 86400.0

#: Default Gauss-Legendre nodes per segment (see the module notes).
DEFAULT_NODES_PER_SEGMENT = 16

#: Condition number of the diagonal-normalised Fisher matrix above which results
#: are flagged (float64 inversion then loses most digits along the worst direction).
DEFAULT_CONDITION_THRESHOLD = 1.0e10

#: Short names accepted in ``free`` and used in table columns.
PARAMETER_ALIASES = {
    "lnA": "ln_amplitude",
    "f": "frequency",
    "fdot": "fdot",
    "phi0": "initial_phase",
    "cos_i": "cos_inclination",
    "psi": "polarisation",
    "beta": "ecliptic_latitude",
    "lambda": "ecliptic_longitude",
}
_SHORT = {long: short for short, long in PARAMETER_ALIASES.items()}
_UNITS = dict.fromkeys(PARAMETER_NAMES, u.rad) | {
    "ln_amplitude": u.dimensionless_unscaled,
    "frequency": u.Hz,
    "fdot": u.Hz / u.s,
    "cos_inclination": u.dimensionless_unscaled,
}

# TianQin's observing windows last three months (Luo et al. 2016; Huang et al. 2020).
_ON_WINDOW = SEGMENT_LENGTH
# Fraction of S_n that is the noise PSD of one of the two long-wavelength channels.
_CHANNEL_PSD_FRACTION = 3.0 / 10.0


class IllConditionedFisherWarning(SimferWarning):
    """The Fisher matrix is (nearly) singular: the forecast errors are unreliable.

    Usually a parameter is degenerate with others: psi and phi0 for a nearly
    face-on source (|cos i| > ~0.99; about 1 % of an isotropic population), the
    longitude at an ecliptic pole, fdot and the sky angles for a very short
    observation. Fix or drop the degenerate parameters with ``free=``.
    """


@dataclass(frozen=True)
class FisherResult:
    """Fisher forecast for one source.

    Attributes
    ----------
    parameter_names : tuple of str
        Free parameters, in :data:`simfer.sims.galactic_binaries.PARAMETER_NAMES`
        order.
    fisher, covariance : numpy.ndarray, shape (k, k)
        Fisher matrix and its inverse in the parameters' units; the covariance is
        NaN when the matrix is not numerically positive definite.
    errors : dict of str to float
        1-sigma errors sqrt(diag(covariance)), keyed by parameter name.
    condition_number : float
        Condition number of the diagonal-normalised Fisher matrix.
    snr : float
        sqrt((h|h)), the optimal signal-to-noise ratio.
    sky_area : float
        2 pi |cos b| sqrt(s_b^2 s_l^2 - C_bl^2), sr (Cutler 1998, latitude b);
        NaN unless both sky angles are free.
    relative_chirp_mass_error, relative_distance_error : float
        sigma_Mc / Mc and sigma_D / D from (ln A, f, fdot) assuming GR-driven
        fdot; NaN unless all three are free and fdot > 0.
    """

    parameter_names: tuple[str, ...]
    fisher: np.ndarray
    covariance: np.ndarray
    errors: dict[str, float]
    condition_number: float
    snr: float
    sky_area: float
    relative_chirp_mass_error: float
    relative_distance_error: float

    @property
    def ill_conditioned(self) -> bool:
        """Whether the condition number exceeds the default threshold."""
        return not self.condition_number <= DEFAULT_CONDITION_THRESHOLD


def observation_grid(
    t_obs: float,
    duty_cycle: float = 1.0,
    nodes_per_segment: int = DEFAULT_NODES_PER_SEGMENT,
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights over the time on source.

    Each observing window in [-t_obs/2, t_obs/2] is cut into segments of at most
    :data:`SEGMENT_LENGTH` with ``nodes_per_segment`` nodes each.

    Parameters
    ----------
    t_obs : float
        Mission duration, s.
    duty_cycle : float
        Fraction of time on source, in (0, 1]. Below 1 the mission alternates
        3-month observing windows with off windows of 3 (1 - d) / d months,
        starting with an observing window (TianQin: 3 months on, 3 off for d = 0.5;
        Luo et al. 2016, Huang et al. 2020).
    nodes_per_segment : int
        Gauss-Legendre nodes per segment (>= 4).

    Returns
    -------
    times : numpy.ndarray, shape (n_nodes,)
        Nodes, s from mid-mission.
    weights : numpy.ndarray, shape (n_nodes,)
        Quadrature weights, s; they sum to the time on source.
    """
    if not (math.isfinite(t_obs) and t_obs > 0):
        raise ValueError(f"t_obs: expected a duration > 0 s; got {t_obs}")
    if not (0.0 < duty_cycle <= 1.0):
        raise ValueError(f"duty_cycle: expected a fraction in (0, 1]; got {duty_cycle}")
    if type(nodes_per_segment) is not int or nodes_per_segment < 4:
        raise ValueError(
            f"nodes_per_segment: expected an integer >= 4; got {nodes_per_segment!r}"
        )

    start, stop = -0.5 * t_obs, 0.5 * t_obs
    if duty_cycle >= 1.0:
        windows = [(start, stop)]
    else:
        cycle = _ON_WINDOW / duty_cycle
        n_windows = math.ceil(t_obs / cycle)
        windows = [
            (start + k * cycle, min(start + k * cycle + _ON_WINDOW, stop))
            for k in range(n_windows)
        ]

    nodes, node_weights = np.polynomial.legendre.leggauss(int(nodes_per_segment))
    times, weights = [], []
    for lo, hi in windows:
        n_segments = max(1, math.ceil((hi - lo) / SEGMENT_LENGTH * (1 - 1e-12)))
        edges = np.linspace(lo, hi, n_segments + 1)
        half = 0.5 * np.diff(edges)[:, None]
        mid = 0.5 * (edges[1:] + edges[:-1])[:, None]
        times.append((mid + half * nodes).ravel())
        weights.append((half * node_weights).ravel())
    return np.concatenate(times), np.concatenate(weights)


def fisher_matrix(
    signal_model: Callable[[jax.Array], jax.Array],
    theta: ArrayLike,
    weights: ArrayLike,
    channel_psd: ArrayLike,
) -> tuple[np.ndarray, float]:
    """Fisher matrix of a slowly varying complex signal model, by forward-mode AD.

    Gamma_ij = sum_k (1/P_k) sum_t w_t Re[d_i s_k(t) conj(d_j s_k(t))] (see the
    module notes for the normalisation).

    Parameters
    ----------
    signal_model : callable
        Maps the parameter vector, shape (k,), to the complex slow signal of each
        channel, shape (n_channels, n_nodes), on the caller's time nodes.
    theta : array_like, shape (k,)
        Parameters at which the matrix is evaluated.
    weights : array_like, shape (n_nodes,)
        Quadrature weights (time on source per sample), s.
    channel_psd : float or array_like, shape (n_channels,)
        One-sided noise PSD of each channel at the source frequency, 1/Hz.

    Returns
    -------
    fisher : numpy.ndarray, shape (k, k)
    snr_squared : float
    """
    theta = jnp.asarray(theta, dtype=float)
    weights = jnp.asarray(weights, dtype=float)
    inv_psd = 1.0 / jnp.atleast_1d(jnp.asarray(channel_psd, dtype=float))
    signal = signal_model(theta)
    jac = jax.jacfwd(signal_model)(theta)
    fisher = jnp.einsum("c,t,cti,ctj->ij", inv_psd, weights, jac, jnp.conj(jac)).real
    snr2 = jnp.einsum("c,t,ct->", inv_psd, weights, jnp.abs(signal) ** 2)
    return np.asarray(fisher), float(snr2)


def invert_fisher(
    fisher: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """Invert Fisher matrices after normalising by their diagonal.

    Parameters
    ----------
    fisher : array_like, shape (..., k, k)
        Symmetric Fisher matrices.

    Returns
    -------
    covariance : numpy.ndarray, shape (..., k, k)
        D^-1/2 (D^-1/2 F D^-1/2)^-1 D^-1/2 with D = diag(F); NaN where the
        normalised matrix is not numerically positive definite.
    condition_number : numpy.ndarray, shape (...)
        Ratio of the extreme eigenvalues of the normalised matrix (inf if singular).
    """
    fisher = np.asarray(fisher, dtype=float)
    diag = np.diagonal(fisher, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / np.sqrt(diag)
        normalised = fisher * scale[..., :, None] * scale[..., None, :]
    finite = np.all(np.isfinite(normalised), axis=(-2, -1)) & np.all(diag > 0, axis=-1)
    normalised = np.where(finite[..., None, None], normalised, np.eye(fisher.shape[-1]))

    eigval, eigvec = np.linalg.eigh(normalised)
    smallest, largest = eigval[..., 0], eigval[..., -1]
    positive = finite & (smallest > largest * np.finfo(float).eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        condition = np.where(positive, largest / smallest, np.inf)
        inverse = np.einsum("...ik,...k,...jk->...ij", eigvec, 1.0 / eigval, eigvec)
        covariance = inverse * scale[..., :, None] * scale[..., None, :]
    covariance = np.where(positive[..., None, None], covariance, np.nan)
    return covariance, condition


def _free_indices(free: Sequence[str] | None) -> tuple[int, ...]:
    if free is None:
        return tuple(range(len(PARAMETER_NAMES)))
    if isinstance(free, str):
        raise TypeError("free: expected a sequence of parameter names, not a string")
    indices = []
    for name in free:
        long = PARAMETER_ALIASES.get(name, name)
        if long not in PARAMETER_NAMES:
            raise ValueError(
                f"free: unknown parameter {name!r}; expected names from "
                f"{PARAMETER_NAMES} or aliases {tuple(PARAMETER_ALIASES)}"
            )
        indices.append(PARAMETER_NAMES.index(long))
    if len(set(indices)) != len(indices) or not indices:
        raise ValueError(f"free: expected distinct parameter names; got {free!r}")
    return tuple(sorted(indices))


def _resolve_detector(detector: Detector | str) -> Detector:
    detector = get_detector(detector) if isinstance(detector, str) else detector
    if not isinstance(detector, Detector):
        raise TypeError(f"detector: expected a Detector or a name; got {detector!r}")
    return detector


@partial(jax.jit, static_argnames=("geometry", "free"))
def _fisher_batch(
    thetas: jax.Array,
    channel_psd: jax.Array,
    times: jax.Array,
    weights: jax.Array,
    geometry: str,
    free: tuple[int, ...],
) -> tuple[jax.Array, jax.Array]:
    """Fisher matrices and (h|h) for a batch of parameter vectors (n, 8)."""
    free_idx = jnp.asarray(free)

    def one(theta: jax.Array, psd: jax.Array) -> tuple[jax.Array, jax.Array]:
        carrier = theta[1]

        def parts(sub: jax.Array) -> tuple[jax.Array, jax.Array]:
            full = theta.at[free_idx].set(sub)
            return slow_signal_parts(full, times, geometry, carrier)

        # d_i s = (d_i envelope + i envelope d_i phase) exp(i phase); the common
        # exp(i phase) cancels in Re[d_i s conj(d_j s)], so it is never formed.
        envelope, _ = parts(theta[free_idx])
        d_env, d_phase = jax.jacfwd(parts)(theta[free_idx])
        deriv = d_env + 1j * envelope[..., None] * d_phase[None]
        fisher = jnp.einsum("t,cti,ctj->ij", weights, deriv, jnp.conj(deriv)).real
        snr2 = jnp.einsum("t,ct->", weights, jnp.abs(envelope) ** 2)
        return fisher / psd, snr2 / psd

    return jax.vmap(one)(thetas, channel_psd)


def _derived_errors(
    thetas: np.ndarray, covariance: np.ndarray, free: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sky area (sr) and sigma_Mc/Mc, sigma_D/D for a batch."""
    n = thetas.shape[0]
    nan = np.full(n, np.nan)
    pos = {index: k for k, index in enumerate(free)}

    sky_area = nan
    i_lat, i_lon = 6, 7
    if i_lat in pos and i_lon in pos:
        a, b = pos[i_lat], pos[i_lon]
        det = covariance[:, a, a] * covariance[:, b, b] - covariance[:, a, b] ** 2
        with np.errstate(invalid="ignore"):
            sky_area = 2.0 * np.pi * np.abs(np.cos(thetas[:, i_lat])) * np.sqrt(det)
            # a Fisher ellipse larger than the sky means "not localised": the
            # linearisation has broken down, so the area is capped at 4 pi sr
            sky_area = np.minimum(sky_area, 4.0 * np.pi)

    mc_error, dist_error = nan, nan
    if all(i in pos for i in (0, 1, 2)):
        f, fdot = thetas[:, 1], thetas[:, 2]
        sub = covariance[:, [pos[0], pos[1], pos[2]]][:, :, [pos[0], pos[1], pos[2]]]
        with np.errstate(divide="ignore", invalid="ignore"):
            # ln Mc = (3/5) ln fdot - (11/5) ln f + const;
            # ln D = ln fdot - 3 ln f - ln A + const (Peters 1964 + amplitude).
            jac_mc = np.stack([np.zeros(n), -11.0 / (5.0 * f), 0.6 / fdot], axis=-1)
            jac_d = np.stack([-np.ones(n), -3.0 / f, 1.0 / fdot], axis=-1)
            var_mc = np.einsum("ni,nij,nj->n", jac_mc, sub, jac_mc)
            var_d = np.einsum("ni,nij,nj->n", jac_d, sub, jac_d)
            valid = fdot > 0
            mc_error = np.where(valid, np.sqrt(var_mc), np.nan)
            dist_error = np.where(valid, np.sqrt(var_d), np.nan)
    return sky_area, mc_error, dist_error


def _run_batch(
    sources: GalacticBinary,
    detector: Detector,
    free: tuple[int, ...],
    nodes_per_segment: int,
    chunk_size: int,
) -> tuple[np.ndarray, ...]:
    """Fisher, covariance, condition number, SNR and derived errors for a batch."""
    geometry = geometry_name(detector)
    thetas = np.atleast_2d(sources.parameter_vector())
    if not (
        np.all(np.isfinite(thetas))
        and np.all(thetas[:, 1] > 0)
        and np.all(np.abs(thetas[:, 4]) <= 1)
    ):
        raise ValueError(
            "sources: expected finite parameters, amplitude > 0, frequency > 0 Hz "
            "and cos_inclination in [-1, 1]"
        )

    times, weights = observation_grid(
        detector.t_obs, detector.duty_cycle, nodes_per_segment
    )
    channel_psd = _CHANNEL_PSD_FRACTION * np.asarray(detector.psd(thetas[:, 1]))
    if not np.all(np.isfinite(channel_psd) & (channel_psd > 0)):
        raise ValueError(f"{detector.name} noise PSD is not finite at these sources")

    n = thetas.shape[0]
    chunk = int(min(chunk_size, n))
    fishers, snr2 = [], []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        pad = chunk - (stop - start)
        batch = np.concatenate([thetas[start:stop], np.repeat(thetas[:1], pad, 0)])
        psd = np.concatenate([channel_psd[start:stop], np.repeat(channel_psd[:1], pad)])
        f_chunk, s_chunk = _fisher_batch(
            jnp.asarray(batch), jnp.asarray(psd), times, weights, geometry, free
        )
        fishers.append(np.asarray(f_chunk)[: stop - start])
        snr2.append(np.asarray(s_chunk)[: stop - start])
        logger.debug("Fisher matrices %d-%d of %d done", start, stop, n)

    fisher = np.concatenate(fishers)
    covariance, condition = invert_fisher(fisher)
    sky_area, mc_error, dist_error = _derived_errors(thetas, covariance, free)
    snr = np.sqrt(np.concatenate(snr2))
    return thetas, fisher, covariance, condition, snr, sky_area, mc_error, dist_error


def _warn_ill_conditioned(condition: np.ndarray, threshold: float) -> np.ndarray:
    bad = ~(condition <= threshold)
    if np.any(bad):
        warnings.warn(
            f"{int(bad.sum())} of {bad.size} Fisher matrices are ill-conditioned "
            f"(condition number > {threshold:.1e}, worst {np.max(condition):.2e}); "
            "their errors are unreliable (NaN if singular). Degenerate: psi, phi0 "
            "when nearly face-on; longitude at a pole; fdot, sky for short "
            "missions. Drop such parameters with free=.",
            IllConditionedFisherWarning,
            stacklevel=3,
        )
    return bad


def fisher_galactic_binary(
    params: GalacticBinary,
    detector: Detector | str,
    *,
    free: Sequence[str] | None = None,
    nodes_per_segment: int = DEFAULT_NODES_PER_SEGMENT,
    condition_threshold: float = DEFAULT_CONDITION_THRESHOLD,
) -> FisherResult:
    """Fisher forecast for one quasi-monochromatic binary.

    Parameters
    ----------
    params : GalacticBinary
        Scalar source parameters (SI, angles in rad).
    detector : Detector or str
        Detector (its t_obs, duty_cycle and psd are used) or a name for its defaults.
    free : sequence of str, optional
        Free parameters (names of ``PARAMETER_NAMES`` or ``PARAMETER_ALIASES``);
        default all eight. The others are held fixed (known).
    nodes_per_segment : int
        Gauss-Legendre nodes per 3-month segment (see the module notes).
    condition_threshold : float
        Condition number above which an :class:`IllConditionedFisherWarning` is
        issued.

    Returns
    -------
    FisherResult
        Errors, covariance, condition number, SNR and derived errors.

    References
    ----------
    Cutler 1998, PRD 57, 7089; Takahashi & Seto 2002, ApJ 575, 1030.
    """
    detector = _resolve_detector(detector)
    free_idx = _free_indices(free)
    if np.ndim(params.parameter_vector()) != 1:
        raise ValueError("params: expected one source; use fisher_galactic_binaries")
    _, fisher, cov, cond, snr, sky, mc_err, d_err = _run_batch(
        params, detector, free_idx, nodes_per_segment, chunk_size=1
    )
    _warn_ill_conditioned(cond, condition_threshold)
    names = tuple(PARAMETER_NAMES[i] for i in free_idx)
    errors = dict(zip(names, np.sqrt(np.diagonal(cov[0])).tolist(), strict=True))
    return FisherResult(
        parameter_names=names,
        fisher=fisher[0],
        covariance=cov[0],
        errors=errors,
        condition_number=float(cond[0]),
        snr=float(snr[0]),
        sky_area=float(sky[0]),
        relative_chirp_mass_error=float(mc_err[0]),
        relative_distance_error=float(d_err[0]),
    )


def fisher_galactic_binaries(
    sources: GalacticBinary,
    detector: Detector | str,
    *,
    free: Sequence[str] | None = None,
    nodes_per_segment: int = DEFAULT_NODES_PER_SEGMENT,
    chunk_size: int = 128,
    condition_threshold: float = DEFAULT_CONDITION_THRESHOLD,
) -> QTable:
    """Fisher forecasts for many binaries, vectorised and chunked.

    Parameters
    ----------
    sources : GalacticBinary
        Source parameters as arrays of equal length (SI, angles in rad).
    detector : Detector or str
        Detector or a name for its defaults.
    free : sequence of str, optional
        Free parameters (default all eight), see :func:`fisher_galactic_binary`.
    nodes_per_segment : int
        Gauss-Legendre nodes per 3-month segment (see the module notes).
    chunk_size : int
        Sources per vectorised batch (memory ~ chunk_size * n_nodes * 2 kB).
    condition_threshold : float
        Condition number above which a source is flagged; one
        :class:`IllConditionedFisherWarning` summarises all flagged sources.

    Returns
    -------
    astropy.table.QTable
        One row per source: ``snr``; ``sigma_<alias>`` for each free parameter
        (``sigma_lnA``, ``sigma_f`` [Hz], ``sigma_fdot`` [Hz/s], ``sigma_phi0``,
        ``sigma_cos_i``, ``sigma_psi``, ``sigma_beta``, ``sigma_lambda`` [rad]);
        ``sky_area`` [sr and deg2 in ``sky_area_deg2``]; ``sigma_Mc_over_Mc`` and
        ``sigma_D_over_D`` (GR fdot assumed; NaN unless ln A, f, fdot are free and
        fdot > 0); ``fdot_snr`` = fdot / sigma_fdot; ``condition_number`` and
        ``ill_conditioned``.

    References
    ----------
    Cutler 1998, PRD 57, 7089; Takahashi & Seto 2002, ApJ 575, 1030.
    """
    detector = _resolve_detector(detector)
    free_idx = _free_indices(free)
    if type(chunk_size) is not int or chunk_size < 1:
        raise ValueError(f"chunk_size: expected a positive integer; got {chunk_size!r}")

    thetas, _, cov, cond, snr, sky, mc_err, d_err = _run_batch(
        sources, detector, free_idx, nodes_per_segment, chunk_size
    )
    bad = _warn_ill_conditioned(cond, condition_threshold)
    logger.info("%s Fisher forecasts: %d sources", detector.name, thetas.shape[0])

    table = QTable()
    table["snr"] = snr
    sigma = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    for k, index in enumerate(free_idx):
        name = PARAMETER_NAMES[index]
        table[f"sigma_{_SHORT[name]}"] = sigma[:, k] * _UNITS[name]
    table["sky_area"] = sky * u.sr
    table["sky_area_deg2"] = (sky * u.sr).to(u.deg**2)
    table["sigma_Mc_over_Mc"] = mc_err
    table["sigma_D_over_D"] = d_err
    if 2 in free_idx:
        with np.errstate(divide="ignore", invalid="ignore"):
            table["fdot_snr"] = thetas[:, 2] / sigma[:, free_idx.index(2)]
    table["condition_number"] = cond
    table["ill_conditioned"] = bad
    table.meta.update(
        detector=detector.name,
        t_obs_s=detector.t_obs,
        duty_cycle=detector.duty_cycle,
        nodes_per_segment=int(nodes_per_segment),
        free_parameters=[PARAMETER_NAMES[i] for i in free_idx],
    )
    return table

"""Score (MOPED) compression of LISA data on massive black-hole binaries.

Neural-likelihood inference needs data of a few dimensions. For Gaussian noise
the score at a fiducial point ``theta_0``,

    s_a(d) = (d_a h(theta_0) | d),    a = 1..k,

keeps all the Fisher information about ``theta`` near ``theta_0`` (Tegmark,
Taylor & Heavens 1997; Heavens, Jimenez & Lahav 2000, MOPED; Alsing & Wandelt
2018). With ``F = L L^T`` the Fisher matrix at ``theta_0`` the compressed data
are ``t = L^-1 s``: for ``d = h(theta) + n``,

    t = L^-1 (d h_0 | h(theta)) + epsilon,    epsilon ~ N(0, I_k)

exactly, because ``(d_a h_0 | n)`` is Gaussian with covariance ``F``. The
simulator therefore never draws noise on the full frequency grid: the signal
term is an inner product between the fiducial derivatives and the signal,
both on their sparse grids (Filon quadrature of the oscillating product,
:mod:`simfer.inference.mbhb_snr`), and the noise is ``k`` standard normals.
The same compression applied to data on a uniform grid (``compress_data``) gives
the same statistics, which the tests check against noise realisations.

Information kept: at ``theta_0`` the compressed Fisher matrix equals the full
one; elsewhere it is ``J^T F_0^-1 J`` with ``J_ab = (d_a h_0 | d_b h(theta))``
(:meth:`ScoreCompression.fisher_ratio`), which drops as ``theta`` moves away
from ``theta_0``; inference in rounds re-centres ``theta_0``.

References
----------
Tegmark, M., Taylor, A. N. & Heavens, A. F. 1997, ApJ 480, 22.
Heavens, A. F., Jimenez, R. & Lahav, O. 2000, MNRAS 317, 965 (MOPED).
Alsing, J. & Wandelt, B. 2018, MNRAS 476, L60 (score compression for
likelihood-free inference).
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.cosmology import Planck18
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import CubicSpline

from simfer.inference.fisher import DEFAULT_CONDITION_THRESHOLD, invert_fisher
from simfer.inference.mbhb_fisher import (
    _NAMES,
    _check_names,
    _check_positive,
    _derivative_vectors,
    _gram_matrices,
    _prepare,
)
from simfer.inference.mbhb_likelihood import _uniform_grid
from simfer.inference.mbhb_snr import (
    CHANNELS,
    MBHBTDISignal,
    _ModeSpline,
    _pair_integral,
    mbhb_tdi_signal,
)
from simfer.sims.lisa_response import SparseTDI, interpolate_tdi
from simfer.sims.mbhb_sources import MBHBSources

__all__ = ["ScoreCompression", "sources_from_parameters"]

_Z_TABLE = np.geomspace(1e-4, 100.0, 4000)  # redshifts of the D_L -> z table


#: (cosmology, ln D_L nodes, spline of ln z) of the cosmologies used recently:
#: astropy's cosmologies are unhashable, and the table costs 0.1-1 s to build
_Z_OF_DISTANCE: list[tuple] = []


def _redshift_spline(cosmology):
    for known, log_d, spline in _Z_OF_DISTANCE:
        if known is cosmology:
            return log_d, spline
    log_d = np.log(cosmology.luminosity_distance(_Z_TABLE).to_value(u.m))
    spline = CubicSpline(log_d, np.log(_Z_TABLE))
    _Z_OF_DISTANCE.insert(0, (cosmology, log_d, spline))
    del _Z_OF_DISTANCE[4:]
    return log_d, spline


def _redshift_of_distance(distance, cosmology):
    """z(D_L) by a cubic spline of ln z against ln D_L (relative error < 1e-9)."""
    log_d, spline = _redshift_spline(cosmology)
    log_distance = np.log(distance)
    if np.any(log_distance < log_d[0]) or np.any(log_distance > log_d[-1]):
        raise ValueError(
            "luminosity distance outside the redshift range 1e-4 to 100 of the "
            "cosmology"
        )
    return np.exp(spline(log_distance))


def sources_from_parameters(
    values: dict[str, ArrayLike], cosmology=Planck18
) -> MBHBSources:
    """MBHB sources from the Fisher parameters of :mod:`simfer.inference.mbhb_fisher`.

    Parameters
    ----------
    values : dict of str to array_like
        Every name of ``FISHER_PARAMETERS`` (``log_chirp_mass`` and
        ``log_distance`` are ln of the detector-frame chirp mass in kg and of the
        luminosity distance in m); arrays broadcast.
    cosmology : astropy.cosmology.FLRW
        Gives the redshift of each distance, hence the source-frame masses
        ``m / (1 + z)`` (the signal depends only on the detector-frame masses
        and the distance).

    Returns
    -------
    MBHBSources

    Raises
    ------
    ValueError
        A missing name, or values the sources reject (q outside (0, 1], |chi| >= 1).
    """
    missing = [name for name in _NAMES if name not in values]
    if missing:
        raise ValueError(f"values: missing parameters {missing}")
    arrays = dict(
        zip(
            _NAMES,
            np.broadcast_arrays(*(np.atleast_1d(values[n]) for n in _NAMES)),
            strict=True,
        )
    )
    q = arrays["mass_ratio"]
    if np.any(q <= 0) or np.any(q > 1):
        raise ValueError("mass_ratio must lie in (0, 1]")
    z = _redshift_of_distance(np.exp(arrays["log_distance"]), cosmology)
    m1_det = np.exp(arrays["log_chirp_mass"]) * (1 + q) ** 0.2 / q**0.6
    return MBHBSources(
        m1=m1_det / (1 + z), m2=q * m1_det / (1 + z), chi1=arrays["chi1"],
        chi2=arrays["chi2"], redshift=z, inclination=arrays["inclination"],
        phase=arrays["phase"], ecliptic_longitude=arrays["ecliptic_longitude"],
        ecliptic_latitude=arrays["ecliptic_latitude"],
        polarization=arrays["polarization"], t_c=arrays["t_c"],
    )  # fmt: skip


@dataclass(frozen=True)
class ScoreCompression:
    """Whitened score compression at one fiducial MBHB (module docstring).

    Build it with :meth:`at`. Attributes
    ----------
    parameter_names : tuple of str
        The k compressed directions, a subset of ``FISHER_PARAMETERS``.
    fiducial : dict of str to float
        theta_0 in the Fisher parameters.
    fisher : ndarray, shape (k, k)
        Fisher matrix at theta_0 (channels and noise of the compression).
    whitening : ndarray, shape (k, k)
        ``L^-1`` with ``F = L L^T``.
    """

    parameter_names: tuple[str, ...]
    fiducial: dict[str, float]
    fisher: NDArray
    whitening: NDArray
    _basis: tuple  # one _ModeSpline per mode of the k derivative vectors
    _sparse: SparseTDI  # the derivatives as "modes" for evaluation on grids
    _signal_options: dict
    _channels: str  # "AE" or "AET"
    _cosmology: object

    @classmethod
    def at(
        cls,
        source: MBHBSources,
        parameters: list[str] | tuple[str, ...] | None = None,
        *,
        channels: str = "AE",
        steps: dict[str, float] | None = None,
        cosmology=Planck18,
        **signal_options,
    ) -> ScoreCompression:
        """The compression at ``source`` (one source).

        Parameters
        ----------
        source : MBHBSources
            theta_0, a single source.
        parameters : sequence of str, optional
            Compressed parameters (default all of ``FISHER_PARAMETERS``).
        channels : {"AE", "AET"}
        steps : dict, optional
            Finite-difference steps, as in :func:`mbhb_fisher`.
        cosmology : astropy.cosmology.FLRW
        **signal_options
            ``noise``, ``approximant``, ``modes``, ``t_obs``, ``f_min``,
            ``f_max``, ``n_grid``, ``t0`` of :func:`mbhb_fisher`; the same are
            used for every signal compressed later, computed with
            ``waveform_backend`` (of :func:`mbhb_tdi_signal`; the derivatives
            always use lalsimulation).

        Raises
        ------
        ValueError
            More than one source, bad names or options, or a Fisher matrix with
            a condition number above 1e10 (a degenerate parameter: fix it).
        """
        if not isinstance(source, MBHBSources) or len(source) != 1:
            raise ValueError("source must be MBHBSources holding exactly one source")
        if channels not in CHANNELS:
            raise ValueError(f"channels must be one of {sorted(CHANNELS)}")
        names = _check_names(_NAMES if parameters is None else parameters,
                             "parameters")  # fmt: skip
        if len(set(names)) != len(names):
            raise ValueError(f"parameters contains duplicates: {list(names)}")
        free = tuple(name for name in _NAMES if name in names)
        allowed = {"noise", "approximant", "modes", "t_obs", "f_min", "f_max",
                   "n_grid", "t0", "waveform_backend"}  # fmt: skip
        unknown = sorted(set(signal_options) - allowed)
        if unknown:
            raise TypeError(f"unknown signal options {unknown}; expected {allowed}")
        options = {"noise": None, "approximant": "IMRPhenomD", "modes": None,
                   "t_obs": None, "f_min": 1e-5, "f_max": 1.0, "n_grid": 200,
                   "t0": 0.0, "waveform_backend": "lalsimulation"}  # fmt: skip
        options |= signal_options
        plan = _prepare(
            source, free, _check_positive(steps or {}, "steps"), options["noise"],
            options["approximant"], options["t_obs"], options["f_min"],
            options["f_max"], options["n_grid"], options["t0"], cosmology,
        )  # fmt: skip
        derivatives = _derivative_vectors(
            plan.fiducial, source.redshift, plan.grid, free, plan.stencils,
            plan.noise, options["approximant"], options["modes"], plan.t_orbit,
            cosmology,
        )  # fmt: skip
        k = len(free)
        fisher = _gram_matrices(derivatives, plan.noise, channels)[
            0, 1 : 1 + k, 1 : 1 + k
        ]
        _, condition = invert_fisher(fisher)
        if not condition <= DEFAULT_CONDITION_THRESHOLD:
            raise ValueError(
                f"the Fisher matrix at the fiducial source is singular over "
                f"{list(free)} (condition number {condition:.2g}): fix a "
                "degenerate parameter"
            )
        lower = np.linalg.cholesky(fisher)
        whitening = np.linalg.inv(lower)
        vectors = derivatives.vectors[0][:, 1 : 1 + k]  # (modes, k, 3, n_f)
        basis = tuple(
            _ModeSpline(derivatives.frequencies[0, m], vectors[m],
                        derivatives.phase[0, m], derivatives.time[0, m])
            for m in range(vectors.shape[0])
        )  # fmt: skip
        # the k derivatives as a batch of k signals (modes summed on evaluation)
        batch = (k, *derivatives.phase.shape[1:])
        sparse = SparseTDI(
            np.broadcast_to(derivatives.frequencies[0], batch),
            np.moveaxis(vectors, 1, 0),
            np.broadcast_to(derivatives.phase[0], batch),
        )
        options["noise"] = plan.noise
        return cls(
            parameter_names=free,
            fiducial={name: float(plan.fiducial[name][0]) for name in _NAMES},
            fisher=fisher,
            whitening=whitening,
            _basis=basis,
            _sparse=sparse,
            _signal_options=options,
            _channels=channels,
            _cosmology=cosmology,
        )

    @property
    def dimension(self) -> int:
        """Number k of compressed statistics."""
        return len(self.parameter_names)

    def _score(self, signal, index):
        """(d_a h_0 | h) of source ``index`` of ``signal``: (k,)."""
        frequencies, camp, phase = (np.asarray(a)[index] for a in signal.sparse)
        total = np.zeros(self.dimension)
        for m in range(camp.shape[0]):
            mode = _ModeSpline(frequencies[m], camp[m][None], phase[m],
                               signal.time[index, m])  # fmt: skip
            for basis in self._basis:
                total += (
                    4
                    * _pair_integral(
                        basis, mode, signal.noise, CHANNELS[self._channels]
                    )[:, 0].real
                )
        return total

    def signal_statistics(self, signal: MBHBTDISignal) -> NDArray:
        """Noise-free compressed statistics ``L^-1 (d h_0 | h)`` of each source.

        Parameters
        ----------
        signal : MBHBTDISignal
            Signals computed with the compression's options and noise
            (:meth:`signal`).

        Returns
        -------
        ndarray, shape (n_src, k)
        """
        if not signal.noise.rescaled or signal.noise != self._signal_options["noise"]:
            raise ValueError(
                "signal must use the compression's (rescaled) noise model; "
                "build it with ScoreCompression.signal"
            )
        scores = np.array([self._score(signal, i) for i in range(len(signal))])
        return scores @ self.whitening.T

    def signal(self, sources: MBHBSources, **overrides) -> MBHBTDISignal:
        """TDI signals of ``sources`` with the compression's options."""
        options = self._signal_options | overrides
        return mbhb_tdi_signal(sources, cosmology=self._cosmology, **options)

    def compress_data(self, frequencies: ArrayLike, data: ArrayLike) -> NDArray:
        """Compressed statistics of data on a uniform grid ``f_k = k / T``.

        Parameters
        ----------
        frequencies : array_like, shape (n,)
            Uniform grid, Hz (spacing 1/T).
        data : array_like, complex, shape (..., 3, n)
            A, E, T in the compression noise model's representation (rescaled
            TDI, lisabeta's Fourier convention), e.g. ``signal.evaluate(f)``
            plus ``noise.noise_realisation(f, rng)``.

        Returns
        -------
        ndarray, shape (..., k)
            ``L^-1 (d_a h_0 | d)`` with the discrete inner product
            ``4 df Re sum_k a b^* / S``.
        """
        f, df = _uniform_grid(frequencies)
        d = np.asarray(data)
        if d.shape[-2:] != (3, f.size) or not np.iscomplexobj(d):
            raise ValueError(
                f"data must be complex with shape (..., 3, {f.size}) for {f.size} "
                "frequencies"
            )
        if not np.all(np.isfinite(d)):
            raise ValueError("data must be finite")
        basis = np.asarray(interpolate_tdi(self._sparse, f))  # (k, 3, n)
        psd = self._signal_options["noise"].psd(f)
        chans = list(CHANNELS[self._channels])
        weighted = basis[:, chans] / psd[chans]
        scores = (
            4 * df * np.einsum("acn,...cn->...a", weighted, np.conj(d[..., chans, :]))
        )
        return scores.real @ self.whitening.T

    def simulate(self, sources: MBHBSources, rng: np.random.Generator) -> NDArray:
        """Compressed noisy data ``L^-1 (d h_0 | h) + N(0, I)`` of each source."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator (seeded)")
        clean = self.signal_statistics(self.signal(sources))
        return clean + rng.standard_normal(clean.shape)

    def fisher_ratio(self, source: MBHBSources) -> NDArray:
        """Marginal errors with compressed data over those with full data at ``source``.

        Compressed Fisher ``J^T F_0^-1 J`` with ``J_ab = (d_a h_0 | d_b h)``
        against the full Fisher matrix at ``source``; 1 at theta_0.

        Returns
        -------
        ndarray, shape (k,)
            sigma_compressed / sigma_full per parameter (>= 1).
        """
        if not isinstance(source, MBHBSources) or len(source) != 1:
            raise ValueError("source must be MBHBSources holding exactly one source")
        plan = _prepare(
            source, self.parameter_names, {}, self._signal_options["noise"],
            self._signal_options["approximant"], self._signal_options["t_obs"],
            self._signal_options["f_min"], self._signal_options["f_max"],
            self._signal_options["n_grid"], self._signal_options["t0"],
            self._cosmology,
        )  # fmt: skip
        derivatives = _derivative_vectors(
            plan.fiducial, source.redshift, plan.grid, self.parameter_names,
            plan.stencils, plan.noise, self._signal_options["approximant"],
            self._signal_options["modes"], plan.t_orbit, self._cosmology,
        )  # fmt: skip
        k = self.dimension
        gram = _gram_matrices(derivatives, plan.noise, self._channels)
        full = gram[0, 1 : 1 + k, 1 : 1 + k]
        jac = np.zeros((k, k))
        for m in range(derivatives.vectors.shape[1]):
            mode = _ModeSpline(
                derivatives.frequencies[0, m], derivatives.vectors[0, m, 1 : 1 + k],
                derivatives.phase[0, m], derivatives.time[0, m],
            )  # fmt: skip
            for basis in self._basis:
                jac += (
                    4
                    * _pair_integral(
                        basis, mode, plan.noise, CHANNELS[self._channels]
                    ).real
                )
        compressed = jac.T @ np.linalg.solve(self.fisher, jac)
        sigma_c = np.sqrt(np.diag(np.linalg.inv(compressed)))
        sigma_f = np.sqrt(np.diag(np.linalg.inv(full)))
        return sigma_c / sigma_f

"""Frequency-domain LISA TDI response to chirping signals, mode by mode, in JAX.

For a chirping signal each harmonic (l, m) has a one-to-one time-frequency
correspondence t_lm(f), and its Fourier-domain LISA response is, to leading order in
the stationary-phase expansion, the instantaneous response evaluated at t = t_lm(f)
(Marsat & Baker 2018; Marsat et al. 2021). This module builds that response from
analytic equal-arm orbits, single-link transfer functions and the TDI combinations.

Conventions (identical to lisabeta, Marsat et al. 2021, which is the test reference)
-------------------------------------------------------------------------------------
- Frame: solar-system barycentric ecliptic frame (x to the vernal equinox, z to the
  ecliptic north pole). The source direction is n = (cos b cos l, cos b sin l, sin b)
  for ecliptic longitude l (``lambda_ecl``) and latitude b (``beta_ecl``); the wave
  travels along k = -n.
- Polarisation basis: u = (sin l, -cos l, 0), v = (-sin b cos l, -sin b sin l, cos b),
  e+ = u u - v v, ex = u v + v u; the polarisation angle ``psi`` enters through the
  mode factors below, never by rotating u, v.
- Fourier convention and phase sign: h(f) = int h(t) exp(+2 pi i f t) dt; a mode is
  h_lm(f) = A_lm(f) exp(+i phase_lm(f)) for f > 0 and m > 0, with
  t_lm(f) = (1 / 2 pi) d phase_lm / df (so ``phase_lm`` is minus the usual
  stationary-phase Psi_lm). The negative-m modes are included through the reflection
  symmetry h_l,-m = (-1)^l conj(h_lm) in the mode factors. This is lisabeta's
  ``wftdi[lm]['amp'], ['phase'], ['tf']`` convention. For numpy/LAL data conventions
  (exp(-2 pi i f t)), take the complex conjugate of the output.
- Time: t_lm(f) is measured from the orbital reference time ``t0`` (s): the response
  is evaluated at orbital time t = t_lm(f) + t0. At orbital time 0 the constellation's
  centre is on the +x axis (ecliptic longitude 0); lisabeta's ``t0`` in years is
  ``t0 / SIDEREAL_YEAR``.
- Orbits: the rigid, equal-arm cartwheel (lisabeta default, "Proposal" constants): the
  centre p0 = R (cos a, sin a, 0), a = Omega t, on a circle of R = 1 au with
  Omega = 2 pi / sidereal year; spacecraft i (i = 1, 2, 3) sits at
  p_i = p0 + (L / sqrt 3) (cos x_i e_a + sin x_i e_b) with x_i = 3 pi / 2 - a +
  2 pi (i - 1) / 3, e_a = (sin a, -cos a, 0), e_b = (-sin z cos a, -sin z sin a,
  cos z), z = -pi / 6: the detector plane is tilted by 60 degrees to the ecliptic and
  the triangle cartwheels backwards once a year (Dhurandhar et al. 2005; Rubbo,
  Cornish & Poujade 2004, to first order in the eccentricity), L = 2.5e9 m.
  Link l is opposite spacecraft l: n_1 = (p_3 - p_2) / L, n_2 = (p_1 - p_3) / L,
  n_3 = (p_2 - p_1) / L.
- Single link s -> r (Marsat et al. 2021, eq. 19 there): with x = pi f L / c,
  n = (p_r - p_s) / L, P_lm = Y+ e+ + Yx ex,
  G_sr = i x (n.P_lm.n) sinc[x (1 - k.n)] exp[i x (1 + k.(p_s + p_r - 2 p0) / L)],
  and the Doppler (orbital) delay exp(2 pi i f k.p0 / c) factored out as a phase.
- Mode factors: Y+ = (Y_lm e^{-2 i psi} + (-1)^l conj(Y_l,-m) e^{2 i psi}) / 2,
  Yx = i (Y_lm e^{-2 i psi} - (-1)^l conj(Y_l,-m) e^{2 i psi}) / 2 with the spin -2
  harmonics Y_lm(inclination, phi_ref) of LAL.
- TDI (first generation, LDC conventions, z = exp(2 i x) the one-arm delay):
  X = (z^2 - 1)(G21 + z G12 - G31 - z G13) and cyclic Y, Z; A = (Z - X) / sqrt 2,
  E = (X - 2 Y + Z) / sqrt 6, T = (X + Y + Z) / sqrt 3. Second generation multiplies
  every channel by (1 - z^4). ``rescaled=True`` divides out the factors lisabeta
  scales out of signal and noise: i sqrt2 sin 2x e^{2ix} (A, E),
  2 sqrt2 sin 2x sin x e^{3ix} (T), 2 i sin 2x e^{2ix} (X, Y, Z); with it the second
  generation equals the first (the factor cancels against the rescaled noise).
- Long-wavelength option (lisabeta's "lowfL"): leading order in x = pi f L / c of
  every channel: sinc -> 1, exp(i x (...)) -> 1 and z -> 1 inside the combinations,
  (z^2 - 1) -> 4 i x, (1 - z^4) -> -8 i x. The Doppler phase is kept exactly. At this
  order T (and X + Y + Z) vanishes identically; relative errors of A, E are O(x).

References
----------
Marsat, S. & Baker, J. G. 2018, arXiv:1806.10734.
Marsat, S., Baker, J. G. & Dal Canton, T. 2021, PRD 103, 083011 (arXiv:2003.00357).
Rubbo, L. J., Cornish, N. J. & Poujade, O. 2004, PRD 69, 082003 (arXiv:gr-qc/0311069).
Dhurandhar, S. V., Nayak, K. R., Koshti, S. & Vinet, J.-Y. 2005, CQG 22, 481.
Tinto, M. & Dhurandhar, S. V. 2021, Living Rev. Relativ. 24, 1 (TDI combinations).
Ajith, P. et al. 2007, arXiv:0709.0093 (spin-weighted spherical harmonics, eq. II.9).
"""

from __future__ import annotations

import logging
from functools import partial
from math import factorial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

jax.config.update("jax_enable_x64", True)

logger = logging.getLogger(__name__)

__all__ = [
    "ASTRONOMICAL_UNIT",
    "LISA_ARM_LENGTH",
    "SIDEREAL_YEAR",
    "SPEED_OF_LIGHT",
    "SparseTDI",
    "interpolate_tdi",
    "lisa_orbit",
    "spin_weighted_spherical_harmonic",
    "tdi_response",
    "tdi_transfer_functions",
]

#: Speed of light, m/s (exact, SI).
SPEED_OF_LIGHT = 299792458.0
#: Astronomical unit, m (IAU 2012), radius of the constellation's orbit.
ASTRONOMICAL_UNIT = 1.49597870700e11
#: Sidereal year, s (the value of lisabeta and LAL), period of the orbit.
SIDEREAL_YEAR = 3.1558149763545600e7
#: LISA arm length, m (LISA proposal 2017, lisabeta "Proposal").
LISA_ARM_LENGTH = 2.5e9

_ORBIT_INCLINATION = -np.pi / 6  # zeta: plane tilted by 60 deg to the ecliptic
_CARTWHEEL_PHASE = 3 * np.pi / 2  # xi_0: in-plane angle of spacecraft 1 at t = 0
_TDI_CHOICES = ("AET", "XYZ")
_APPROXIMATIONS = ("full", "long_wavelength")


class SparseTDI(NamedTuple):
    """TDI signal of each mode on its sparse frequency grid, in amplitude-phase form.

    The channel c of mode j is ``complex_amplitude[..., j, c, :] *
    exp(1j * phase[..., j, :])``; both factors vary slowly with frequency and are
    splined separately by :func:`interpolate_tdi`.

    Attributes
    ----------
    frequencies : Array, shape (..., n_modes, n_f)
        Frequencies of the sparse grid of each mode, Hz.
    complex_amplitude : Array, shape (..., n_modes, 3, n_f)
        A_lm(f) times the TDI transfer function without the Doppler phase
        (dimensionless strain per Hz, like A_lm).
    phase : Array, shape (..., n_modes, n_f)
        phase_lm(f) plus the Doppler phase 2 pi f k.p0 / c, rad.
    """

    frequencies: jax.Array
    complex_amplitude: jax.Array
    phase: jax.Array


def lisa_orbit(
    t: ArrayLike,
    arm_length: float = LISA_ARM_LENGTH,
    orbit_radius: float = ASTRONOMICAL_UNIT,
) -> tuple[jax.Array, jax.Array]:
    """Positions of LISA's centre and spacecraft on the analytic equal-arm orbits.

    Parameters
    ----------
    t : array_like
        Orbital time, s (0 when the centre is at ecliptic longitude 0).
    arm_length : float
        Arm length L, m.
    orbit_radius : float
        Radius R of the centre's heliocentric circular orbit, m.

    Returns
    -------
    centre : Array, shape (..., 3)
        p0(t) in the SSB ecliptic frame, m.
    offsets : Array, shape (..., 3, 3)
        p_i(t) - p0(t) of spacecraft i = 1, 2, 3 (axis -2), m.

    References
    ----------
    Rubbo, Cornish & Poujade 2004; Marsat et al. 2021 (lisabeta orbits).
    """
    t = jnp.asarray(t, dtype=jnp.float64)
    alpha = 2 * jnp.pi / SIDEREAL_YEAR * t
    ca, sa = jnp.cos(alpha), jnp.sin(alpha)
    zero = jnp.zeros_like(alpha)
    centre = orbit_radius * jnp.stack([ca, sa, zero], axis=-1)

    sz, cz = np.sin(_ORBIT_INCLINATION), np.cos(_ORBIT_INCLINATION)
    e_a = jnp.stack([sa, -ca, zero], axis=-1)
    e_b = jnp.stack([-sz * ca, -sz * sa, cz + zero], axis=-1)
    xi = _CARTWHEEL_PHASE - alpha[..., None] + 2 * jnp.pi / 3 * jnp.arange(3)
    offsets = (arm_length / np.sqrt(3.0)) * (
        jnp.cos(xi)[..., None] * e_a[..., None, :]
        + jnp.sin(xi)[..., None] * e_b[..., None, :]
    )
    return centre, offsets


def spin_weighted_spherical_harmonic(
    ell: int, m: int, theta: ArrayLike, phi: ArrayLike
) -> jax.Array:
    """Spin-weight -2 spherical harmonic Y_lm(theta, phi), LAL's convention.

    Parameters
    ----------
    ell, m : int
        Mode numbers l (``ell``) >= 2 and m, |m| <= l.
    theta : array_like
        Polar angle (the inclination of the source frame), rad.
    phi : array_like
        Azimuth (the source-frame reference phase), rad.

    Returns
    -------
    Array
        Complex -2Y_lm, same shape as the broadcast angles.

    References
    ----------
    Ajith et al. 2007, arXiv:0709.0093, eqs. (II.9)-(II.10).
    """
    if ell < 2 or abs(m) > ell:
        raise ValueError(f"mode (l, m) = ({ell}, {m}): expected l >= 2 and |m| <= l")
    theta = jnp.asarray(theta, dtype=jnp.float64)
    phi = jnp.asarray(phi, dtype=jnp.float64)
    s = 2
    c, sn = jnp.cos(theta / 2), jnp.sin(theta / 2)
    norm = np.sqrt(
        factorial(ell + m)
        * factorial(ell - m)
        * factorial(ell + s)
        * factorial(ell - s)
    )
    d = jnp.zeros_like(theta)
    for k in range(max(0, m - s), min(ell + m, ell - s) + 1):
        coeff = (
            (-1) ** k
            * norm
            / (
                factorial(ell + m - k)
                * factorial(ell - s - k)
                * factorial(k)
                * factorial(k + s - m)
            )
        )
        d = d + coeff * c ** (2 * ell + m - s - 2 * k) * sn ** (2 * k + s - m)
    return np.sqrt((2 * ell + 1) / (4 * np.pi)) * d * jnp.exp(1j * m * phi)


def _mode_factors(ell, m, inclination, phi_ref, psi):
    """(Y+, Yx): weights of e+ and ex in the mode's polarisation tensor P_lm."""
    y_lm = spin_weighted_spherical_harmonic(ell, m, inclination, phi_ref)
    y_reflected = (-1) ** ell * jnp.conj(
        spin_weighted_spherical_harmonic(ell, -m, inclination, phi_ref)
    )
    rot = jnp.exp(-2j * psi)
    y_plus = 0.5 * (y_lm * rot + y_reflected * jnp.conj(rot))
    y_cross = 0.5j * (y_lm * rot - y_reflected * jnp.conj(rot))
    return y_plus, y_cross


def _source_basis(lambda_ecl, beta_ecl):
    """Propagation vector k and polarisation vectors u, v, as tuples of components."""
    cl, sl = jnp.cos(lambda_ecl), jnp.sin(lambda_ecl)
    cb, sb = jnp.cos(beta_ecl), jnp.sin(beta_ecl)
    k = (-(cb * cl), -(cb * sl), -sb)
    u = (sl, -cl, 0.0)
    v = (-sb * cl, -sb * sl, cb)
    return k, u, v


# (cos, sin) of the in-plane phase of spacecraft i at alpha = 0; the phase at time t
# is this minus alpha, expanded by angle addition so that the whole orbit costs
# one cos and one sin of alpha per frequency.
_CARTWHEEL_START = tuple(
    (float(np.cos(phase)), float(np.sin(phase)))
    for phase in _CARTWHEEL_PHASE + 2 * np.pi / 3 * np.arange(3)
)
# Arms (s, r), 0-based: each gives the link s -> r and its reverse r -> s, in the
# order G12, G21, G23, G32, G31, G13.
_ARMS = ((0, 1), (1, 2), (2, 0))


def _link_transfers(f, t, k, u, v, y_plus, y_cross, arm_length, long_wavelength):
    """Single-link transfers G_sr (6 arrays like f) and the Doppler phase.

    Everything is elementwise in (f, t): the spacecraft enter only through the
    projections w.(p_i - p0) / L of w = k, u, v, so that XLA fuses the whole
    response into a few loops (no 3-vectors, no matrix products). A link and its
    reverse share |n.P.n| and k.(p_s + p_r); only the sign of k.n differs.
    """
    alpha = 2 * jnp.pi / SIDEREAL_YEAR * t
    ca, sa = jnp.cos(alpha), jnp.sin(alpha)
    doppler = (
        2 * jnp.pi * f
        * ((ASTRONOMICAL_UNIT * ca) * k[0] + (ASTRONOMICAL_UNIT * sa) * k[1])
        / SPEED_OF_LIGHT
    )  # fmt: skip

    sz, cz = np.sin(_ORBIT_INCLINATION), np.cos(_ORBIT_INCLINATION)
    cos_xi = [c * ca + s * sa for c, s in _CARTWHEEL_START]
    sin_xi = [s * ca - c * sa for c, s in _CARTWHEEL_START]

    def spacecraft(w):
        """w.(p_i - p0) / L of the three spacecraft, from w.e_a and w.e_b."""
        w_a = w[0] * sa - w[1] * ca
        w_b = -sz * (w[0] * ca + w[1] * sa) + cz * w[2]
        return [
            (c * w_a + s * w_b) / np.sqrt(3.0)
            for c, s in zip(cos_xi, sin_xi, strict=True)
        ]

    q_k, q_u, q_v = spacecraft(k), spacecraft(u), spacecraft(v)
    x = jnp.pi * f * arm_length / SPEED_OF_LIGHT
    links = []
    for s, r in _ARMS:
        n_u, n_v = q_u[r] - q_u[s], q_v[r] - q_v[s]
        projection = y_plus * (n_u * n_u - n_v * n_v) + y_cross * (2 * n_u * n_v)
        common = 1j * x * projection
        if long_wavelength:
            links += [common, common]
            continue
        k_n = q_k[r] - q_k[s]
        common = common * jnp.exp(1j * x * (1 + (q_k[s] + q_k[r])))
        links += [
            common * jnp.sinc(x * (1 - k_n) / jnp.pi),
            common * jnp.sinc(x * (1 + k_n) / jnp.pi),
        ]
    return links, doppler


def _tdi_combinations(g, x, tdi, generation, long_wavelength, rescaled):
    """The three TDI channels (list, each like x) from the six single-link transfers."""
    g12, g21, g23, g32, g31, g13 = g
    z = jnp.ones_like(x) if long_wavelength else jnp.exp(2j * x)
    # Michelson brackets: X = (z^2 - 1) X_b, cyclic in (1, 2, 3).
    x_b = g21 + z * g12 - g31 - z * g13
    y_b = g32 + z * g23 - g12 - z * g21
    z_b = g13 + z * g31 - g23 - z * g32
    if long_wavelength:
        michelson = 4j * x
        second_generation = -8j * x
    else:
        michelson = z**2 - 1
        second_generation = 1 - z**4

    scale = None if rescaled else michelson
    if tdi == "XYZ":
        channels = [x_b, y_b, z_b]
    else:
        # X + Y + Z = (z^2 - 1)(1 - z) S exactly; using S avoids dividing by (1 - z).
        s_sum = g21 - g12 + g32 - g23 + g13 - g31
        a = (z_b - x_b) / np.sqrt(2.0)
        e = (x_b - 2 * y_b + z_b) / np.sqrt(6.0)
        if rescaled:
            channels = [np.sqrt(2.0) * c for c in (a, e, s_sum / np.sqrt(3.0))]
        else:
            channels = [a, e, (1 - z) * s_sum / np.sqrt(3.0)]
    if generation == 2 and not rescaled:
        scale = scale * second_generation
    if scale is not None:
        channels = [c * scale for c in channels]
    return channels


def _check_options(tdi, generation, approximation):
    if tdi not in _TDI_CHOICES:
        raise ValueError(f"tdi must be one of {_TDI_CHOICES}, got {tdi!r}")
    if generation not in (1, 2):
        raise ValueError(f"generation must be 1 or 2, got {generation!r}")
    if approximation not in _APPROXIMATIONS:
        raise ValueError(
            f"approximation must be one of {_APPROXIMATIONS}, got {approximation!r}"
        )


def _check_mode(ell, m):
    if not (isinstance(ell, int | np.integer) and isinstance(m, int | np.integer)):
        raise TypeError(f"mode (l, m) must be integers, got ({ell!r}, {m!r})")
    if ell < 2 or not 1 <= m <= ell:
        raise ValueError(f"mode (l, m) = ({ell}, {m}): expected l >= 2 and 1 <= m <= l")


def _float_array(value):
    """float64 numpy array of ``value``; JAX arrays (and tracers) pass unchanged.

    Host numpy arrays are the cheapest arguments of a jitted call; JAX arrays are
    left on their device (and stay differentiable), cast inside the kernels.
    """
    if isinstance(value, jax.Array):
        return value
    return np.asarray(value, dtype=np.float64)


def _pack_parameters(angles, t0):
    """(..., 6) array of the five angles and t0: one argument for the kernels."""
    xp = jnp if any(isinstance(a, jax.Array) for a in (*angles, t0)) else np
    t0 = xp.broadcast_to(t0, angles[0].shape)
    return xp.stack([*angles, t0], axis=-1)


def _transfer_core(frequencies, t, parameters, modes, options):
    """Transfers (3 channels, each (n_modes, n_f)) and Doppler phases of one source.

    ``frequencies`` and ``t`` (orbital time, s) have shape (n_modes, n_f), mode j
    being ``modes[j]``; ``parameters`` holds (inclination, phi_ref, lambda_ecl,
    beta_ecl, psi) in rad; ``options`` = (tdi, generation, approximation,
    rescaled, arm_length).
    """
    tdi, generation, approximation, rescaled, arm_length = options
    long_wavelength = approximation == "long_wavelength"
    inclination, phi_ref, lambda_ecl, beta_ecl, psi = (parameters[i] for i in range(5))
    factors = [_mode_factors(ell, m, inclination, phi_ref, psi) for ell, m in modes]
    y_plus = jnp.stack([plus for plus, _ in factors])[:, None]
    y_cross = jnp.stack([cross for _, cross in factors])[:, None]
    k, u, v = _source_basis(lambda_ecl, beta_ecl)
    g, doppler = _link_transfers(
        frequencies, t, k, u, v, y_plus, y_cross, arm_length, long_wavelength
    )
    x = jnp.pi * frequencies * arm_length / SPEED_OF_LIGHT
    return _tdi_combinations(g, x, tdi, generation, long_wavelength, rescaled), doppler


# The kernels return the three channels as separate arrays and this second,
# trivial executable stacks them: stacked inside the kernel, XLA fuses the
# channels into the concatenation and recomputes every single-link transfer for
# each channel (measured 5x slower than the extra dispatch).
_stack_channels = jax.jit(partial(jnp.stack, axis=-2))


@partial(jax.jit, static_argnames=("modes", "options"))
def _transfer_kernel(frequencies, t_of_f, parameters, modes, options):
    frequencies = jnp.asarray(frequencies, dtype=jnp.float64)
    t = jnp.asarray(t_of_f, dtype=jnp.float64) + parameters[5]
    channels, doppler = _transfer_core(
        frequencies[None], t[None], parameters, modes, options
    )
    return [c[0] for c in channels], doppler[0]


def tdi_transfer_functions(
    frequencies: ArrayLike,
    t_of_f: ArrayLike,
    ell: int,
    m: int,
    inclination: float,
    phi_ref: float,
    lambda_ecl: float,
    beta_ecl: float,
    psi: float,
    *,
    t0: float = 0.0,
    tdi: str = "AET",
    generation: int = 1,
    approximation: str = "full",
    rescaled: bool = False,
    arm_length: float = LISA_ARM_LENGTH,
) -> tuple[jax.Array, jax.Array]:
    """TDI transfer functions of one mode (ell, m) on a frequency grid.

    The channel's Fourier-domain signal is
    ``transfer[c] * A_lm(f) * exp(1j * (phase_lm(f) + doppler_phase))``.

    Parameters
    ----------
    frequencies : array_like, shape (n_f,)
        Frequencies of the mode, Hz.
    t_of_f : array_like, shape (n_f,)
        Time-frequency correspondence t_lm(f) of the mode, s, from ``t0``.
    ell, m : int
        Mode numbers l (``ell``) >= 2 and m, 1 <= m <= l.
    inclination, phi_ref : float
        Source-frame polar angle of the line of sight and azimuthal reference
        phase, rad (the arguments of -2Y_lm).
    lambda_ecl, beta_ecl : float
        Ecliptic longitude and latitude of the source, SSB frame, rad.
    psi : float
        Polarisation angle, SSB frame, rad.
    t0 : float
        Orbital time at which t_lm = 0, s.
    tdi : {"AET", "XYZ"}
        TDI channels (LDC conventions).
    generation : {1, 2}
        TDI generation.
    approximation : {"full", "long_wavelength"}
        Full transfer functions or their leading order in pi f L / c.
    rescaled : bool
        Divide out lisabeta's TDI scale factors (see module notes).
    arm_length : float
        Arm length, m.

    Returns
    -------
    transfer : Array, shape (3, n_f)
        Complex transfer functions (dimensionless), Doppler phase factored out.
    doppler_phase : Array, shape (n_f,)
        2 pi f k.p0(t_lm(f)) / c, rad.

    References
    ----------
    Marsat & Baker 2018; Marsat et al. 2021.
    """
    _check_options(tdi, generation, approximation)
    _check_mode(ell, m)
    frequencies, t_of_f = _float_array(frequencies), _float_array(t_of_f)
    if frequencies.ndim != 1 or t_of_f.shape != frequencies.shape:
        raise ValueError(
            "frequencies and t_of_f must be 1-d arrays of equal length, got shapes "
            f"{frequencies.shape} and {t_of_f.shape}"
        )
    angles = [
        _float_array(a) for a in (inclination, phi_ref, lambda_ecl, beta_ecl, psi)
    ]
    t0 = _float_array(t0)
    if any(a.ndim != 0 for a in (*angles, t0)):
        raise ValueError("the five angles and t0 must be scalars")
    options = (tdi, int(generation), approximation, bool(rescaled), float(arm_length))
    channels, doppler = _transfer_kernel(
        frequencies, t_of_f, _pack_parameters(angles, t0), ((int(ell), int(m)),),
        options,
    )  # fmt: skip
    return _stack_channels(channels), doppler


@partial(jax.jit, static_argnames=("modes", "options"))
def _response_kernel(frequencies, amplitude, phase, t_of_f, parameters, modes,
                     options):  # fmt: skip
    def one(fr, amp, ph, tf, par):
        fr = jnp.broadcast_to(fr, amp.shape)
        channels, doppler = _transfer_core(fr, tf + par[5], par, modes, options)
        return fr, [amp * c for c in channels], ph + doppler

    arrays = [
        jnp.asarray(a, dtype=jnp.float64)
        for a in (frequencies, amplitude, phase, t_of_f, parameters)
    ]
    if parameters.ndim == 2:
        return jax.vmap(one)(*arrays)
    return one(*arrays)


def tdi_response(
    frequencies: ArrayLike,
    amplitude: ArrayLike,
    phase: ArrayLike,
    t_of_f: ArrayLike,
    modes: tuple[tuple[int, int], ...],
    inclination: ArrayLike,
    phi_ref: ArrayLike,
    lambda_ecl: ArrayLike,
    beta_ecl: ArrayLike,
    psi: ArrayLike,
    *,
    t0: ArrayLike = 0.0,
    tdi: str = "AET",
    generation: int = 1,
    approximation: str = "full",
    rescaled: bool = False,
    arm_length: float = LISA_ARM_LENGTH,
) -> SparseTDI:
    """TDI signal of each mode on its sparse grid, for one source or a batch.

    One jitted kernel, compiled once per (modes, options, shapes), does all the
    work; a batch is vmapped inside it.

    Parameters
    ----------
    frequencies : array_like, shape ([n_src,] n_modes, n_f) or ([n_src,] n_f)
        Sparse frequency grid of each mode, Hz (a 1-d grid is shared by all modes).
    amplitude, phase, t_of_f : array_like, shape ([n_src,] n_modes, n_f)
        A_lm(f) (strain / Hz), phase_lm(f) (rad) and t_lm(f) (s, from ``t0``) in
        the module's convention (lisabeta's), mode j being ``modes[j]``.
    modes : tuple of (l, m)
        The modes, 1 <= m <= l.
    inclination, phi_ref, lambda_ecl, beta_ecl, psi : float or array_like (n_src,)
        Angles, rad, as in :func:`tdi_transfer_functions`; arrays of length n_src
        select the batched (vmapped) evaluation.
    t0 : float or array_like (n_src,)
        Orbital time at which t_lm = 0, s.
    tdi, generation, approximation, rescaled, arm_length
        As in :func:`tdi_transfer_functions`.

    Returns
    -------
    SparseTDI
        Per-mode complex amplitudes (..., n_modes, 3, n_f) and phases
        (..., n_modes, n_f) on the input grids.

    References
    ----------
    Marsat et al. 2021, section II.
    """
    _check_options(tdi, generation, approximation)
    modes = tuple((int(ell), int(m)) for ell, m in modes)
    for ell, m in modes:
        _check_mode(ell, m)
    angles = [
        _float_array(a) for a in (inclination, phi_ref, lambda_ecl, beta_ecl, psi)
    ]
    shape = angles[0].shape
    if any(a.shape != shape for a in angles) or len(shape) > 1:
        raise ValueError(
            "the five angles must all be scalars or all 1-d arrays of equal length"
        )
    amplitude, phase = _float_array(amplitude), _float_array(phase)
    t_of_f, frequencies = _float_array(t_of_f), _float_array(frequencies)
    expected = (*shape, len(modes))
    if amplitude.shape[:-1] != expected:
        raise ValueError(
            f"amplitude must have shape {(*expected, 'n_f')}, got {amplitude.shape}"
        )
    if phase.shape != amplitude.shape or t_of_f.shape != amplitude.shape:
        raise ValueError("amplitude, phase and t_of_f must have the same shape")
    if frequencies.ndim == amplitude.ndim - 1:
        frequencies = frequencies[..., None, :]
    if frequencies.ndim != amplitude.ndim or any(
        a not in (1, b) for a, b in zip(frequencies.shape, amplitude.shape, strict=True)
    ):
        raise ValueError(
            f"frequencies of shape {frequencies.shape} do not match the modes' "
            f"grids {amplitude.shape}"
        )
    t0 = _float_array(t0)
    if t0.shape not in ((), shape):
        raise ValueError(f"t0 must be a scalar or have the angles' shape {shape}")
    options = (tdi, int(generation), approximation, bool(rescaled), float(arm_length))
    frequencies, channels, phase = _response_kernel(
        frequencies, amplitude, phase, t_of_f, _pack_parameters(angles, t0), modes,
        options,
    )  # fmt: skip
    return SparseTDI(frequencies, _stack_channels(channels), phase)


def _not_a_knot_second_derivatives(x, y):
    """Second derivatives (n, k) of the not-a-knot cubic splines through y (n, k)."""
    h = jnp.diff(x)
    slope = jnp.diff(y, axis=0) / h[:, None]
    rhs = 6 * (slope[1:] - slope[:-1])
    lower = h[:-1]
    diag = 2 * (h[:-1] + h[1:])
    upper = h[1:]
    # Not-a-knot: M0 and M_{n-1} eliminated through continuity of S''' at x1, x_{n-2}.
    diag = diag.at[0].add(h[0] * (h[0] + h[1]) / h[1])
    upper = upper.at[0].add(-(h[0] ** 2) / h[1])
    diag = diag.at[-1].add(h[-1] * (h[-1] + h[-2]) / h[-2])
    lower = lower.at[-1].add(-(h[-1] ** 2) / h[-2])
    lower = lower.at[0].set(0.0)
    upper = upper.at[-1].set(0.0)
    inner = jax.lax.linalg.tridiagonal_solve(lower, diag, upper, rhs)
    first = ((h[0] + h[1]) * inner[0] - h[0] * inner[1]) / h[1]
    last = ((h[-1] + h[-2]) * inner[-1] - h[-1] * inner[-2]) / h[-2]
    return jnp.concatenate([first[None], inner, last[None]], axis=0)


def _spline_eval(x, y, second, x_out):
    """Evaluate the cubic splines (x, y, second) at x_out; zero outside [x0, xn]."""
    i = jnp.clip(jnp.searchsorted(x, x_out, side="right") - 1, 0, x.shape[0] - 2)
    h = (x[i + 1] - x[i])[:, None]
    a = (x[i + 1] - x_out)[:, None]
    b = (x_out - x[i])[:, None]
    value = (
        (second[i] * a**3 + second[i + 1] * b**3) / (6 * h)
        + (y[i] / h - second[i] * h / 6) * a
        + (y[i + 1] / h - second[i + 1] * h / 6) * b
    )
    inside = (x_out >= x[0]) & (x_out <= x[-1])
    return jnp.where(inside[:, None], value, 0.0)


@jax.jit
def _interpolate_kernel(frequencies, complex_amplitude, phase, frequencies_out):
    def one_mode(fr, camp, ph):
        columns = jnp.concatenate([camp.real, camp.imag, ph[None]], axis=0).T
        values = _spline_eval(
            fr, columns, _not_a_knot_second_derivatives(fr, columns), frequencies_out
        )
        amp = values[:, :3] + 1j * values[:, 3:6]
        inside = (frequencies_out >= fr[0]) & (frequencies_out <= fr[-1])
        return jnp.where(inside, amp.T * jnp.exp(1j * values[:, 6]), 0.0)

    return jnp.sum(jax.vmap(one_mode)(frequencies, complex_amplitude, phase), axis=0)


def interpolate_tdi(sparse: SparseTDI, frequencies: ArrayLike) -> jax.Array:
    """Sum of the modes' TDI signals on a (uniform) data frequency grid.

    Real and imaginary parts of each mode's complex amplitude and its phase are
    interpolated separately by not-a-knot cubic splines (as lisabeta does); a mode
    contributes zero outside its own sparse frequency range.

    Parameters
    ----------
    sparse : SparseTDI
        Output of :func:`tdi_response` (one source, or a batch).
    frequencies : array_like, shape (n_out,)
        Output frequencies, Hz.

    Returns
    -------
    Array, shape ([n_src,] 3, n_out)
        Complex TDI channels (strain / Hz, Fourier convention of the module).

    References
    ----------
    Marsat et al. 2021, section III (interpolation of the sparse representation).
    """
    frequencies = jnp.asarray(frequencies, dtype=jnp.float64)
    if frequencies.ndim != 1:
        raise ValueError("frequencies must be a 1-d array")
    if sparse.frequencies.shape[-1] < 4:
        raise ValueError("the sparse grids need at least 4 points for a spline")
    if sparse.phase.ndim == 3:
        return jax.vmap(_interpolate_kernel, in_axes=(0, 0, 0, None))(
            sparse.frequencies, sparse.complex_amplitude, sparse.phase, frequencies
        )
    return _interpolate_kernel(
        sparse.frequencies, sparse.complex_amplitude, sparse.phase, frequencies
    )

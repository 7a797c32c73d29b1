"""Star-formation histories of the Galaxy's components.

:class:`ConstantSFH`, :class:`ExponentialSFH`, :class:`BurstSFH` and
:class:`TabulatedSFH` give the star-formation rate against lookback time (the age
today of the stars born then) and sample ages from it exactly.
:data:`MODEL_1` and :data:`MODEL_2` assign one history to each component of
:data:`simfer.sims.galaxy.MCMILLAN_2017`.

About Jin et al. (2025): their "Model 1" and "Model 2" star-formation histories
(MNRAS 536, 2770; arXiv:2406.16474) could not be read here; only the abstract was
available. The two models below are cited stand-ins chosen so that Model 2 forms
more stars recently than Model 1, as Jin et al.'s larger Model 2 counts of both
gravitational-wave and (young, bright) eclipsing detections imply.

Ages are lookback times in the past, >= 0; masses are stellar mass formed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from numpy.typing import NDArray

from simfer.sims.galaxy import MCMILLAN_2017, _count, _generator, _scalar

logger = logging.getLogger(__name__)

__all__ = [
    "MODEL_1",
    "MODEL_2",
    "BurstSFH",
    "ConstantSFH",
    "ExponentialSFH",
    "StarFormationHistory",
    "StarFormationModel",
    "TabulatedSFH",
]

_GYR = u.Gyr.to(u.s)


class StarFormationHistory(ABC):
    """Star-formation rate against lookback time, with exact age sampling.

    Subclasses define the normalised age density on ``[age_min, age_max]``; the
    rate is ``total_mass`` times it. Ages are lookback times of star formation,
    i.e. the ages today of the stars formed then.
    """

    total_mass: u.Quantity

    @property
    @abstractmethod
    def age_limits(self) -> u.Quantity:
        """``(youngest, oldest)`` age with non-zero rate, Gyr."""

    @abstractmethod
    def _pdf(self, age: NDArray) -> NDArray:
        """Normalised age density at ``age`` (s), 1/s."""

    @abstractmethod
    def _cdf(self, age: NDArray) -> NDArray:
        """Fraction of the mass formed in stars younger than ``age`` (s)."""

    @abstractmethod
    def _sample(self, n: int, rng: np.random.Generator) -> NDArray:
        """``n`` ages, s."""

    def rate(self, age: u.Quantity) -> u.Quantity:
        """Star-formation rate at lookback time ``age``, Msun/yr (0 outside)."""
        pdf = self._pdf(np.asarray(age.to_value(u.s), dtype=float))
        return (self.total_mass * pdf / u.s).to(u.Msun / u.yr)

    def cdf(self, age: u.Quantity) -> NDArray:
        """Fraction of the formed mass whose age is below ``age``."""
        return self._cdf(np.asarray(age.to_value(u.s), dtype=float))

    def sample_ages(self, n: int, rng: np.random.Generator | int) -> u.Quantity:
        """Draw ``n`` stellar ages (lookback times of formation) from the rate.

        Parameters
        ----------
        n : int
            Number of ages.
        rng : numpy.random.Generator or int
            Random generator or seed.

        Returns
        -------
        Quantity
            Ages, Gyr.
        """
        return self._sample(_count(n), _generator(rng)) / _GYR * u.Gyr


def _age_range(age_min: u.Quantity, age_max: u.Quantity, what: str):
    """(age_min, age_max) in s, checking 0 <= age_min < age_max."""
    lo = _scalar(age_min, u.Gyr, f"{what}age_min", minimum=-np.inf)
    hi = _scalar(age_max, u.Gyr, f"{what}age_max")
    if lo < 0 or hi <= lo:
        raise ValueError(f"{what}ages need 0 <= age_min < age_max")
    return lo, hi


def _mass(total_mass: u.Quantity) -> u.Quantity:
    _scalar(total_mass, u.Msun, "total_mass")
    return total_mass.to(u.Msun)


@dataclass(frozen=True)
class ConstantSFH(StarFormationHistory):
    """Constant rate between lookback times ``age_min`` and ``age_max``.

    Parameters
    ----------
    age_max : Quantity
        Onset of star formation (oldest age), Gyr.
    total_mass : Quantity
        Mass formed over the history, Msun.
    age_min : Quantity
        End of star formation (youngest age), Gyr; 0 means still forming.
    """

    age_max: u.Quantity
    total_mass: u.Quantity
    age_min: u.Quantity = 0.0 * u.Gyr

    def __post_init__(self) -> None:
        _age_range(self.age_min, self.age_max, "")  # validates the range
        object.__setattr__(self, "total_mass", _mass(self.total_mass))

    @property
    def age_limits(self) -> u.Quantity:
        return u.Quantity([self.age_min, self.age_max]).to(u.Gyr)

    def _pdf(self, age):
        lo, hi = self.age_limits.to_value(u.s)
        return np.where((age >= lo) & (age <= hi), 1.0 / (hi - lo), 0.0)

    def _cdf(self, age):
        lo, hi = self.age_limits.to_value(u.s)
        return np.clip((age - lo) / (hi - lo), 0.0, 1.0)

    def _sample(self, n, rng):
        lo, hi = self.age_limits.to_value(u.s)
        return rng.uniform(lo, hi, n)


@dataclass(frozen=True)
class ExponentialSFH(StarFormationHistory):
    """Rate ``~ exp(-t / tau)``, ``t`` the time since onset at lookback ``age_max``.

    Parameters
    ----------
    age_max : Quantity
        Onset of star formation, Gyr.
    timescale : Quantity
        e-folding time ``tau``, Gyr; > 0 declines, < 0 rises towards today.
    total_mass : Quantity
        Mass formed over the history, Msun.
    age_min : Quantity
        End of star formation, Gyr.
    """

    age_max: u.Quantity
    timescale: u.Quantity
    total_mass: u.Quantity
    age_min: u.Quantity = 0.0 * u.Gyr

    def __post_init__(self) -> None:
        _age_range(self.age_min, self.age_max, "")  # validates the range
        tau = _scalar(self.timescale, u.Gyr, "timescale", minimum=-np.inf)
        if tau == 0:
            raise ValueError("timescale must be non-zero")
        object.__setattr__(self, "total_mass", _mass(self.total_mass))

    @property
    def age_limits(self) -> u.Quantity:
        return u.Quantity([self.age_min, self.age_max]).to(u.Gyr)

    def _consts(self):
        lo, hi = self.age_limits.to_value(u.s)
        tau = self.timescale.to_value(u.s)
        return hi, hi - lo, tau, -np.expm1(-(hi - lo) / tau)

    def _pdf(self, age):
        hi, span, tau, norm = self._consts()
        t = hi - age
        return np.where((t >= 0) & (t <= span), np.exp(-t / tau) / (tau * norm), 0.0)

    def _cdf(self, age):
        hi, span, tau, norm = self._consts()
        t = np.clip(hi - age, 0.0, span)
        return (np.exp(-t / tau) - np.exp(-span / tau)) / norm

    def _sample(self, n, rng):
        hi, _, tau, norm = self._consts()
        return hi + tau * np.log1p(-rng.uniform(size=n) * norm)


@dataclass(frozen=True)
class BurstSFH(StarFormationHistory):
    """Sum of constant-rate episodes (top-hat bursts).

    Parameters
    ----------
    episodes : sequence of (Quantity, Quantity, Quantity)
        ``(age_min, age_max, mass)`` per burst: youngest and oldest age (Gyr) and
        the mass formed in it (Msun). Bursts may overlap.
    """

    episodes: Sequence[tuple[u.Quantity, u.Quantity, u.Quantity]]
    total_mass: u.Quantity = field(init=False)

    def __post_init__(self) -> None:
        if len(self.episodes) == 0:
            raise ValueError("episodes must contain at least one burst")
        table = []
        for lo, hi, mass in self.episodes:
            lo_s, _ = _age_range(lo, hi, "episode ")
            table.append((lo_s, hi.si.value, _scalar(mass, u.Msun, "episode mass")))
        object.__setattr__(self, "_table", np.array(table))
        object.__setattr__(
            self, "total_mass", self._table[:, 2].sum() * u.kg.to(u.Msun) * u.Msun
        )

    @property
    def age_limits(self) -> u.Quantity:
        limits = [self._table[:, 0].min(), self._table[:, 1].max()]
        return (np.array(limits) * u.s).to(u.Gyr)

    def _pdf(self, age):
        lo, hi, mass = self._table.T
        inside = (age[..., None] >= lo) & (age[..., None] <= hi)
        return (inside * mass / (hi - lo)).sum(-1) / mass.sum()

    def _cdf(self, age):
        lo, hi, mass = self._table.T
        frac = np.clip((age[..., None] - lo) / (hi - lo), 0.0, 1.0)
        return (frac * mass).sum(-1) / mass.sum()

    def _sample(self, n, rng):
        lo, hi, mass = self._table.T
        which = rng.choice(mass.size, size=n, p=mass / mass.sum())
        return rng.uniform(lo[which], hi[which])


@dataclass(frozen=True)
class TabulatedSFH(StarFormationHistory):
    """Rate tabulated against age, linear between nodes, zero outside.

    Parameters
    ----------
    ages : Quantity
        Increasing lookback times of the nodes, Gyr (>= 0).
    rates : Quantity
        Star-formation rate at the nodes, Msun/yr (>= 0, not all zero).
    total_mass : Quantity, optional
        If given, the rates are rescaled to form this mass, Msun; otherwise the
        mass is the integral of the table.

    Notes
    -----
    Ages are sampled exactly: a segment is chosen by its mass, then the
    quadratic cumulative mass inside it is inverted in closed form.
    """

    ages: u.Quantity
    rates: u.Quantity
    total_mass: u.Quantity | None = None

    def __post_init__(self) -> None:
        t = np.asarray(u.Quantity(self.ages).to_value(u.s), dtype=float)
        r = np.asarray(u.Quantity(self.rates).to_value(u.kg / u.s), dtype=float)
        if t.ndim != 1 or t.size < 2 or t.shape != r.shape:
            raise ValueError("ages and rates must be 1-d of equal length >= 2")
        if t[0] < 0 or np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
            raise ValueError("ages must be finite, >= 0 and strictly increasing")
        seg = 0.5 * (r[1:] + r[:-1]) * np.diff(t)
        if np.any(r < 0) or not np.all(np.isfinite(r)) or seg.sum() <= 0:
            raise ValueError("rates must be finite, >= 0 and not all zero")
        mass = seg.sum() * u.kg if self.total_mass is None else _mass(self.total_mass)
        object.__setattr__(self, "total_mass", mass.to(u.Msun))
        cum = np.concatenate([[0.0], np.cumsum(seg)]) / seg.sum()
        object.__setattr__(self, "_nodes", (t, r / seg.sum(), cum))

    @property
    def age_limits(self) -> u.Quantity:
        t = self._nodes[0]
        return (np.array([t[0], t[-1]]) * u.s).to(u.Gyr)

    def _pdf(self, age):
        t, p, _ = self._nodes
        return np.interp(age, t, p, left=0.0, right=0.0)

    def _cdf(self, age):
        t, p, cum = self._nodes
        i = np.clip(np.searchsorted(t, age, side="right") - 1, 0, t.size - 2)
        dt = np.clip(age - t[i], 0.0, t[i + 1] - t[i])
        slope = (p[i + 1] - p[i]) / (t[i + 1] - t[i])
        return np.clip(cum[i] + p[i] * dt + 0.5 * slope * dt**2, 0.0, 1.0)

    def _sample(self, n, rng):
        t, p, cum = self._nodes
        xi = rng.uniform(size=n)
        i = np.clip(np.searchsorted(cum, xi, side="right") - 1, 0, t.size - 2)
        need = xi - cum[i]
        slope = (p[i + 1] - p[i]) / (t[i + 1] - t[i])
        # root of p dt + slope dt^2 / 2 = need, in the cancellation-free form
        dt = 2.0 * need / (p[i] + np.sqrt(np.maximum(p[i] ** 2 + 2 * slope * need, 0)))
        return t[i] + np.minimum(dt, t[i + 1] - t[i])


@dataclass(frozen=True)
class StarFormationModel:
    """A named star-formation history for each Galactic component.

    Parameters
    ----------
    name : str
        Label, e.g. ``"model_1"``.
    histories : mapping of str to StarFormationHistory
        Component name -> its history; ``total_mass`` is the mass formed.
    description : str
        One line on what the model is and where it comes from.
    """

    name: str
    histories: Mapping[str, StarFormationHistory]
    description: str = ""

    def __post_init__(self) -> None:
        if not self.histories:
            raise ValueError("histories must name at least one component")
        for key, sfh in self.histories.items():
            if not isinstance(sfh, StarFormationHistory):
                raise TypeError(f"history of {key!r} is not a StarFormationHistory")

    def history(self, component: str) -> StarFormationHistory:
        """The history of ``component``."""
        if component not in self.histories:
            raise ValueError(
                f"{self.name} has no history for {component!r}; it has "
                f"{sorted(self.histories)}"
            )
        return self.histories[component]

    def sample_ages(
        self, component: str, n: int, rng: np.random.Generator | int
    ) -> u.Quantity:
        """Draw ``n`` ages (Gyr) of stars of ``component``.

        A binary that became a double white dwarf ``t_dwd`` after its birth exists
        today if ``age > t_dwd`` and has then decayed by radiation for
        ``age - t_dwd``.
        """
        return self.history(component).sample_ages(n, rng)


def _common_old_components() -> dict[str, StarFormationHistory]:
    thick = MCMILLAN_2017.component("thick_disc")
    bulge = MCMILLAN_2017.component("bulge")
    return {
        "thick_disc": ConstantSFH(
            thick.age_range[1], thick.stellar_mass, age_min=thick.age_range[0]
        ),
        "bulge": BurstSFH([(*bulge.age_range, bulge.stellar_mass)]),
    }


_THIN_MASS = MCMILLAN_2017.component("thin_disc").stellar_mass

#: Model 1: thin-disc star formation peaking at its onset 10 Gyr ago and declining
#: exponentially by a factor 10 to today (tau = 10 Gyr / ln 10 = 4.34 Gyr), after
#: the kinematic thin-disc history of Just & Jahreiss (2010, MNRAS 402, 461:
#: "maximum 10 Gyr ago declining by a factor of 10 until present"). Thick disc:
#: constant rate 11.6-10 Gyr ago; bulge: one 1-Gyr burst 10 Gyr ago. Mass formed
#: in each component = its present stellar mass in :data:`MCMILLAN_2017`.
#: NOT the Model 1 of Jin et al. (2025), whose definition could not be consulted.
MODEL_1 = StarFormationModel(
    name="model_1",
    histories={
        "thin_disc": ExponentialSFH(
            10.0 * u.Gyr, 10.0 / np.log(10.0) * u.Gyr, _THIN_MASS
        ),
        **_common_old_components(),
    },
    description="declining thin disc (Just & Jahreiss 2010), old thick disc and bulge",
)

#: Model 2: constant thin-disc star formation over the last 10 Gyr, the uniform
#: history that fits the Gaia 40 pc white-dwarf sample (Cukanovaite et al. 2023,
#: MNRAS 522, 1643; also the constant-rate model of Yu & Jeffery 2011, MNRAS 417,
#: 1392). Thick disc and bulge as in :data:`MODEL_1`. About 3.5 Msun/yr today,
#: against ~0.9 Msun/yr in Model 1 (observed: 1.65 +- 0.19 Msun/yr, Licquia &
#: Newman 2015, ApJ 806, 96). NOT the Model 2 of Jin et al. (2025).
MODEL_2 = StarFormationModel(
    name="model_2",
    histories={
        "thin_disc": ConstantSFH(10.0 * u.Gyr, _THIN_MASS),
        **_common_old_components(),
    },
    description="constant thin disc (Cukanovaite et al. 2023), old thick disc, bulge",
)

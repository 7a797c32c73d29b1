"""Published catalogues of known gravitational-wave sources.

The LISA verification binaries of Kupfer et al. (2018) ship with simfer as a small
ECSV file (``simfer/data/verification_binaries.ecsv``; provenance and column
definitions in ``simfer/data/README.md``). :func:`load_verification_binaries` reads
it, checks it, and adds the derived quantities every forecast needs: the
gravitational-wave frequency, the chirp mass and the ecliptic sky position.
"""

from __future__ import annotations

import logging
import os
from importlib import resources
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import BarycentricTrueEcliptic, SkyCoord
from astropy.table import QTable

logger = logging.getLogger(__name__)

__all__ = ["VERIFICATION_BINARIES_FILE", "load_verification_binaries"]

#: File name of the shipped verification-binary catalogue inside ``simfer/data``.
VERIFICATION_BINARIES_FILE = "verification_binaries.ecsv"

# Physical columns the file must carry, with the unit each must be convertible to.
_REQUIRED_QUANTITIES = {
    "period": u.s,
    "m_1": u.Msun,
    "m_2": u.Msun,
    "distance": u.pc,
    "inclination": u.deg,
    "l": u.deg,
    "b": u.deg,
}

_REQUIRED_TEXT = (
    "name",
    "source_type",
    "m_1_flag",
    "m_2_flag",
    "inclination_flag",
    "distance_flag",
    "notes",
)

_ALLOWED_FLAGS = {
    "m_1_flag": {"measured", "estimated", "assumed", "range_lower"},
    "m_2_flag": {"measured", "estimated", "assumed", "range_lower"},
    "inclination_flag": {"measured", "assumed", "range_lower"},
    "distance_flag": {"gaia_dr2", "assumed"},
}


def _default_path() -> Path:
    """Return the path of the catalogue shipped inside the installed package."""
    return Path(str(resources.files("simfer") / "data" / VERIFICATION_BINARIES_FILE))


def _read_table(path: Path) -> QTable:
    """Read the ECSV file at ``path``, naming the file in every failure."""
    if not path.is_file():
        raise FileNotFoundError(
            f"verification-binary catalogue not found: {path}. The file "
            f"{VERIFICATION_BINARIES_FILE} ships with simfer under simfer/data; "
            "reinstall the package if it is missing."
        )
    try:
        return QTable.read(path, format="ascii.ecsv")
    except Exception as exc:  # astropy raises several unrelated types on bad input
        raise ValueError(
            f"verification-binary catalogue {path} could not be parsed as ECSV: {exc}"
        ) from exc


def _check_table(table: QTable, path: Path) -> None:
    """Raise ValueError naming ``path`` on missing columns, units or bad values."""
    if len(table) == 0:
        raise ValueError(f"verification-binary catalogue {path} has no rows")

    missing = [
        c
        for c in (*_REQUIRED_TEXT, *_REQUIRED_QUANTITIES, "snr_lisa_4yr")
        if c not in table.colnames
    ]
    if missing:
        raise ValueError(
            f"verification-binary catalogue {path} lacks required column(s) {missing}"
        )

    for column, unit in _REQUIRED_QUANTITIES.items():
        values = table[column]
        if not isinstance(values, u.Quantity) or not values.unit.is_equivalent(unit):
            found = getattr(values, "unit", None)
            raise ValueError(
                f"verification-binary catalogue {path}: column '{column}' must carry a "
                f"unit convertible to {unit}, found {found}"
            )
        if not np.all(np.isfinite(values.value)):
            raise ValueError(
                f"verification-binary catalogue {path}: column '{column}' has "
                "non-finite entries"
            )

    for column in ("period", "m_1", "m_2", "distance"):
        if np.any(table[column].value <= 0):
            raise ValueError(
                f"verification-binary catalogue {path}: column '{column}' must be "
                "strictly positive"
            )

    inclination = table["inclination"].to_value(u.deg)
    if np.any((inclination < 0) | (inclination > 180)):
        raise ValueError(
            f"verification-binary catalogue {path}: column 'inclination' must lie "
            "in [0, 180] deg"
        )

    snr = np.asarray(table["snr_lisa_4yr"], dtype=float)
    if not np.all(np.isfinite(snr)) or np.any(snr < 0):
        raise ValueError(
            f"verification-binary catalogue {path}: column 'snr_lisa_4yr' must be "
            "finite and non-negative"
        )

    for column, allowed in _ALLOWED_FLAGS.items():
        unknown = sorted(set(table[column]) - allowed)
        if unknown:
            raise ValueError(
                f"verification-binary catalogue {path}: column '{column}' has unknown "
                f"value(s) {unknown}; expected one of {sorted(allowed)}"
            )

    if len(set(table["name"])) != len(table):
        raise ValueError(f"verification-binary catalogue {path}: names are not unique")


def _chirp_mass(m_1: u.Quantity, m_2: u.Quantity) -> u.Quantity:
    """Chirp mass (m_1 m_2)^(3/5) / (m_1 + m_2)^(1/5), in the unit of the inputs.

    References
    ----------
    Peters P. C., Mathews J., 1963, Phys. Rev., 131, 435 (the leading-order
    quadrupole emission depends on the masses only through this combination).
    """
    return (m_1 * m_2) ** 0.6 / (m_1 + m_2) ** 0.2


def load_verification_binaries(path: str | os.PathLike | None = None) -> QTable:
    """Load the LISA verification binaries of Kupfer et al. (2018).

    Parameters
    ----------
    path : str or os.PathLike, optional
        ECSV file to read instead of the catalogue shipped with simfer (used to
        test the error handling, or to load an updated transcription with the
        same columns).

    Returns
    -------
    astropy.table.QTable
        One row per binary (16 in the shipped file). Columns read from the file:

        - ``name``, ``source_type`` (``"AM CVn"``, ``"detached DWD"``, ``"sdB+WD"``)
        - ``period``: orbital period, s
        - ``m_1``, ``m_2``: component masses, Msun
        - ``distance``: distance, pc (Gaia DR2 parallax unless flagged)
        - ``inclination``: orbital inclination, deg
        - ``l``, ``b``: Galactic longitude and latitude, deg
        - ``snr_lisa_4yr``: published 4-yr LISA SNR (dimensionless float)
        - ``m_1_flag``, ``m_2_flag``, ``inclination_flag``, ``distance_flag``:
          ``measured``, ``estimated``, ``assumed``, ``range_lower`` (lower end of a
          published range kept), ``gaia_dr2``; ``notes``: free-text caveats

        Derived columns added here:

        - ``f_gw``: gravitational-wave frequency 2 / period, Hz (circular orbit,
          dominant quadrupole harmonic)
        - ``chirp_mass``: (m_1 m_2)^(3/5) / (m_1 + m_2)^(1/5), Msun
        - ``ecliptic_lon``, ``ecliptic_lat``: position in the barycentric true
          ecliptic frame (equinox J2000), deg, transformed from (l, b)

    Raises
    ------
    FileNotFoundError
        If the catalogue file does not exist (the message names the file).
    ValueError
        If the file is not valid ECSV, lacks a required column or unit, or holds
        non-physical values (the message names the file and the column).

    Notes
    -----
    Several masses and inclinations in the paper are fiducial assumptions or the
    lower end of a published range; the flag columns say which. The SNRs are the
    paper's, computed with its own LISA sensitivity model: use them as reference
    values, not as outputs of simfer's detector models.

    References
    ----------
    Kupfer T. et al., 2018, MNRAS, 480, 302, "LISA verification binaries with
    updated distances from Gaia Data Release 2" (arXiv:1805.00482), Tables 1-2.
    """
    source = _default_path() if path is None else Path(path)
    table = _read_table(source)
    _check_table(table, source)

    for column, unit in _REQUIRED_QUANTITIES.items():
        table[column] = table[column].to(unit)
    table["snr_lisa_4yr"] = np.asarray(table["snr_lisa_4yr"], dtype=float)

    table["f_gw"] = (2.0 / table["period"]).to(u.Hz)
    table["chirp_mass"] = _chirp_mass(table["m_1"], table["m_2"]).to(u.Msun)

    galactic = SkyCoord(l=table["l"], b=table["b"], frame="galactic")
    ecliptic = galactic.transform_to(BarycentricTrueEcliptic())
    table["ecliptic_lon"] = u.Quantity(ecliptic.lon.to_value(u.deg), u.deg)
    table["ecliptic_lat"] = u.Quantity(ecliptic.lat.to_value(u.deg), u.deg)

    logger.debug("loaded %d verification binaries from %s", len(table), source)
    return table

"""Forward simulators: detectors, signals, catalogues and Galactic populations.

Modules
-------
detectors
    LISA and TianQin noise models (:func:`get_detector`).
response
    Antenna patterns and the per-source SNR factor.
galactic_binaries
    GR relations and the heterodyned signal of quasi-monochromatic binaries.
catalogues
    Published catalogues shipped with simfer (LISA verification binaries).
binary_evolution
    Double white dwarfs from COSMIC, with a settings-keyed cache (needs the
    ``gw`` extra).
galaxy, star_formation
    The Milky Way's components and their star-formation histories.
orbital_evolution
    Gravitational-wave driven orbital decay (Peters 1964).
dwd_population
    The Galactic double white dwarf population today.
white_dwarfs, eclipses
    White-dwarf radii and cooling, and the geometry and light loss of eclipses in
    circular binaries.
photometry, extinction
    Blackbody magnitudes in Gaia G and LSST ugrizy; an analytic 3-D dust disc.
surveys, eclipse_detection
    Gaia and Rubin cadences, depths and errors; which eclipsing binaries they find.
dwd_optical
    The eclipsing DWDs of the Galactic population that Gaia and Rubin detect.
mbhb_sources, mbhb_waveforms
    Massive black-hole binaries: source and detector frames; lalsimulation modes
    (IMRPhenomD, HM, XHM) on sparse frequency grids.
lisa_response, lisa_tdi_noise
    LISA's frequency-domain TDI response (Marsat & Baker 2018) and the A, E, T
    noise of the science requirements (Babak et al. 2021).
"""

from simfer.sims.catalogues import load_verification_binaries
from simfer.sims.detectors import DETECTOR_NAMES, Detector, get_detector
from simfer.sims.galactic_binaries import (
    GalacticBinary,
    chirp_mass,
    gr_fdot,
    gw_amplitude,
    gw_frequency_from_period,
)
from simfer.sims.response import snr_response_factor

__all__ = [
    "DETECTOR_NAMES",
    "Detector",
    "GalacticBinary",
    "chirp_mass",
    "get_detector",
    "gr_fdot",
    "gw_amplitude",
    "gw_frequency_from_period",
    "load_verification_binaries",
    "snr_response_factor",
]

"""Tests of simfer.sims.mbhb_waveforms: MBHB modes from lalsimulation."""

import astropy.units as u
import lal
import numpy as np
import pytest
from astropy.cosmology import WMAP9, Planck18

from simfer.sims.mbhb_waveforms import (
    MBHBSources,
    WaveformCalibrationWarning,
    _unwrapped_phase,
    detector_frame,
    mode_amplitude_phase,
    peak_frequency,
    sparse_frequency_grid,
    time_of_frequency,
)

lisabeta_bbh = pytest.importorskip("lisabeta.waveforms.bbh.pyIMRPhenomD")
lisabeta_hm = pytest.importorskip("lisabeta.waveforms.bbh.pyIMRPhenomHM")

MSUN = lal.MSUN_SI
G, C = lal.G_SI, lal.C_SI


def _sources(total_msun, z, q=0.5, chi1=0.5, chi2=-0.2, **kwargs):
    return MBHBSources.from_total_mass_ratio(
        np.atleast_1d(total_msun) * MSUN, q, chi1=chi1, chi2=chi2, redshift=z,
        **kwargs,
    )  # fmt: skip


def _lisabeta_inputs(sources):
    frame = detector_frame(sources)
    return (
        frame.m1[0] / MSUN,
        frame.m2[0] / MSUN,
        sources.chi1[0],
        sources.chi2[0],
        frame.luminosity_distance[0] / (1e6 * lal.PC_SI),
    )


@pytest.mark.parametrize("total", [1e5, 1e6, 1e7])
@pytest.mark.parametrize("z", [1.0, 3.0])
def test_imrphenomd_22_matches_lisabeta(total, z):
    sources = _sources(total, z)
    f = sparse_frequency_grid(sources, n=200, f_min=1e-5)
    mode = mode_amplitude_phase(sources, f)[(2, 2)]
    ref = lisabeta_bbh.IMRPhenomDh22AmpPhase(
        np.ascontiguousarray(f[0]), *_lisabeta_inputs(sources)
    ).get_waveform()[(2, 2)]

    # same IMRPhenomD amplitude in both codes: measured ~2e-7 (lisabeta's C port)
    np.testing.assert_allclose(mode.amplitude[0], ref["amp"], rtol=1e-5)
    residual = mode.phase[0] - ref["phase"]
    residual -= np.polyval(np.polyfit(f[0], residual, 1), f[0])
    # after a constant and linear (phase, time) fit: measured 1e-2 rad where the
    # phase is ~1e5 rad and 0.08 rad where it is ~1e7 rad (1e5 Msun from 1e-5
    # Hz): double-precision rounding of both codes, ~2e-8 of the phase
    assert np.all(np.abs(residual) < 2e-2 + 3e-8 * np.abs(ref["phase"]))
    # same convention t = +(1/2 pi) dphase/df: measured rel. diff ~3e-8 at
    # |t| > 1 day (times up to 1e10 s), so 1e-5 leaves margin
    early = np.abs(ref["tf"]) > 86400
    np.testing.assert_allclose(mode.time[0][early], ref["tf"][early], rtol=1e-5)


def test_low_frequency_amplitude_follows_newtonian_spa():
    sources = _sources(1e6, 1.0, q=0.8, chi1=0.0, chi2=0.0)
    frame = detector_frame(sources)
    f = 1e-4 / frame.total_mass_seconds * np.geomspace(1.0, 1.2, 10)
    mode = mode_amplitude_phase(sources, f[None, :])[(2, 2)]
    # |h22(f)| = sqrt(2 pi/3) pi^(-2/3) (G Mc/c^3)^(5/6) f^(-7/6) c / D_L
    # (SPA of the quadrupole mode, e.g. Maggiore 2007 eq. 4.37 with
    # |h22| = sqrt(16 pi/5) h_+ face-on)
    mc_s = frame.chirp_mass[0] * G / C**3
    newtonian = (
        np.sqrt(2 * np.pi / 3) * np.pi ** (-2 / 3) * mc_s ** (5 / 6) * f ** (-7 / 6)
        * C / frame.luminosity_distance[0]
    )  # fmt: skip
    # 1PN amplitude correction at x = (pi M f)^(2/3) = 4.6e-3 is ~0.5 %
    np.testing.assert_allclose(mode.amplitude[0], newtonian, rtol=0.02)


def test_time_of_frequency_follows_newtonian_chirp():
    sources = _sources(1e6, 1.0, q=0.8, chi1=0.0, chi2=0.0, t_c=1e5)
    frame = detector_frame(sources)
    f = 1e-4 / frame.total_mass_seconds * np.geomspace(1.0, 1.1, 10)
    t = time_of_frequency(sources, f[None, :])[(2, 2)][0]
    mc_s = frame.chirp_mass[0] * G / C**3
    # t_c - t(f) = 5/256 (G Mc/c^3)^(-5/3) (pi f)^(-8/3) (Peters 1964); the
    # 1PN + 1.5PN corrections at Mf = 1e-4 are ~ +1.2 %, the merger offset ~1e-4
    newtonian = 5 / 256 * mc_s ** (-5 / 3) * (np.pi * f) ** (-8 / 3)
    np.testing.assert_allclose(1e5 - t, newtonian, rtol=0.03)


def test_time_is_derivative_of_phase_and_tc_at_peak():
    sources = _sources(3e5, 2.0, t_c=1234.5)
    f = sparse_frequency_grid(sources, n=400, f_min=1e-4)
    mode = mode_amplitude_phase(sources, f)[(2, 2)]
    # centred differences on a 400-point grid: second-order error ~1e-3, and
    # ~1 s where t crosses 0 near the peak
    dphase = np.gradient(mode.phase[0], f[0]) / (2 * np.pi)
    np.testing.assert_allclose(dphase[1:-1], mode.time[0][1:-1], rtol=3e-3, atol=2)
    f_peak = peak_frequency(sources)[0]
    # by construction t_22(f_peak) = t_c; 1 s of interpolation on this grid
    assert abs(np.interp(f_peak, f[0], mode.time[0]) - 1234.5) < 1.0


def test_detector_frame_matches_astropy():
    rng = np.random.default_rng(7)
    z = rng.uniform(0.01, 20.0, 500)
    sources = _sources(np.full(z.size, 1e6), z)
    direct = Planck18.luminosity_distance(z).to_value(u.m)
    table = detector_frame(sources, interpolate=True)
    exact = detector_frame(sources, interpolate=False)
    # no interpolation: astropy itself
    np.testing.assert_allclose(exact.luminosity_distance, direct, rtol=1e-12)
    # 400-node cubic spline in ln z: measured max rel. error ~1e-9
    np.testing.assert_allclose(table.luminosity_distance, direct, rtol=1e-8)
    # redshifted masses (1 + z) m exactly
    np.testing.assert_allclose(table.m1, (1 + z) * sources.m1, rtol=1e-15)
    other = detector_frame(sources, cosmology=WMAP9, interpolate=False)
    expected = WMAP9.luminosity_distance(z).to_value(u.m)
    np.testing.assert_allclose(other.luminosity_distance, expected, rtol=1e-12)


def test_quantities_accepted():
    sources = MBHBSources(
        m1=6e5 * u.Msun, m2=4e5 * u.Msun, chi1=0.1, chi2=0.2, redshift=1.0,
        inclination=30 * u.deg, t_c=1 * u.day,
    )  # fmt: skip
    # unit conversion only
    assert sources.m1[0] == pytest.approx(6e5 * u.Msun.to(u.kg), rel=1e-12)
    assert sources.inclination[0] == pytest.approx(np.pi / 6, rel=1e-12)
    assert sources.t_c[0] == pytest.approx(86400.0, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"m1": -1.0}, "m1"),
        ({"m2": 0.0}, "m2"),
        ({"m1": 1e35, "m2": 2e35}, "m1 must be >= m2"),
        ({"chi1": 1.0}, "chi1"),
        ({"chi2": -1.2}, "chi2"),
        ({"redshift": 0.0}, "redshift"),
        ({"redshift": -1.0}, "redshift"),
        ({"m2": 1e30}, "mass ratio"),
    ],
)
def test_bad_sources_raise_naming_parameter(kwargs, name):
    base = {"m1": 2e36, "m2": 1e36, "chi1": 0.0, "chi2": 0.0, "redshift": 1.0}
    with pytest.raises(ValueError, match=name):
        MBHBSources(**(base | kwargs))


def test_bad_call_arguments_raise():
    sources = _sources(1e6, 1.0)
    f = sparse_frequency_grid(sources, n=50, f_min=1e-4)
    with pytest.raises(ValueError, match="approximant"):
        mode_amplitude_phase(sources, f, approximant="SEOBNRv4")
    with pytest.raises(ValueError, match="modes"):
        mode_amplitude_phase(sources, f, modes=[(3, 3)])
    with pytest.raises(ValueError, match="end frequency"):
        mode_amplitude_phase(sources, f * 2)
    with pytest.raises(ValueError, match="increase"):
        mode_amplitude_phase(sources, f[:, ::-1])
    with pytest.raises(ValueError, match="mass_ratio"):
        MBHBSources.from_total_mass_ratio(1e36, 2.0, chi1=0, chi2=0, redshift=1)


def test_sparse_grid_is_refined_to_unwrap_the_phase():
    sources = _sources(1e6, 1.0)
    f_end = sparse_frequency_grid(sources, n=50, f_min=1e-4)[0, -1]
    coarse = np.geomspace(1e-5, f_end, 5)
    fine = np.geomspace(1e-5, f_end, 201)  # holds the 5 coarse nodes
    few = mode_amplitude_phase(sources, coarse)[(2, 2)]
    many = mode_amplitude_phase(sources, fine)[(2, 2)]
    # thousands of radians between coarse nodes: unwrapped through refined
    # points, the same phase as on the dense grid (rounding of ~1e5 rad)
    assert np.max(np.abs(np.diff(many.phase[0][::50]))) > 1e3
    np.testing.assert_allclose(few.phase[0], many.phase[0][::50], atol=1e-6)
    # without the refinement the coarse grid is refused
    values = np.exp(1j * np.outer(many.phase[0][::50], [1, 1, 1]))
    with pytest.raises(ValueError, match="too sparse"):
        _unwrapped_phase(values, coarse, np.full(5, 1e-7))


def test_heavy_source_below_band_raises():
    sources = _sources([1e6, 1e9], 10.0)
    with pytest.raises(ValueError, match=r"1 source\(s\) end below.*source 1"):
        sparse_frequency_grid(sources, f_min=1e-4)


def test_grid_starts_at_observation_time():
    sources = _sources(1e5, 1.0)
    t_obs = 1 * u.yr
    f = sparse_frequency_grid(sources, n=300, f_min=1e-6, t_obs=t_obs)
    t = time_of_frequency(sources, f)[(2, 2)][0]
    # Newtonian start: within the PN corrections (~10 % in time at Mf ~ 1e-3)
    assert -t[0] == pytest.approx(t_obs.to_value(u.s), rel=0.1)


def test_calibration_warning_for_small_mass_ratio():
    sources = _sources(1e6, 1.0, q=0.02)
    f = sparse_frequency_grid(sources, n=100, f_min=1e-4)
    with pytest.warns(WaveformCalibrationWarning, match="1/18|0.0556"):
        mode_amplitude_phase(sources, f)


def test_phenomhm_modes_and_22_agree_with_phenomd_and_lisabeta():
    sources = _sources(2e6, 2.0)
    f = sparse_frequency_grid(sources, n=200, f_min=1e-5)
    hm = mode_amplitude_phase(sources, f, approximant="IMRPhenomHM")
    assert set(hm) == {(2, 2), (2, 1), (3, 3), (3, 2), (4, 4), (4, 3)}
    d = mode_amplitude_phase(sources, f)[(2, 2)]
    # IMRPhenomHM's 22 mode is IMRPhenomD (London et al. 2018): identical up to
    # rounding in lalsimulation; measured 1e-13 amplitude, 1e-6 rad phase
    np.testing.assert_allclose(hm[(2, 2)].amplitude, d.amplitude, rtol=1e-9)
    np.testing.assert_allclose(hm[(2, 2)].phase, d.phase, atol=1e-3)

    ref = lisabeta_hm.IMRPhenomHMhlmAmpPhase(
        np.ascontiguousarray(f[0]), *_lisabeta_inputs(sources)
    ).get_waveform()
    for lm, mode in hm.items():
        # the same model ported to C in lisabeta: measured <4e-7 relative
        np.testing.assert_allclose(mode.amplitude[0], ref[lm]["amp"], rtol=1e-5)
        assert np.allclose(ref[lm]["freq"], mode.frequency[0], rtol=1e-14)
        offset = mode.phase[0] - ref[lm]["phase"]
        # same alignment (orbital phase at f_ref, then the time shift): the
        # modes agree up to 2 pi k; measured |mean| 1e-4 rad, spread 6e-4 rad
        # (lalsimulation's finite-difference peak time vs lisabeta's)
        offset -= 2 * np.pi * np.round(np.mean(offset) / (2 * np.pi))
        assert abs(np.mean(offset)) < 1e-3
        assert np.ptp(offset) < 3e-3


def test_phenomxhm_runs_and_cuts_at_its_end():
    sources = _sources(1e6, 1.0)
    f = sparse_frequency_grid(sources, n=150, f_min=1e-4)
    xhm = mode_amplitude_phase(sources, f, approximant="IMRPhenomXHM")
    frame = detector_frame(sources)
    end = 0.3 / frame.total_mass_seconds[0]
    for mode in xhm.values():
        past = mode.frequency[0] * (1 + 1e-6) >= end
        assert np.all(mode.amplitude[0][past] == 0)
        assert np.all(mode.amplitude[0][~past] > 0)
        assert np.all(np.isfinite(mode.phase[0]))


def test_batch_equals_single_sources():
    sources = _sources([1e5, 1e7], [1.0, 4.0])
    f = sparse_frequency_grid(sources, n=100, f_min=3e-5)
    batch = mode_amplitude_phase(sources, f)[(2, 2)]
    single = _sources(1e7, 4.0)
    one = mode_amplitude_phase(single, f[1:])[(2, 2)]
    # identical computation per source
    np.testing.assert_allclose(batch.phase[1], one.phase[0], rtol=1e-12)

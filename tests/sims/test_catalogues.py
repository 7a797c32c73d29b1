"""Tests for simfer.sims.catalogues (Kupfer et al. 2018 verification binaries)."""

import re
from importlib import resources

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import BarycentricTrueEcliptic, SkyCoord

from simfer.sims.catalogues import (
    VERIFICATION_BINARIES_FILE,
    load_verification_binaries,
)

EXPECTED_UNITS = {
    "period": u.s,
    "m_1": u.Msun,
    "m_2": u.Msun,
    "distance": u.pc,
    "inclination": u.deg,
    "l": u.deg,
    "b": u.deg,
    "f_gw": u.Hz,
    "chirp_mass": u.Msun,
    "ecliptic_lon": u.deg,
    "ecliptic_lat": u.deg,
}


@pytest.fixture(scope="module")
def vbs():
    return load_verification_binaries()


def _row(table, name):
    (index,) = np.flatnonzero(table["name"] == name)
    return table[index]


def test_columns_and_units(vbs):
    for column, unit in EXPECTED_UNITS.items():
        assert isinstance(vbs[column], u.Quantity), column
        assert vbs[column].unit == unit, column
    for column in ("name", "source_type", "snr_lisa_4yr", "notes"):
        assert column in vbs.colnames


def test_sixteen_systems_with_published_snr(vbs):
    # Kupfer et al. (2018) abstract: SNR predictions are given for 16 systems.
    assert len(vbs) == 16
    assert len(set(vbs["name"])) == 16
    assert set(vbs["source_type"]) == {"AM CVn", "detached DWD", "sdB+WD"}


@pytest.mark.parametrize(
    ("name", "period_s", "tolerance_s"),
    [
        ("HM Cnc", 321.529, 1e-6),  # Kupfer et al. 2018, Table 1: 321.529 s
        ("V407 Vul", 569.4, 0.01),  # Table 1: 569.4 s (last digit not cross-checked)
        ("SDSS J065133.34+284423.4", 765.5, 1e-6),  # Table 1: 765.5 s
    ],
)
def test_published_periods(vbs, name, period_s, tolerance_s):
    assert _row(vbs, name)["period"].to_value(u.s) == pytest.approx(
        period_s, abs=tolerance_s
    )


def test_published_parameters_hm_cnc(vbs):
    hm_cnc = _row(vbs, "HM Cnc")
    # Kupfer et al. 2018, Tables 1-2: m1 0.55, m2 0.27 Msun, i 38 deg, SNR(4 yr) 211.1;
    # no Gaia DR2 parallax, so the paper adopts 5 kpc. Exact transcriptions.
    assert hm_cnc["m_1"].to_value(u.Msun) == pytest.approx(0.55, abs=1e-12)
    assert hm_cnc["m_2"].to_value(u.Msun) == pytest.approx(0.27, abs=1e-12)
    assert hm_cnc["inclination"].to_value(u.deg) == pytest.approx(38.0, abs=1e-12)
    assert hm_cnc["snr_lisa_4yr"] == pytest.approx(211.1, abs=1e-9)
    assert hm_cnc["distance"].to_value(u.pc) == pytest.approx(5000.0, abs=1e-9)
    assert hm_cnc["distance_flag"] == "assumed"


def test_published_snr_spot_values(vbs):
    # Kupfer et al. 2018, Table 2, 4-yr SNR; exact transcriptions.
    assert _row(vbs, "V407 Vul")["snr_lisa_4yr"] == pytest.approx(169.7, abs=1e-9)
    assert _row(vbs, "AM CVn")["snr_lisa_4yr"] == pytest.approx(101.2, abs=1e-9)
    assert _row(vbs, "CD-30 11223")["snr_lisa_4yr"] == pytest.approx(4.9, abs=1e-9)


def test_derived_frequency_and_chirp_mass_hm_cnc(vbs):
    hm_cnc = _row(vbs, "HM Cnc")
    # By hand: f = 2 / 321.529 s = 6.2202787e-3 Hz (rounding in the last digit).
    assert hm_cnc["f_gw"].to_value(u.Hz) == pytest.approx(6.2202787e-3, rel=1e-7)
    # By hand: (0.55*0.27)^0.6 = 0.1485^0.6 = 0.318446; 0.82^0.2 = 0.961087;
    # ratio 0.331339 Msun (6 significant figures carried).
    assert hm_cnc["chirp_mass"].to_value(u.Msun) == pytest.approx(0.331339, rel=2e-6)


def test_derived_columns_consistent_for_all_rows(vbs):
    # f = 2/P and Mc = (m1 m2)^(3/5) (m1+m2)^(-1/5) hold row by row (float64 roundoff).
    period = vbs["period"].to_value(u.s)
    m_1 = vbs["m_1"].to_value(u.Msun)
    m_2 = vbs["m_2"].to_value(u.Msun)
    np.testing.assert_allclose(vbs["f_gw"].to_value(u.Hz), 2.0 / period, rtol=1e-14)
    np.testing.assert_allclose(
        vbs["chirp_mass"].to_value(u.Msun),
        (m_1 * m_2) ** 0.6 / (m_1 + m_2) ** 0.2,
        rtol=1e-14,
    )


def test_ecliptic_position_of_hm_cnc(vbs):
    hm_cnc = _row(vbs, "HM Cnc")
    # Optical position of HM Cnc = RX J0806.3+1527, 08h06m23s +15d27m31s (ICRS,
    # rounded to the arcsecond); the X-ray name itself encodes 08h06.3m +15d27m.
    known = SkyCoord("08h06m23s", "+15d27m31s", frame="icrs").transform_to(
        BarycentricTrueEcliptic()
    )
    assert hm_cnc["ecliptic_lon"].to_value(u.deg) == pytest.approx(
        known.lon.deg, abs=0.1
    )
    assert hm_cnc["ecliptic_lat"].to_value(u.deg) == pytest.approx(
        known.lat.deg, abs=0.1
    )


def test_flags_mark_assumptions(vbs):
    # Kupfer et al. 2018 adopt a 0.8 Msun accretor and i = 60 deg where unmeasured.
    assumed_m1 = vbs["m_1_flag"] == "assumed"
    np.testing.assert_allclose(vbs["m_1"][assumed_m1].to_value(u.Msun), 0.8, atol=1e-12)
    assumed_i = vbs["inclination_flag"] == "assumed"
    np.testing.assert_allclose(
        vbs["inclination"][assumed_i].to_value(u.deg), 60.0, atol=1e-12
    )
    assert _row(vbs, "AM CVn")["m_1_flag"] == "measured"


def test_agrees_with_legwork_transcription(vbs):
    # Independent transcription of the same tables, shipped by LEGWORK (Wagg+ 2022).
    pytest.importorskip("legwork")
    data = np.load(
        resources.files("legwork") / "verification_binaries.npy", allow_pickle=True
    ).item()
    labels = [label.replace("\u2013", "-") for label in data["label"]]
    assert sorted(labels) == sorted(vbs["name"])

    order = [int(np.flatnonzero(vbs["name"] == label)[0]) for label in labels]
    ours = vbs[order]
    for ours_column, theirs_key, unit in [
        ("m_1", "m_1", u.Msun),
        ("m_2", "m_2", u.Msun),
        ("distance", "dist", u.pc),
        ("inclination", "i", u.deg),
        ("l", "l_gal", u.deg),
        ("b", "b_gal", u.deg),
    ]:
        # Same published digits: agreement to float64 roundoff.
        np.testing.assert_allclose(
            ours[ours_column].to_value(unit),
            data[theirs_key].to_value(unit),
            rtol=1e-12,
            err_msg=ours_column,
        )
    np.testing.assert_allclose(ours["snr_lisa_4yr"], data["snr"], rtol=1e-12)
    # LEGWORK gives f_GW rounded to 0.01 mHz: our 2/P must round to the same value.
    np.testing.assert_allclose(
        ours["f_gw"].to_value(u.mHz), data["f_GW"].to_value(u.mHz), atol=0.005
    )


def test_missing_file_names_the_file(tmp_path):
    missing = tmp_path / VERIFICATION_BINARIES_FILE
    with pytest.raises(FileNotFoundError, match=re.escape(VERIFICATION_BINARIES_FILE)):
        load_verification_binaries(missing)


def test_corrupt_file_names_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.ecsv"
    corrupt.write_text("# %ECSV 1.0\n# ---\n# datatype: [this is not\nname\n")
    with pytest.raises(ValueError, match=re.escape("corrupt.ecsv")):
        load_verification_binaries(corrupt)


def test_missing_column_is_reported(tmp_path):
    table = load_verification_binaries()
    table.remove_columns(["f_gw", "chirp_mass", "ecliptic_lon", "ecliptic_lat", "m_2"])
    truncated = tmp_path / "no_m2.ecsv"
    table.write(truncated, format="ascii.ecsv")
    with pytest.raises(ValueError, match="m_2"):
        load_verification_binaries(truncated)


def test_non_physical_value_is_reported(tmp_path):
    table = load_verification_binaries()
    table.remove_columns(["f_gw", "chirp_mass", "ecliptic_lon", "ecliptic_lat"])
    table["distance"][0] = -1.0 * u.pc
    bad = tmp_path / "negative_distance.ecsv"
    table.write(bad, format="ascii.ecsv")
    with pytest.raises(ValueError, match="distance"):
        load_verification_binaries(bad)

"""Tests of simfer.sims.lisa_response: orbits, transfers, agreement with lisabeta."""

import numpy as np
import pytest

from simfer.sims import lisa_response as lr

YEAR = lr.SIDEREAL_YEAR
ANGLES = dict(inclination=0.8, phi_ref=0.4, lambda_ecl=1.2, beta_ecl=0.4, psi=0.7)


def _transfer(f, t, ell=2, m=2, **options):
    return lr.tdi_transfer_functions(
        f, t, ell, m, *ANGLES.values(), **options
    )  # fmt: skip


@pytest.mark.parametrize("mode", [(2, 2), (2, 1), (3, 3), (3, -2), (4, 4), (5, 5)])
def test_spin_weighted_harmonics_match_lal(mode):
    lal = pytest.importorskip("lal")
    theta, phi = 0.7, 0.3
    ours = complex(lr.spin_weighted_spherical_harmonic(*mode, theta, phi))
    ref = lal.SpinWeightedSphericalHarmonic(theta, phi, -2, *mode)
    # Same closed formula as LAL: agreement to double-precision rounding.
    assert abs(ours - ref) < 1e-14


def test_orbit_is_rigid_equal_arm_triangle():
    t = np.linspace(0.0, YEAR, 101)
    centre, offsets = lr.lisa_orbit(t)
    centre, offsets = np.asarray(centre), np.asarray(offsets)
    for i, j in [(0, 1), (1, 2), (2, 0)]:
        arm = np.linalg.norm(offsets[:, i] - offsets[:, j], axis=-1)
        # Analytic rigid triangle: arms equal L up to rounding.
        np.testing.assert_allclose(arm, lr.LISA_ARM_LENGTH, rtol=1e-12)
    # Centre on a 1 au circle in the ecliptic plane.
    np.testing.assert_allclose(
        np.linalg.norm(centre, axis=-1), lr.ASTRONOMICAL_UNIT, rtol=1e-12
    )
    normal = np.cross(offsets[:, 1] - offsets[:, 0], offsets[:, 2] - offsets[:, 0])
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    # Detector plane inclined by 60 deg to the ecliptic (cos = 1/2), exactly.
    np.testing.assert_allclose(np.abs(normal[:, 2]), 0.5, atol=1e-12)
    # Centre of mass of the spacecraft is p0.
    np.testing.assert_allclose(offsets.sum(axis=1), 0.0, atol=1e-3)


def test_response_is_periodic_in_one_year():
    f = np.geomspace(1e-4, 5e-2, 50)
    t = np.linspace(-3e7, 3e7, 50)
    a, da = _transfer(f, t)
    b, db = _transfer(f, t + YEAR)
    # Orbits have exactly one sidereal year period; rounding of Omega t ~ 1e-9.
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.asarray(db), np.asarray(da), rtol=0, atol=1e-8)


def test_symmetries():
    f = np.geomspace(1e-4, 5e-2, 40)
    t = np.linspace(-1e7, 0.0, 40)
    base = np.asarray(_transfer(f, t)[0])
    # psi enters only through exp(+-2 i psi): psi -> psi + pi is the same wave.
    turned = lr.tdi_transfer_functions(
        f, t, 2, 2, 0.8, 0.4, 1.2, 0.4, 0.7 + np.pi
    )[0]  # fmt: skip
    np.testing.assert_allclose(np.asarray(turned), base, rtol=0, atol=1e-12)
    # The 22 mode's Y_2+-2 carry exp(+-2 i phi): phi -> phi + pi leaves it unchanged.
    shifted = lr.tdi_transfer_functions(
        f, t, 2, 2, 0.8, 0.4 + np.pi, 1.2, 0.4, 0.7
    )[0]  # fmt: skip
    np.testing.assert_allclose(np.asarray(shifted), base, rtol=0, atol=1e-12)
    # Second generation is first generation times (1 - z^4), z = exp(2 pi i f L/c).
    second = np.asarray(_transfer(f, t, generation=2)[0])
    z = np.exp(2j * np.pi * f * lr.LISA_ARM_LENGTH / lr.SPEED_OF_LIGHT)
    np.testing.assert_allclose(second, base * (1 - z**4), rtol=1e-12, atol=0)
    # A, E, T follow from X, Y, Z with the LDC combinations.
    x, y, zz = np.asarray(_transfer(f, t, tdi="XYZ")[0])
    np.testing.assert_allclose(base[0], (zz - x) / np.sqrt(2), rtol=1e-10)
    np.testing.assert_allclose(base[1], (x - 2 * y + zz) / np.sqrt(6), rtol=1e-10)
    np.testing.assert_allclose(base[2], (x + y + zz) / np.sqrt(3), atol=1e-10)


def test_long_wavelength_limit_of_full_response():
    t = np.zeros(2)
    f = np.array([1e-5, 1e-4])
    full = np.asarray(_transfer(f, t)[0])
    low = np.asarray(_transfer(f, t, approximation="long_wavelength")[0])
    rel = np.abs(low[:2] - full[:2]) / np.abs(full[:2])
    x = np.pi * f * lr.LISA_ARM_LENGTH / lr.SPEED_OF_LIGHT
    # Leading order kept: A, E relative error O(x), the dropped phases being
    # exp(i c x) with c up to ~5 (x = 2.6e-4, 2.6e-3 here; measured 4.7 x).
    assert np.all(rel < 6 * x)
    # ... and it scales linearly with x (ratio 10 for 10x the frequency).
    assert np.all((rel[:, 1] / rel[:, 0] > 5) & (rel[:, 1] / rel[:, 0] < 20))
    # T vanishes at this order; in the full response it is O(x^2) below A, E.
    assert np.all(low[2] == 0)
    assert np.all(np.abs(full[2]) < 10 * x**2 * np.abs(full[:2]).max(axis=0))


def test_spline_reproduces_cubics_and_batch_matches_single():
    f = np.geomspace(1e-4, 1e-2, 30)
    n = f.size
    amplitude = np.stack([1 + f * 3e2 - (f * 1e2) ** 3, 2 - f * 1e2])
    phase = np.stack([5 + 1e4 * f + 3e5 * f**2 - 1e7 * f**3, 1e4 * f])
    t_of_f = np.stack([np.linspace(-1e7, 0, n), np.linspace(-2e7, 0, n)])
    modes = ((2, 2), (3, 3))
    one = lr.tdi_response(f, amplitude, phase, t_of_f, modes, *ANGLES.values())
    f_out = np.linspace(f[0], f[-1], 200)
    camp_a = lr.interpolate_tdi(one._replace(phase=one.phase * 0), f_out)
    assert camp_a.shape == (3, 200)
    # A not-a-knot spline reproduces a cubic exactly: check on the phase alone.
    only_phase = lr.SparseTDI(
        one.frequencies[:1], np.ones_like(one.complex_amplitude[:1]), one.phase[:1]
    )
    doppler = one.phase[0] - phase[0]
    cubic = lr.SparseTDI(only_phase.frequencies, only_phase.complex_amplitude,
                         only_phase.phase - doppler)  # fmt: skip
    got = np.angle(np.asarray(lr.interpolate_tdi(cubic, f_out))[0])
    want = 5 + 1e4 * f_out + 3e5 * f_out**2 - 1e7 * f_out**3
    # Exact for cubics up to rounding of phases ~ 1e2 rad.
    np.testing.assert_allclose(np.angle(np.exp(1j * (got - want))), 0, atol=1e-9)

    batch = lr.tdi_response(
        np.stack([f, f * 1.1]), np.stack([amplitude] * 2), np.stack([phase] * 2),
        np.stack([t_of_f] * 2), modes, *[np.array([v, v + 0.1]) for v in
                                         ANGLES.values()], t0=np.array([0.0, 1e6]),
    )  # fmt: skip
    second = lr.tdi_response(
        f * 1.1, amplitude, phase, t_of_f, modes,
        *[v + 0.1 for v in ANGLES.values()], t0=1e6,
    )  # fmt: skip
    # vmapped batch reproduces single-source calls to rounding.
    np.testing.assert_allclose(batch.complex_amplitude[1], second.complex_amplitude,
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(batch.phase[0], one.phase, rtol=1e-13)
    out = lr.interpolate_tdi(batch, f_out)
    assert out.shape == (2, 3, 200)


def test_bad_inputs_are_rejected():
    f = np.geomspace(1e-4, 1e-2, 10)
    with pytest.raises(ValueError, match="tdi"):
        _transfer(f, f * 0, tdi="ABC")
    with pytest.raises(ValueError, match="generation"):
        _transfer(f, f * 0, generation=3)
    with pytest.raises(ValueError, match="approximation"):
        _transfer(f, f * 0, approximation="lowf")
    with pytest.raises(ValueError, match="mode"):
        _transfer(f, f * 0, ell=2, m=-2)
    with pytest.raises(ValueError, match="t_of_f"):
        _transfer(f, f[:5])
    with pytest.raises(ValueError, match="amplitude"):
        lr.tdi_response(f, np.ones((2, 10)), np.ones((2, 10)), np.ones((2, 10)),
                        ((2, 2),), *ANGLES.values())  # fmt: skip


# --- comparison with lisabeta (test-only dependency) -------------------------

OPTIONS = [
    (tdi, approx, resc)
    for tdi in ("TDIAET", "TDI2AET", "TDIXYZ")
    for approx in ("full", "lowfL")
    for resc in (False, True)
    # lisabeta's unrescaled TDI2 long-wavelength factor is 32 x^2 (its lowf
    # expansion multiplies -2i*4x by 4ix); the leading order of 1 - z^4 is -8ix.
    if not (tdi == "TDI2AET" and approx == "lowfL" and not resc)
]


@pytest.mark.parametrize(("tdi", "approx", "rescaled"), OPTIONS)
def test_transfer_functions_match_lisabeta(tdi, approx, rescaled):
    pytest.importorskip("lisabeta", reason="lisabeta not installed")
    from lisabeta.lisa import pyresponse

    f = np.geomspace(2e-5, 0.2, 200)
    t_of_f = np.linspace(-4e7, 1e3, 200)
    kw = dict(
        tdi=tdi[-3:], generation=2 if tdi.startswith("TDI2") else 1,
        approximation="full" if approx == "full" else "long_wavelength",
        rescaled=rescaled, t0=0.3 * YEAR,
    )  # fmt: skip
    for ell, m in [(2, 2), (2, 1), (3, 3), (4, 3)]:
        ours, doppler = _transfer(f, t_of_f, ell, m, **kw)
        ref = pyresponse.LISAFDresponseTDI3Chan(
            f, t_of_f, 0.3, ell, m, *ANGLES.values(), TDI=tdi,
            responseapprox=approx, TDIrescaled=rescaled,
        ).get_response()  # fmt: skip
        ours = np.asarray(ours)
        scale = np.abs(np.asarray(ref[1:])).max()
        # Same formulas evaluated independently: agreement to rounding.
        np.testing.assert_allclose(ours, np.asarray(ref[1:]), rtol=0,
                                   atol=1e-12 * scale)  # fmt: skip
        np.testing.assert_allclose(np.asarray(doppler), ref[0], rtol=0, atol=1e-9)


# Five sources, total mass 1e5-1e7 Msun, spread over the sky; time to merger limited
# so that the uniform check grid (df = 1 / (2 duration)) stays below ~2.5e5 points.
SOURCES = [
    (dict(m1=7.5e4, m2=2.5e4, chi1=0.2, chi2=0.1, inc=0.3, phi=1.1, beta=-0.9,
          psi=0.2, **{"lambda": 0.4}), 0.003),
    (dict(m1=6e5, m2=2e5, chi1=0.3, chi2=-0.2, inc=0.8, phi=0.4, beta=0.4,
          psi=0.7, **{"lambda": 1.2}), 0.02),
    (dict(m1=2e6, m2=1e6, chi1=0.6, chi2=0.5, inc=1.7, phi=2.3, beta=1.1,
          psi=2.0, **{"lambda": 3.5}), 0.05),
    (dict(m1=4e6, m2=1e6, chi1=-0.4, chi2=0.0, inc=2.6, phi=5.0, beta=-0.2,
          psi=1.3, **{"lambda": 5.4}), 0.1),
    (dict(m1=8e6, m2=2e6, chi1=0.9, chi2=0.8, inc=1.2, phi=0.0, beta=0.05,
          psi=2.9, **{"lambda": 2.2}), 0.2),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("params", "time_to_merger"), SOURCES)
def test_end_to_end_matches_lisabeta(params, time_to_merger):
    pytest.importorskip("lisabeta", reason="lisabeta not installed")
    import lisabeta.lisa.lisa as lisa
    from lisabeta.lisa import pyLISAnoise

    params = dict(params, Deltat=0.0, dist=3e4)
    kw = dict(approximant="IMRPhenomHM", TDIrescaled=True, t0=0.1,
              timetomerger_max=time_to_merger)  # fmt: skip
    # A common 22 grid makes all modes the same length (lisabeta scales it by m/2).
    grid = lisa.GenerateLISATDI_SMBH(params, **kw)[(2, 2)]["freq"]
    signal = lisa.GenerateLISATDISignal_SMBH(params, gridfreq=grid, **kw)
    wf = signal["wftdi"]
    modes = tuple(wf["modes"])

    def stack(key):
        return np.array([wf[lm][key] for lm in modes])

    sparse = lr.tdi_response(
        stack("freq"), stack("amp"), stack("phase"), stack("tf"), modes,
        params["inc"], params["phi"], params["lambda"], params["beta"],
        params["psi"], t0=0.1 * YEAR, rescaled=True,
    )  # fmt: skip
    duration = -stack("tf")[:, 0].min()
    df = 1 / (2 * duration)
    f = np.arange(stack("freq")[:, 0].min(), stack("freq")[:, -1].max(), df)
    ours = np.asarray(lr.interpolate_tdi(sparse, f))
    series = lisa.EvaluateTDIFreqseries(signal["tdi"], f)
    ref = np.array([sum(series[lm][f"chan{c}"] for lm in modes) for c in (1, 2, 3)])

    noise = pyLISAnoise.initialize_noise(
        pyLISAnoise.LISAnoiseSciRDv1, TDI="TDIAET", TDIrescaled=True
    )
    psd = np.array(pyLISAnoise.evaluate_noise(noise, f, TDI="TDIAET", TDIrescaled=True))

    def inner(a, b):
        return 4 * df * np.real(np.sum(a * np.conj(b) / psd))

    mismatch = 1 - inner(ours, ref) / np.sqrt(inner(ours, ours) * inner(ref, ref))
    snr = np.sqrt(inner(ours, ours))
    # Issue requirement: mismatch < 1e-3 (measured ~1e-16) with lisabeta's own
    # splines of its own response on the same grid.
    assert mismatch < 1e-3
    # Issue requirement: SNR within 2 % of lisabeta's Fresnel-overlap SNR
    # (measured within 3e-5).
    assert abs(snr / signal["SNR"] - 1) < 0.02

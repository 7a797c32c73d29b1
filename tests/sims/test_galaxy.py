"""Tests of simfer.sims.galaxy: structure, sampling, coordinates, star formation."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import (
    BarycentricTrueEcliptic,
    CartesianRepresentation,
    Galactic,
    SkyCoord,
)
from scipy import stats
from scipy.integrate import quad, simpson

from simfer.sims import galaxy as g

MW = g.MCMILLAN_2017
N = 200_000
# With a fixed seed each KS p-value is a fixed number; 1e-3 rejects a wrong
# distribution of this size (N = 2e5 resolves CDF differences of ~0.4%).
P_MIN = 1e-3


def _wrap(angle):
    return np.angle(np.exp(1j * angle))


@pytest.mark.parametrize("name", ["thin_disc", "thick_disc"])
def test_disc_positions_follow_exponential_profiles(name):
    disc = MW.component(name)
    xyz = disc.sample_positions(N, np.random.default_rng(11)).to_value(u.kpc)
    R, z = np.hypot(xyz[0], xyz[1]), xyz[2]
    r_d = disc.scale_length.to_value(u.kpc)
    z_d = disc.scale_height.to_value(u.kpc)

    # maximum-likelihood scales: R_d = <R>/2 (Gamma(2)), z_d = <|z|> (Laplace);
    # relative standard errors 0.71/sqrt(N) and 1/sqrt(N) = 0.16% and 0.22%: 5 sigma
    assert R.mean() / 2 == pytest.approx(r_d, rel=5 * 0.71 / np.sqrt(N))
    assert np.abs(z).mean() == pytest.approx(z_d, rel=5 / np.sqrt(N))
    assert stats.kstest(R, stats.gamma(2, scale=r_d).cdf).pvalue > P_MIN
    assert stats.kstest(z, stats.laplace(scale=z_d).cdf).pvalue > P_MIN
    # azimuthal symmetry: <x> and <y> vanish within 5 standard errors
    assert abs(xyz[0].mean()) < 5 * xyz[0].std() / np.sqrt(N)
    assert abs(xyz[1].mean()) < 5 * xyz[1].std() / np.sqrt(N)


def test_bulge_positions_follow_its_density():
    bulge = MW.component("bulge")
    q = bulge.axis_ratio
    xyz = bulge.sample_positions(N, np.random.default_rng(12)).to_value(u.kpc)
    m = np.hypot(np.hypot(xyz[0], xyz[1]), xyz[2] / q)

    r0 = bulge.scale_radius.to_value(u.kpc)
    rc = bulge.cutoff_radius.to_value(u.kpc)

    def shell(x):
        return x * x * (1 + x / r0) ** -bulge.alpha * np.exp(-((x / rc) ** 2))

    norm = quad(shell, 0, 20 * rc, points=[r0, rc], epsrel=1e-12)[0]

    def cdf(values):
        return np.array(
            [quad(shell, 0, v, points=[r0], epsrel=1e-10)[0] for v in values]
        )

    probe = np.sort(m)[:: N // 400]
    # KS statistic on a 400-point subsample of the sorted values (exact CDF by
    # quadrature is slow); D_crit(p=1e-3, N=2e5) = 1.95/sqrt(N) = 0.0044
    empirical = np.searchsorted(np.sort(m), probe, side="right") / N
    assert np.max(np.abs(empirical - cdf(probe) / norm)) < 1.95 / np.sqrt(N)
    # isotropy before flattening: <|z|>/<|x|> = q; relative std of each mean
    # ~1.2/sqrt(N), 5 sigma on the ratio
    ratio = np.abs(xyz[2]).mean() / np.abs(xyz[0]).mean()
    assert ratio == pytest.approx(q, rel=5 * 1.7 / np.sqrt(N))


def test_component_masses():
    thin, thick, bulge = (MW.component(n) for n in ("thin_disc", "thick_disc", "bulge"))
    # closed form 2 pi Sigma0 R_d^2 of an exponential disc: rounding only
    for disc in (thin, thick):
        closed = 2 * np.pi * disc.surface_density * disc.scale_length**2
        assert disc.stellar_mass.to_value(u.Msun) == pytest.approx(
            closed.to_value(u.Msun), rel=1e-12
        )
    # McMillan's (2017) best-fit discs: 3.52e10 and 1.05e10 Msun to 3 digits
    assert thin.stellar_mass.to_value(u.Msun) == pytest.approx(3.52e10, rel=2e-3)
    assert thick.stellar_mass.to_value(u.Msun) == pytest.approx(1.05e10, rel=5e-3)

    # independent check: integrate each density over volume with Simpson's rule
    # on geometric (R, z) grids [kpc] (grid error ~1e-8, truncated tails < 1e-9)
    for comp, r_max, z_max in ((thin, 60, 12), (thick, 70, 30), (bulge, 25, 15)):
        R = np.concatenate([[0.0], np.geomspace(1e-6, r_max, 3000)])
        z = np.concatenate([[0.0], np.geomspace(1e-6, z_max, 3000)])
        rho = comp.density(R[:, None] * u.kpc, z[None, :] * u.kpc)
        column = simpson(rho.to_value(u.Msun / u.kpc**3), x=z, axis=1)
        mass = simpson(4 * np.pi * R * column, x=R)  # 2 pi R dR, twice for z < 0
        assert comp.stellar_mass.to_value(u.Msun) == pytest.approx(mass, rel=1e-6)
    assert MW.stellar_mass == sum(c.stellar_mass for c in MW.components)


@pytest.mark.parametrize("name", ["thin_disc", "thick_disc", "bulge"])
def test_sky_positions_match_astropy(name):
    xyz = MW.component(name).sample_positions(1000, 21)
    ours = g.sky_positions(xyz, MW.sun, chunk_size=300)
    coord = SkyCoord(CartesianRepresentation(xyz), frame=MW.sun.frame())
    gal = coord.transform_to(Galactic())
    ecl = coord.transform_to(BarycentricTrueEcliptic())
    # chunked conversion vs one astropy call on all points: identical arithmetic,
    # the brief asks for 1e-9 rad
    assert np.max(np.abs(_wrap(ours.l.value - gal.l.rad))) < 1e-9
    assert np.max(np.abs(ours.b.value - gal.b.rad)) < 1e-9
    assert np.max(np.abs(_wrap(ours.lon_ecl.value - ecl.lon.rad))) < 1e-9
    assert np.max(np.abs(ours.lat_ecl.value - ecl.lat.rad)) < 1e-9
    np.testing.assert_allclose(ours.distance, gal.distance, rtol=1e-12)


def test_sky_positions_match_plain_geometry():
    # Independent route: the Sun sits at (-sqrt(d^2 - z^2), 0, z_sun); a rotation
    # about y by asin(z_sun / d) turns the Sun -> centre line into l = b = 0.
    xyz = MW.component("thin_disc").sample_positions(2000, 4).to_value(u.kpc)
    d, z_sun = 8.122, 0.0208
    helio = xyz - np.array([[-np.sqrt(d**2 - z_sun**2)], [0.0], [z_sun]])
    sin_t, cos_t = z_sun / d, np.sqrt(1 - (z_sun / d) ** 2)
    rot = np.array([[cos_t, 0, -sin_t], [0, 1, 0], [sin_t, 0, cos_t]])
    x, y, z = rot @ helio
    ours = g.sky_positions(xyz * u.kpc)
    distance = np.sqrt(x**2 + y**2 + z**2)
    np.testing.assert_allclose(ours.distance.to_value(u.kpc), distance, rtol=1e-12)
    # astropy's galcen_coord is the (0, 0) direction only to ~1e-4 deg = 2e-6 rad
    assert np.max(np.abs(_wrap(ours.l.value - np.arctan2(y, x)))) < 1e-5
    assert np.max(np.abs(ours.b.value - np.arctan2(z, np.hypot(x, y)))) < 1e-5


def test_galactic_centre_seen_from_the_sun():
    centre = g.sky_positions(np.zeros((3, 1)) * u.kpc)
    # the Galactocentric frame puts the Sun at galcen_distance from the origin
    assert centre.distance[0].to_value(u.kpc) == pytest.approx(8.122, rel=1e-12)
    # astropy's galcen_coord is the (l, b) = (0, 0) direction to ~1e-4 deg
    assert abs(_wrap(centre.l[0].to_value(u.rad))) < np.deg2rad(1e-3)
    assert abs(centre.b[0].to_value(u.deg)) < 1e-3
    # astropy places the Sun at (-sqrt(d^2 - z_sun^2), 0, z_sun): zero distance
    x_sun = -np.sqrt(8.122**2 - 0.0208**2)
    sun = g.sky_positions(np.array([[x_sun], [0.0], [0.0208]]) * u.kpc)
    assert sun.distance[0].to_value(u.kpc) < 1e-12  # rounding of 8 kpc numbers

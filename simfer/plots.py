"""Figures of detectors and sources, returned as matplotlib figures.

Nothing here writes files: the workflow runner saves the figures it is given, and
notebook users show them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

# Figures are built with matplotlib's object API (no pyplot), so importing simfer
# never touches the user's backend, and nothing is left open in pyplot's registry.

__all__ = [
    "coverage_plot",
    "plot_characteristic_strain",
    "plot_errors_vs_redshift",
    "plot_fisher_ellipses",
    "plot_histograms",
    "plot_magnitude_period",
    "plot_signal_and_noise",
    "plot_sky_map",
    "posterior_corner",
]

_DETECTOR_COLOURS = {"LISA": "tab:blue", "TianQin": "tab:orange"}


def plot_characteristic_strain(
    detectors: Sequence,
    *,
    frequency: np.ndarray | None = None,
    characteristic_strain: np.ndarray | None = None,
    highlight: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    f_range: tuple[float, float] = (1e-5, 1.0),
    title: str = "",
    legend: tuple[str, str] = ("detected", "not detected"),
) -> Figure:
    """Sensitivity curves h_n = sqrt(f S_n(f)) with sources drawn over them.

    Parameters
    ----------
    detectors : sequence of simfer.sims.detectors.Detector
        Curves to draw.
    frequency : array, optional
        Gravitational-wave frequencies of the sources [Hz].
    characteristic_strain : array, optional
        Characteristic strain of the sources, h_c = sqrt(f T) h (dimensionless),
        so that a source's height above a curve is its signal-to-noise ratio for
        that observing time.
    highlight : bool array, optional
        Sources drawn emphasised (for example those detected).
    labels : sequence of str, optional
        Names written beside the sources (used for short catalogues only).
    f_range : tuple of float
        Frequency range of the curves [Hz].
    title : str
        Figure title.
    legend : tuple of str
        Legend labels of the highlighted and the other sources.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure = Figure(figsize=(7.5, 5.0), layout="constrained")
    axes = figure.subplots()
    curve_frequency = np.geomspace(*f_range, 2000)
    for detector in detectors:
        strain = np.asarray(detector.characteristic_strain(curve_frequency))
        axes.loglog(
            curve_frequency,
            strain,
            color=_DETECTOR_COLOURS.get(detector.name),
            label=f"{detector.name} ({detector.t_obs / 3.15576e7:g} yr)",
        )

    if frequency is not None and characteristic_strain is not None:
        frequency = np.asarray(frequency)
        characteristic_strain = np.asarray(characteristic_strain)
        if highlight is None:
            highlight = np.ones(frequency.shape, dtype=bool)
        axes.scatter(
            frequency[~highlight],
            characteristic_strain[~highlight],
            s=2,
            color="0.6",
            alpha=0.5,
            rasterized=True,
            label=legend[1] if (~highlight).any() else None,
        )
        axes.scatter(
            frequency[highlight],
            characteristic_strain[highlight],
            s=12 if labels is not None else 3,
            color="crimson",
            rasterized=True,
            label=legend[0] if highlight.any() and (~highlight).any() else "sources",
        )
        if labels is not None:
            # neighbours in frequency get labels on alternating sides and heights,
            # so that clustered sources stay readable
            order = np.argsort(frequency)
            for rank, index in enumerate(order):
                dx, dy = ((4, 3), (-4, -8), (4, -8), (-4, 3))[rank % 4]
                axes.annotate(
                    labels[index],
                    (frequency[index], characteristic_strain[index]),
                    fontsize=6,
                    xytext=(dx, dy),
                    textcoords="offset points",
                    ha="left" if dx > 0 else "right",
                )

    axes.set_xlim(*f_range)
    axes.set_xlabel("gravitational-wave frequency [Hz]")
    axes.set_ylabel("characteristic strain")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)
    if title:
        axes.set_title(title)
    return figure


def plot_histograms(
    columns: Mapping[str, Mapping[str, np.ndarray]],
    *,
    log: Sequence[str] = (),
    title: str = "",
) -> Figure:
    """One panel per quantity, one histogram per group (for example per detector).

    Parameters
    ----------
    columns : mapping of str to mapping of str to array
        ``{panel label: {group label: values}}``.
    log : sequence of str
        Panels whose values are histogrammed in log10.
    title : str
        Figure title.
    """
    n_panels = len(columns)
    figure = Figure(figsize=(4.0 * n_panels, 3.4), layout="constrained")
    axes = figure.subplots(1, n_panels, squeeze=False)
    for ax, (panel, groups) in zip(axes[0], columns.items(), strict=True):
        finite = [np.asarray(v)[np.isfinite(v)] for v in groups.values()]
        if panel in log:
            finite = [np.log10(v[v > 0]) for v in finite]
        edges = np.histogram_bin_edges(np.concatenate(finite) if finite else [0], 40)
        for (group, _), values in zip(groups.items(), finite, strict=True):
            ax.hist(
                values,
                bins=edges,
                histtype="step",
                label=group,
                color=_DETECTOR_COLOURS.get(group),
            )
        ax.set_xlabel(f"log10 {panel}" if panel in log else panel)
        if any(len(values) for values in finite):
            ax.set_yscale("log")
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no sources", ha="center", transform=ax.transAxes)
    if title:
        figure.suptitle(title)
    return figure


def plot_sky_map(
    longitude: np.ndarray,
    latitude: np.ndarray,
    *,
    colour: np.ndarray | None = None,
    colour_label: str = "",
    title: str = "",
) -> Figure:
    """Sources on a Mollweide map of the sky.

    Parameters
    ----------
    longitude, latitude : array
        Sky coordinates [rad], e.g. Galactic l and b; longitude in [0, 2 pi).
    colour : array, optional
        Values to colour the points by (for example log10 SNR).
    colour_label : str
        Label of the colour bar.
    title : str
        Figure title.
    """
    figure = Figure(figsize=(7.5, 4.2), layout="constrained")
    axes = figure.add_subplot(projection="mollweide")
    wrapped = -(np.angle(np.exp(1j * np.asarray(longitude))))  # l increases leftwards
    points = axes.scatter(
        wrapped, latitude, c=colour, s=2, cmap="viridis", rasterized=True
    )
    if colour is not None:
        figure.colorbar(points, ax=axes, shrink=0.7, label=colour_label)
    # longitude increases to the left (astronomical convention): label the ticks
    # with the longitude they stand for, 0-360 deg
    ticks = np.radians(np.arange(-150, 181, 30))
    axes.set_xticks(ticks)
    axes.set_xticklabels(
        [f"{(-np.degrees(t)) % 360:.0f}°" for t in ticks], fontsize=7, color="0.35"
    )
    axes.tick_params(axis="y", labelsize=7)
    axes.grid(True, alpha=0.3)
    if title:
        axes.set_title(title, pad=14)
    return figure


def plot_magnitude_period(
    period: np.ndarray,
    magnitude: np.ndarray,
    *,
    groups: Mapping[str, np.ndarray] | None = None,
    limits: Mapping[str, float] | None = None,
    magnitude_label: str = "apparent magnitude",
    title: str = "",
) -> Figure:
    """Apparent magnitude against orbital period, with detected groups on top.

    Parameters
    ----------
    period : array
        Orbital periods [h].
    magnitude : array
        Apparent magnitudes [mag] (brighter up).
    groups : mapping of str to bool array, optional
        Label -> which points to overplot in colour (e.g. detected by a survey).
    limits : mapping of str to float, optional
        Label -> a magnitude limit drawn as a horizontal line [mag].
    magnitude_label : str
        Label of the magnitude axis.
    title : str
        Figure title.
    """
    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    axes = figure.add_subplot()
    period, magnitude = np.asarray(period), np.asarray(magnitude)
    axes.scatter(
        period, magnitude, s=3, color="0.7", label="eclipsing", rasterized=True
    )
    colours = iter(("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange"))
    for label, mask in (groups or {}).items():
        mask = np.asarray(mask, dtype=bool)
        axes.scatter(
            period[mask], magnitude[mask], s=8, color=next(colours, "k"),
            label=f"{label} ({int(mask.sum())})", rasterized=True,
        )  # fmt: skip
    for label, value in (limits or {}).items():
        axes.axhline(value, ls="--", lw=0.8, color="0.3")
        axes.annotate(label, (0.01, value), xycoords=("axes fraction", "data"),
                      va="bottom", fontsize=7, color="0.3")  # fmt: skip
    axes.set_xscale("log")
    axes.invert_yaxis()
    axes.set_xlabel("orbital period [h]")
    axes.set_ylabel(magnitude_label)
    if len(period):
        axes.legend(fontsize=7, markerscale=2, loc="lower right")
    if title:
        axes.set_title(title)
    return figure


def plot_signal_and_noise(
    frequency: np.ndarray,
    signals: Mapping[str, np.ndarray],
    noise_frequency: np.ndarray,
    noises: Mapping[str, np.ndarray],
    *,
    ylabel: str = "characteristic strain",
    title: str = "",
) -> Figure:
    """Signal spectra over noise curves, log-log.

    With signals drawn as ``2 f |h(f)|`` and noises as ``sqrt(f S(f))``, the
    area between a signal and a noise curve shows where the SNR accumulates.

    Parameters
    ----------
    frequency : array
        Frequencies of the signals [Hz].
    signals : mapping of str to array
        Label -> signal curve on ``frequency``; zeros (outside the signal's
        band) are not drawn.
    noise_frequency : array
        Frequencies of the noise curves [Hz].
    noises : mapping of str to array
        Label -> noise curve on ``noise_frequency``.
    ylabel : str
        Label of the vertical axis.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure = Figure(figsize=(7.5, 5.0), layout="constrained")
    axes = figure.subplots()
    for label, curve in noises.items():
        axes.loglog(noise_frequency, curve, color="0.3", lw=1.2, label=label)
    styles = iter(("-", "--", ":", "-."))
    for label, curve in signals.items():
        curve = np.asarray(curve, dtype=float)
        drawn = np.where(curve > 0, curve, np.nan)
        axes.loglog(frequency, drawn, ls=next(styles, "-"), lw=1.2, label=label)
    axes.set_xlim(np.min(noise_frequency), np.max(noise_frequency))
    axes.set_xlabel("frequency [Hz]")
    axes.set_ylabel(ylabel)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)
    if title:
        axes.set_title(title, fontsize=9)
    return figure


def plot_fisher_ellipses(
    covariance: np.ndarray,
    names: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    levels: Sequence[float] = (0.6827, 0.9545),
    title: str = "",
) -> Figure:
    """Corner plot of a Gaussian: error ellipses below the diagonal, marginals on it.

    Axes show deviations from the fiducial values. Each pair of parameters gets
    the ellipses holding ``levels`` of the two-dimensional Gaussian of its 2x2
    covariance block (by default 68.3 % and 95.4 %, the two-dimensional "1 and
    2 sigma" regions, at Mahalanobis radii sqrt(-2 ln(1 - level))); the
    diagonal shows each marginal Gaussian.

    Parameters
    ----------
    covariance : array, shape (k, k)
        Covariance matrix, finite and positive definite.
    names : sequence of str
        The k parameter names (used as labels unless ``labels`` is given).
    labels : sequence of str, optional
        Axis labels, one per parameter.
    levels : sequence of float
        Probability contents of the ellipses, each in (0, 1).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    covariance = np.asarray(covariance, dtype=float)
    k = len(names)
    labels = list(names) if labels is None else list(labels)
    sigma = np.sqrt(np.diag(covariance))
    size = min(1.9 * k + 0.8, 16.0)
    figure = Figure(figsize=(size, size), layout="constrained")
    axes = figure.subplots(k, k, squeeze=False)
    angle = np.linspace(0.0, 2 * np.pi, 200)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    colours = ("tab:blue", "tab:cyan", "tab:gray")
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            ax.set_xlim(-3.2 * sigma[j], 3.2 * sigma[j])
            ax.ticklabel_format(style="sci", scilimits=(-2, 3), axis="both")
            ax.tick_params(labelsize=6)
            ax.xaxis.get_offset_text().set_fontsize(6)
            ax.yaxis.get_offset_text().set_fontsize(6)
            if i == j:
                x = np.linspace(-3.2 * sigma[i], 3.2 * sigma[i], 200)
                ax.plot(x, np.exp(-0.5 * (x / sigma[i]) ** 2), color="tab:blue")
                ax.set_ylim(0, 1.1)
                ax.tick_params(left=False, labelleft=False)
                ax.set_title(f"σ = {sigma[i]:.3g}", fontsize=7)
            else:
                block = covariance[np.ix_([j, i], [j, i])]
                values, vectors = np.linalg.eigh(block)
                shape = vectors @ (np.sqrt(np.maximum(values, 0.0))[:, None] * circle)
                for level, colour in zip(
                    sorted(levels, reverse=True), colours, strict=False
                ):
                    radius = np.sqrt(-2 * np.log(1 - level))
                    ax.fill(*(radius * shape), color=colour, alpha=0.35, lw=0)
                    ax.plot(*(radius * shape), color=colour, lw=0.8)
                ax.set_ylim(-3.2 * sigma[i], 3.2 * sigma[i])
                if j == 0:
                    ax.set_ylabel(labels[i], fontsize=8)
                else:
                    ax.tick_params(labelleft=False)
                    ax.yaxis.get_offset_text().set_visible(False)
            if i == k - 1:
                ax.set_xlabel(labels[j], fontsize=8)
            else:
                ax.tick_params(labelbottom=False)
                ax.xaxis.get_offset_text().set_visible(False)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def plot_errors_vs_redshift(
    redshift: np.ndarray,
    panels: Mapping[str, np.ndarray],
    *,
    group: np.ndarray | None = None,
    group_label: str = "",
    max_lines: int = 10,
    title: str = "",
) -> Figure:
    """Errors against redshift, one panel per quantity, log scale.

    Parameters
    ----------
    redshift : array, shape (n,)
        Redshift of each source.
    panels : mapping of str to array
        Panel label -> positive values per source (e.g. fractional errors).
    group : array, shape (n,), optional
        Values that group the sources into lines (e.g. total masses): one line
        per distinct value, through its sources in order of redshift. With more
        than ``max_lines`` distinct values the sources are drawn as points
        coloured by log10 of the group value instead.
    group_label : str
        Name of the grouping value, in the legend or colour bar.
    max_lines : int
        Largest number of lines drawn.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    redshift = np.asarray(redshift, dtype=float)
    group = np.zeros(redshift.shape) if group is None else np.asarray(group, float)
    distinct = np.unique(group)
    n_panels = len(panels)
    figure = Figure(figsize=(4.0 * n_panels, 3.6), layout="constrained")
    axes = figure.subplots(1, n_panels, squeeze=False)[0]
    for ax, (label, values) in zip(axes, panels.items(), strict=True):
        values = np.asarray(values, dtype=float)
        drawn = np.where(values > 0, values, np.nan)
        ax.set_xlabel("redshift")
        ax.set_ylabel(label)
        if not np.any(np.isfinite(drawn)):  # e.g. a parameter held fixed
            ax.text(0.5, 0.5, "no positive values", ha="center",
                    transform=ax.transAxes)  # fmt: skip
            continue
        if distinct.size <= max_lines:
            for value in distinct:
                members = np.flatnonzero(group == value)
                members = members[np.argsort(redshift[members])]
                ax.plot(
                    redshift[members], drawn[members], marker="o", ms=3,
                    label=f"{group_label} = {value:.3g}" if group_label else None,
                )  # fmt: skip
            if group_label:
                ax.legend(fontsize=7)
        else:
            points = ax.scatter(
                redshift, drawn, c=np.log10(group), s=6, cmap="viridis",
                rasterized=True,
            )  # fmt: skip
            figure.colorbar(points, ax=ax, label=f"log10 {group_label}".strip())
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


_SAMPLE_SET_COLOURS = (
    "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
)  # fmt: skip


def posterior_corner(
    sample_sets: Mapping[str, np.ndarray],
    names: Sequence[str],
    truths: Sequence[float] | np.ndarray | None = None,
    *,
    labels: Sequence[str] | None = None,
    levels: Sequence[float] = (0.6827, 0.9545),
    bins: int = 30,
    title: str = "",
) -> Figure:
    """Corner plot of several posteriors' samples overlaid, one colour each.

    Drawn with the ``corner`` package (Foreman-Mackey 2016): on the diagonal
    each set's marginal histograms, normalised to unit area so that sets of
    different sizes compare; below it, contours of the two-dimensional
    marginals holding ``levels`` of the samples (by default 68.3 % and 95.4 %,
    the "1 and 2 sigma" regions in the sense of :func:`plot_fisher_ellipses`,
    so the two figures compare), from histograms smoothed by one bin. The axis
    ranges cover the central 99 % of every set and the truths.

    Parameters
    ----------
    sample_sets : mapping of str to array, each of shape (n_i, d)
        Legend label -> samples, e.g. ``{"MCMC": ..., "SNL": ...}``; at most six
        sets, each with more samples than parameters (thousands for smooth
        contours).
    names : sequence of str
        The d parameter names (axis labels unless ``labels`` is given).
    truths : sequence of float, shape (d,), optional
        True parameter values, drawn as lines and points.
    labels : sequence of str, optional
        Axis labels with units, one per parameter.
    levels : sequence of float
        Probability contents of the two-dimensional contours, each in (0, 1).
    bins : int
        Histogram bins per parameter.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        With d x d axes (those above the diagonal hidden).

    Raises
    ------
    ValueError
        No sets or more than six, empty ``names``, a set or ``truths`` whose
        shape does not match ``names`` or with non-finite entries, ``labels``
        of the wrong length, or ``levels`` outside (0, 1).

    References
    ----------
    Foreman-Mackey, D. 2016, JOSS 1, 24 (corner.py).
    """
    import corner  # not a dependency of the rest of simfer
    from matplotlib.lines import Line2D
    from matplotlib.ticker import ScalarFormatter

    k = len(names)
    if k == 0:
        raise ValueError("names must hold at least one parameter name")
    if not sample_sets or len(sample_sets) > len(_SAMPLE_SET_COLOURS):
        raise ValueError(
            f"sample_sets must hold 1 to {len(_SAMPLE_SET_COLOURS)} sets, got "
            f"{len(sample_sets)}"
        )
    sets = {}
    for label, samples in sample_sets.items():
        samples = np.asarray(samples, dtype=float)
        if samples.ndim != 2 or samples.shape[1] != k or len(samples) <= k:
            raise ValueError(
                f"sample_sets[{label!r}] must have shape (n, {k}) with n > {k} "
                f"to match names, got {samples.shape}"
            )
        if not np.all(np.isfinite(samples)):
            raise ValueError(f"sample_sets[{label!r}] has NaN or infinite entries")
        sets[label] = samples
    if truths is not None:
        truths = np.asarray(truths, dtype=float)
        if truths.shape != (k,) or not np.all(np.isfinite(truths)):
            raise ValueError(
                f"truths must have shape ({k},) with finite entries, got {truths}"
            )
    labels = list(names) if labels is None else list(labels)
    if len(labels) != k:
        raise ValueError(f"labels has {len(labels)} entries, names has {k}")
    if not levels or not all(0 < level < 1 for level in levels):
        raise ValueError(f"levels must each lie in (0, 1), got {levels}")

    low = np.min([np.quantile(s, 0.005, axis=0) for s in sets.values()], axis=0)
    high = np.max([np.quantile(s, 0.995, axis=0) for s in sets.values()], axis=0)
    if truths is not None:
        low, high = np.minimum(low, truths), np.maximum(high, truths)
    pad = 0.05 * np.where(high > low, high - low, np.maximum(np.abs(low), 1.0))
    ranges = list(zip(low - pad, high + pad, strict=True))

    size = min(2.0 * k + 1.5, 16.0)
    # no layout engine: corner places the axes with subplots_adjust
    figure = Figure(figsize=(size, size))
    handles = []
    for (label, samples), colour in zip(
        sets.items(), _SAMPLE_SET_COLOURS, strict=False
    ):
        corner.corner(
            samples,
            bins=bins,
            range=ranges,
            color=colour,
            labels=labels,
            levels=tuple(levels),
            smooth=1.0,
            plot_datapoints=False,
            plot_density=False,
            no_fill_contours=True,
            hist_kwargs={"density": True, "lw": 1.2},
            contour_kwargs={"linewidths": 1.2},
            max_n_ticks=3,  # long tick labels (1216728) must not collide
            fig=figure,
        )
        handles.append(Line2D([], [], color=colour, lw=1.5, label=label))
    axes = np.array(figure.axes).reshape(k, k)
    for i in range(k):
        # each corner call fitted the vertical range to its own set only
        axes[i, i].set_ylim(0, 1.1 * axes[i, i].dataLim.y1)
    for ax in figure.axes:
        # no "+8.3776e1" offsets: they overlap the axis labels of parameters
        # known to 1e-6 of their value (ln M_c of a LISA source)
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if isinstance(formatter, ScalarFormatter):
                formatter.set_useOffset(False)
                formatter.set_scientific(False)
    if truths is not None:
        # by hand: corner.overplot_lines and overplot_points fail for k = 1, where
        # corner hands back a single Axes rather than an array
        line = {"color": "0.2", "lw": 1.0, "ls": "--"}
        for i in range(k):
            axes[i, i].axvline(truths[i], **line)
            for j in range(i):
                axes[i, j].axvline(truths[j], **line)
                axes[i, j].axhline(truths[i], **line)
                axes[i, j].plot(truths[j], truths[i], marker="s", ms=4, color="0.2")
        handles.append(Line2D([], [], color="0.2", ls="--", lw=1.0, label="truth"))
    # in the empty upper triangle, clear of the title
    figure.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.97, 0.93),
                  fontsize=9, frameon=False)  # fmt: skip
    if title:
        figure.suptitle(title, fontsize=10)
    return figure


def coverage_plot(
    alpha: np.ndarray,
    ecp: np.ndarray,
    ranks: np.ndarray | None = None,
    n_samples: int | None = None,
    *,
    names: Sequence[str] | None = None,
    n_injections: int | None = None,
    n_bins: int | None = None,
    title: str = "",
) -> Figure:
    """Calibration of a posterior: TARP coverage and, optionally, SBC ranks.

    The first panel draws the expected coverage probability against the
    credibility level (Lemos et al. 2023) with the diagonal of a calibrated
    posterior; below the diagonal at high levels means over-confident, above
    it under-confident. With ``n_injections`` it also shades the central 95 %
    of the ECP of a calibrated posterior, Binomial(n_injections, alpha) /
    n_injections (exact for one reference point per injection). With
    ``ranks``, one more panel per parameter shows the histogram of the
    simulation-based-calibration ranks over the central 99 % band of the counts
    per bin of a calibrated posterior (Talts et al. 2018, Fig. 2), binned as in
    :func:`simfer.inference.diagnostics.rank_histogram`.

    Parameters
    ----------
    alpha, ecp : array, shape (n_alpha,)
        Credibility levels and expected coverage probabilities, e.g.
        ``TARPResult.alpha`` and ``TARPResult.ecp``.
    ranks : array of int, shape (n_injections, d), optional
        SBC ranks from :func:`simfer.inference.diagnostics.rank_statistics`.
    n_samples : int, optional
        Posterior samples per injection behind ``ranks``; required with them.
    names : sequence of str, optional
        The d parameter names, titles of the rank panels.
    n_injections : int, optional
        Injections behind ``ecp``, for the calibrated band.
    n_bins : int, optional
        Bins of the rank histograms (see ``rank_histogram``).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        With 1 + d axes (1 without ``ranks``).

    Raises
    ------
    ValueError
        ``alpha`` and ``ecp`` of different shapes or outside [0, 1], ``ranks``
        without ``n_samples``, ``names`` of the wrong length, or
        ``n_injections`` not a positive integer; bad ``ranks`` or ``n_bins`` as
        in ``rank_histogram``.

    References
    ----------
    Lemos, P. et al. 2023, ICML, PMLR 202, 19256 (TARP; arXiv:2302.03026).
    Talts, S. et al. 2018, arXiv:1804.06788 (SBC).
    """
    from scipy import stats

    alpha, ecp = np.asarray(alpha, dtype=float), np.asarray(ecp, dtype=float)
    if alpha.ndim != 1 or alpha.shape != ecp.shape:
        raise ValueError(
            f"alpha and ecp must be 1-d of one length, got {alpha.shape} and "
            f"{ecp.shape}"
        )
    if not np.all((alpha >= 0) & (alpha <= 1) & (ecp >= 0) & (ecp <= 1)):
        raise ValueError("alpha and ecp must be probabilities, in [0, 1]")
    if n_injections is not None and (
        isinstance(n_injections, bool)
        or not isinstance(n_injections, int | np.integer)
        or n_injections < 1
    ):
        raise ValueError(
            f"n_injections must be a positive integer, got {n_injections!r}"
        )
    histograms = None
    if ranks is not None:
        if n_samples is None:
            raise ValueError("n_samples is required with ranks")
        # simfer.inference pulls in the inference stack; only load it for ranks
        from simfer.inference.diagnostics import rank_histogram

        edges, counts, expected = rank_histogram(ranks, n_samples, n_bins=n_bins)
        histograms = counts.T
        d = counts.shape[1]
        names = [f"parameter {j}" for j in range(d)] if names is None else names
        if len(names) != d:
            raise ValueError(f"names has {len(names)} entries, ranks has {d} columns")

    n_panels = 1 + (0 if histograms is None else len(histograms))
    n_columns = min(n_panels, 4)
    n_rows = -(-n_panels // n_columns)
    figure = Figure(figsize=(3.6 * n_columns, 3.4 * n_rows), layout="constrained")

    axes = figure.add_subplot(n_rows, n_columns, 1)
    if n_injections is not None:
        lower, upper = stats.binom.interval(0.95, n_injections, alpha)
        axes.fill_between(
            alpha, lower / n_injections, upper / n_injections, color="0.85",
            lw=0, label="calibrated, 95 %",
        )  # fmt: skip
    axes.plot([0, 1], [0, 1], ls="--", color="0.3", lw=1.0)
    axes.plot(alpha, ecp, color="tab:blue", lw=1.5, label="TARP")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_aspect("equal")
    axes.set_xlabel("credibility level")
    axes.set_ylabel("expected coverage")
    axes.legend(loc="upper left", fontsize=8)

    if histograms is not None:
        n_total = int(expected.sum().round())
        lower, upper = stats.binom.interval(0.99, n_total, expected / n_total)
        for j, (name, count) in enumerate(zip(names, histograms, strict=True)):
            ax = figure.add_subplot(n_rows, n_columns, j + 2)
            ax.stairs(upper, edges, baseline=lower, fill=True, color="0.85",
                      label="calibrated, 99 %")  # fmt: skip
            ax.stairs(count, edges, color="tab:blue", lw=1.2)
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylim(0, None)
            ax.set_xlabel("rank of the truth")
            ax.set_ylabel("injections per bin")
            ax.set_title(name, fontsize=9)
            if j == 0:
                ax.legend(loc="lower center", fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    return figure

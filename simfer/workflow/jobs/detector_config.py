"""The ``detectors:`` block shared by every gravitational-wave job kind.

```yaml
detectors:
  LISA: {t_obs: "4 yr", confusion: karnesis2021}
  TianQin: {t_obs: "5 yr", observing_scheme: three_months_on_off}
```

Each key names a detector; its settings override that detector's defaults
(mission duration, galactic confusion-noise fit, observing scheme).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from simfer.sims.detectors import DETECTOR_NAMES, Detector, get_detector
from simfer.workflow.quantities import PositiveDuration

__all__ = ["DetectorSettings", "DetectorsBlock", "build_detectors"]


class DetectorSettings(BaseModel):
    """Settings of one detector; unset values take the detector's defaults."""

    model_config = ConfigDict(extra="forbid")

    t_obs: PositiveDuration | None = Field(
        default=None,
        description="Mission duration [default: 4 yr for LISA, 5 yr for TianQin].",
    )
    confusion: str | None = Field(
        default="default",
        description=(
            "Galactic confusion-noise fit: 'karnesis2021' (LISA default), "
            "'robson2019' (LISA), 'huang2020' (TianQin default), or null for none."
        ),
    )
    observing_scheme: Literal["continuous", "three_months_on_off"] | None = Field(
        default=None,
        description=(
            "TianQin's 3-months-on/3-months-off scheme halves the time on source "
            "[default: three_months_on_off for TianQin, continuous for LISA]."
        ),
    )


def _known_detector_name(name: str) -> str:
    if name not in DETECTOR_NAMES:
        raise ValueError(
            f"expected a detector name from {', '.join(DETECTOR_NAMES)}; found {name!r}"
        )
    return name


def _canonical_names(block: Any) -> Any:
    """Spell detector names canonically (``lisa`` -> ``LISA``); null means defaults.

    Two spellings of one detector are an error rather than one silently winning.
    """
    if not isinstance(block, dict):
        return block
    canonical = {known.lower(): known for known in DETECTOR_NAMES}
    renamed: dict[Any, Any] = {}
    spelled: dict[Any, Any] = {}
    for name, settings in block.items():
        key = (
            canonical.get(name.strip().lower(), name) if isinstance(name, str) else name
        )
        if key in renamed:
            raise ValueError(
                f"expected each detector once; found {spelled[key]!r} and {name!r}"
            )
        renamed[key] = {} if settings is None else settings
        spelled[key] = name
    return renamed


def _buildable(block: dict[str, DetectorSettings]) -> dict[str, DetectorSettings]:
    if not block:
        raise ValueError("expected at least one detector; found none")
    build_detectors(block)  # settings valid for each detector, checked up front
    return block


DetectorName = Annotated[str, AfterValidator(_known_detector_name)]
DetectorsBlock = Annotated[
    dict[DetectorName, DetectorSettings],
    BeforeValidator(_canonical_names),
    AfterValidator(_buildable),
]


def build_detectors(block: dict[str, DetectorSettings]) -> dict[str, Detector]:
    """Turn a validated ``detectors:`` block into :class:`Detector` objects.

    Raises
    ------
    ValueError
        If a setting is not valid for that detector (for example a confusion fit
        made for another detector); the message names the detector.
    """
    detectors = {}
    for name, settings in block.items():
        options = {}
        if settings.t_obs is not None:
            options["t_obs"] = settings.t_obs
        if settings.observing_scheme is not None:
            options["observing_scheme"] = settings.observing_scheme
        try:
            detector = get_detector(name, confusion=settings.confusion, **options)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"expected settings valid for {name}; found {error}"
            ) from None
        detectors[detector.name] = detector
    return detectors

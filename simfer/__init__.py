"""simfer: a scientific simulation and inference workbench."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


class SimferWarning(UserWarning):
    """Base class of the warnings simfer issues for conditions a user can act on."""

"""lastmile: find, explain and prevent failure of the last mile.

>>> import lastmile
>>> isinstance(lastmile.__version__, str)
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from lastmile.errors import LastmileError
from lastmile.io import read_log, save_log, write_log
from lastmile.log import Inspection, Log

__all__ = ["Inspection", "LastmileError", "Log", "__version__", "read_log", "save_log",
           "write_log"]

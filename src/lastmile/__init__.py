"""lastmile: find, explain and prevent failure of the last mile.

>>> import lastmile
>>> isinstance(lastmile.__version__, str)
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from lastmile.errors import LastmileError  # noqa: E402

__all__ = ["LastmileError", "__version__"]

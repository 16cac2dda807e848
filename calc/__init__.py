"""calc: expected course after mesenchymal stem cell transplantation in liver failure.

The package root only exposes the Flask factory. Flask is imported when the
factory is called, so the pure core (``calc.core``) imports
without any web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["__version__", "create_app"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web app (HTML pages and the JSON API)."""
    from .web.app import build_app

    return build_app(test_config)

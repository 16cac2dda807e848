"""The HTML pages: a thin adapter from the form to the engine and back."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .version import __version__

bp = Blueprint("views", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    evidence = current_app.extensions["calc_evidence"]
    return jsonify(
        {"status": "ok", "version": __version__, "evidence_version": evidence.evidence_version}
    )

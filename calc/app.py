"""The Flask application: settings, blueprints, headers and error pages."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .evidence import load_evidence
from .version import __version__

log = logging.getLogger("calc")

PACKAGE_DIR = Path(__file__).resolve().parent

# quality.md, "Headers": exact values, asserted by the tests.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
NO_STORE = "no-store, max-age=0"
MAX_BODY_BYTES = 16 * 1024


def _asset_dir(name: str) -> str:
    """templates/ and static/ sit at the top of the source tree and inside the wheel."""
    installed = PACKAGE_DIR / name
    return str(installed if installed.is_dir() else PACKAGE_DIR.parent / name)


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        instance_relative_config=True,
    )
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        EVIDENCE_PATH=None,
        HTTPS=False,  # set True behind an HTTPS proxy: turns on HSTS
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        JSON_SORT_KEYS=False,
    )
    if test_config is None:
        app.config.from_prefixed_env("CALC")
    else:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # A broken evidence file stops the app here, before it serves a number.
    app.extensions["calc_evidence"] = load_evidence(app.config["EVIDENCE_PATH"])

    from . import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)

    app.jinja_env.globals["app_version"] = __version__
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _headers(response: Response) -> Response:
    from flask import current_app

    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if current_app.config.get("HTTPS"):
        response.headers["Strict-Transport-Security"] = HSTS
    if request.endpoint != "static":
        response.headers["Cache-Control"] = NO_STORE
    response.headers.pop("Server", None)
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


_TITLES = {
    400: "The request could not be read.",
    404: "There is no page at this address.",
    405: "This address does not accept that method.",
    413: "The request is too large (at most 16 KiB).",
    415: "The request has the wrong content type.",
}


def _http_error(exc: HTTPException) -> tuple[Response | str, int]:
    code = exc.code or 500
    message = _TITLES.get(code, exc.name)
    if _wants_json():
        return jsonify({"errors": {"request": [message]}}), code
    return render_template("error.html", code=code, message=message), code


def _unexpected_error(exc: Exception) -> tuple[Response | str, int]:
    # Logged without the request body or URL: no patient value reaches the log.
    log.error("internal error %s in %s", type(exc).__name__, request.endpoint)
    return _http_error(InternalServerError())

"""The Flask application: settings, blueprints, headers and error pages.

Hardening (OWASP Secure Headers Project and OWASP ASVS; the API's error contract,
README, JSON API), all asserted by ``tests/system/test_hardening.py``:

- only GET, HEAD and POST are routed; every other method, OPTIONS included,
  is answered 405 with an ``Allow`` header (the app serves no cross-origin
  clients, so it has no CORS preflight to answer);
- bodies over 16 KiB are refused with 413, form and JSON alike;
- every response, static files and error pages included, carries the
  security headers with exact values; every response except a served static
  file is ``no-store``; HSTS and ``Secure`` cookies only with ``HTTPS``;
- error pages and JSON errors are generic: no traceback, no request values.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.typing import RouteCallable
from werkzeug.exceptions import (
    Forbidden,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    RequestEntityTooLarge,
)

from ..core import i18n
from ..core.evidence import load_evidence
from ..version import __version__
from .templating import CompiledTranslations, LanguageEnvironment

log = logging.getLogger("calc")

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # calc/

# Security headers (OWASP Secure Headers Project): exact values, asserted by the tests.
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
# A multipart body of more parts than this is refused (413). The form has about
# thirty fields (and is sent url-encoded); the upload form has one.
MAX_FORM_PARTS = 100

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class OrjsonProvider(DefaultJSONProvider):
    """JSON responses through orjson: same JSON, a tenth of the encoding time.

    An assessment is about 6.5 KB of JSON; the standard library took about
    30 µs to encode it, the largest single cost of an API request (orjson
    about 3 µs). Keys keep the engine's order; output is compact UTF-8.
    Parsing stays with the standard library (the API parses bodies itself).
    """

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self._bytes(obj).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """``jsonify``: the bytes go straight into the response (no str round trip)."""
        obj = self._prepare_response_obj(args, kwargs)
        return Response(self._bytes(obj), mimetype=self.mimetype)

    def _bytes(self, obj: Any) -> bytes:
        options = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
        return orjson.dumps(obj, default=self.default, option=options)


class CalcFlask(Flask):
    """Flask without the automatic OPTIONS answer on any route (static included).

    Flask adds OPTIONS to every rule; the app routes only GET, HEAD and POST
    (OWASP ASVS 4.0.3, 14.5.1: accept only the HTTP methods in use).
    Overriding here (rather than the 3.1 ``PROVIDE_AUTOMATIC_OPTIONS`` setting)
    also covers the static route, which Flask registers inside ``__init__``.
    """

    json_provider_class = OrjsonProvider
    jinja_environment = LanguageEnvironment  # one compiled template per language

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options=False, **options)


def _asset_dir(name: str) -> str:
    """templates/ and static/ sit at the top of the source tree and inside the wheel."""
    installed = PACKAGE_DIR / name
    return str(installed if installed.is_dir() else PACKAGE_DIR.parent / name)


def as_bool(value: object, name: str) -> bool:
    """A boolean setting from the environment (``CALC_HTTPS=true``) or a test config.

    ``from_prefixed_env`` passes a value that is not JSON through as a string, so
    ``CALC_HTTPS=no`` would be the truthy string "no": spell the words out, and
    refuse anything else rather than guess.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"setting {name} must be true or false, not {value!r}")


def build_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = CalcFlask(
        __name__,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        instance_relative_config=True,
    )
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        MAX_FORM_PARTS=MAX_FORM_PARTS,
        EVIDENCE_PATH=None,
        HTTPS=False,  # set True behind an HTTPS proxy: turns on HSTS and Secure cookies
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        JSON_SORT_KEYS=False,
        # The only cookie the app sets is the language chosen with ?lang= (LANG_COOKIE):
        # it holds no patient value. Every cookie is locked down the same way.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=False,
    )
    if test_config is None:
        app.config.from_prefixed_env("CALC")
    else:
        app.config.from_mapping(test_config)
    app.config["HTTPS"] = as_bool(app.config["HTTPS"], "HTTPS")
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True

    # A broken evidence file stops the app here, before it serves a number.
    app.extensions["calc_evidence"] = load_evidence(app.config["EVIDENCE_PATH"])

    from . import api, ehr, views

    # No redirect is ever built from the request: Werkzeug's redirect for a doubled
    # slash (/api//v1/...) put the client's Host header into its Location, so a
    # forged Host was reflected. A doubled slash is simply not found.
    app.url_map.merge_slashes = False
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ehr.bp)  # FHIR R4 and CDS Hooks 2.0 (calc.web.ehr)

    app.jinja_env.globals["app_version"] = __version__
    # Templates translate through the core's catalog and language (calc.core.i18n):
    # one catalog and one per-request language for the pages, the core and the API.
    app.jinja_env.add_extension(CompiledTranslations)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    app.jinja_env.globals["lang_tag"] = i18n.tag
    app.jinja_env.filters["tr"] = i18n.gettext  # a message marked in Python (N_), escaped
    app.jinja_env.globals["language_links"] = language_links
    # The language first: every answer after it, error pages included, is in it.
    app.before_request(_choose_language)
    app.teardown_request(_reset_language)
    app.before_request(_refuse_methods_not_as_written)
    app.before_request(_refuse_cross_site_posts)
    app.before_request(_refuse_large_bodies)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


# The language: ?lang= (the switcher's links; remembered in a cookie), then the cookie,
# then Accept-Language, then English. The API and the EHR routes are machine clients:
# Accept-Language only (a browser's cookie does not change a program's answers).
LANG_PARAM = "lang"
LANG_COOKIE = "calc_lang"
LANG_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie (RFC 6265bis)


def _machine_route() -> bool:
    return _wants_json() and request.path != "/healthz"


def _choose_language() -> None:
    accepted = i18n.negotiate(request.headers.get("Accept-Language"))
    if _machine_route():
        i18n.set_language(accepted or i18n.DEFAULT)
        return
    asked = i18n.parse_language(request.args.get(LANG_PARAM))
    remembered = i18n.parse_language(request.cookies.get(LANG_COOKIE))
    i18n.set_language(asked or remembered or accepted or i18n.DEFAULT)


def _reset_language(exc: BaseException | None = None) -> None:
    # A worker thread serves the next request in the same context: leave no language.
    i18n.set_language(i18n.DEFAULT)


def language_links() -> list[dict[str, str | bool]]:
    """The switcher: one link per language, to the form in that language."""
    current = i18n.get_language()
    return [
        {
            "href": f"{request.script_root}/?{LANG_PARAM}={i18n.TAGS[code]}",
            "tag": i18n.TAGS[code],
            "name": i18n.NAMES[code],
            "current": code == current,
        }
        for code in i18n.LANGUAGES
    ]


def _language_headers(response: Response) -> None:
    if request.endpoint == "static":
        return
    if _machine_route():
        response.vary.add("Accept-Language")
        return
    response.vary.update(("Accept-Language", "Cookie"))
    asked = i18n.parse_language(request.args.get(LANG_PARAM))
    if asked is not None and request.cookies.get(LANG_COOKIE) != i18n.TAGS[asked]:
        response.set_cookie(
            LANG_COOKIE,
            i18n.TAGS[asked],
            max_age=LANG_COOKIE_MAX_AGE,
            path="/",
            secure=bool(current_app.config["HTTPS"]),
            httponly=True,
            samesite="Strict",
        )


def _refuse_methods_not_as_written() -> None:
    """405 for a method that is not exactly one the route takes (``get`` is not ``GET``).

    Method names are case-sensitive (RFC 9110, 9.1), but Werkzeug upper-cases the
    method it reads, so ``get`` would be served as ``GET``: refuse it as any other
    method the route does not take, with the route's Allow.
    """
    written = request.environ.get("REQUEST_METHOD", "")
    if written == request.method:
        return
    if request.routing_exception is not None:  # 404, or 405 with the path's Allow
        raise request.routing_exception
    adapter = current_app.create_url_adapter(request)
    raise MethodNotAllowed(valid_methods=adapter.allowed_methods() if adapter else None)


# What a browser sends on a request made by one of the app's own pages
# (Fetch Metadata: "same-origin"; "none" when the user typed or bookmarked it).
SAME_SITE_FETCH = frozenset({"same-origin", "none"})


def _refuse_cross_site_posts() -> None:
    """403 for a POST that another site's page made the browser send.

    A page elsewhere could post the form (a result page with its values would
    render on this origin) or trigger /save. Browsers say where a request comes
    from: Sec-Fetch-Site (Fetch Metadata), else Origin. A request with neither
    (an old browser, curl, the command line's own tools) is let through: it is not
    a browser acting for another site. The JSON API is protected already: a
    cross-site application/json POST needs a CORS preflight, which gets 405.
    """
    if request.method != "POST":
        return
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        if fetch_site.strip().lower() not in SAME_SITE_FETCH:
            raise Forbidden()
        return
    origin = request.headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or parts.netloc.lower() != request.host.lower():
            raise Forbidden()


def _refuse_large_bodies() -> None:
    """413 for a body over the limit, whatever the route, method or content type.

    Werkzeug refuses an oversized body only when a view reads it, so a route that
    checks the content type first would answer 415 instead. Worse, a chunked body
    (no Content-Length; gunicorn passes it on) is cut at the limit without an
    error, and the view would see the first 16 KiB as if complete. So: a declared
    length is checked here, and a chunked body is read here, up to one byte past
    the limit, and handed on whole or refused.
    """
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    length = request.content_length
    if length is not None:
        if length > limit:
            raise RequestEntityTooLarge()
        return
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        stream, body = request.environ["wsgi.input"], bytearray()
        while len(body) <= limit and (data := stream.read(limit + 1 - len(body))):
            body += data
        if len(body) > limit:
            raise RequestEntityTooLarge()
        request.environ["wsgi.input"] = io.BytesIO(bytes(body))
        request.environ["CONTENT_LENGTH"] = str(len(body))


def _headers(response: Response) -> Response:
    _language_headers(response)
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if current_app.config["HTTPS"]:
        response.headers["Strict-Transport-Security"] = HSTS
    # A served static file may be cached (it holds no patient value); everything
    # else, error pages included, is no-store.
    if not (request.endpoint == "static" and response.status_code in (200, 206, 304)):
        response.headers["Cache-Control"] = NO_STORE
        response.headers.pop("Expires", None)
    response.headers.pop("Server", None)
    # Werkzeug builds a routing redirect ("//" -> "/") from the request's Host header:
    # keep only its path, so a forged Host is never reflected (RFC 9110 allows a
    # relative Location).
    location = response.headers.get("Location")
    if location:
        parts = urlsplit(location)
        path = "/" + parts.path.lstrip("/")  # never "//host": a protocol-relative URL
        response.headers["Location"] = urlunsplit(("", "", path, parts.query, ""))
    return response


def _wants_json() -> bool:
    # The FHIR and CDS Hooks routes (calc.web.ehr) answer JSON errors as the API does.
    path = request.path
    return path.startswith(("/api/", "/fhir/", "/cds-services/")) or path in (
        "/healthz",
        "/cds-services",
    )


_TITLES = {
    400: i18n.N_("The request could not be read."),
    404: i18n.N_("There is no page at this address."),
    405: i18n.N_("This address does not accept that method."),
    413: i18n.N_("The request is too large (at most 16 KiB)."),
    403: i18n.N_("This form only accepts requests from its own pages."),
    415: i18n.N_("The request has the wrong content type."),
    500: i18n.N_("Something went wrong on the server; nothing was computed. Please try again."),
}


def _http_error(exc: HTTPException) -> tuple[Response | str, int, dict[str, str]]:
    code = exc.code or 500
    message = i18n.gettext(_TITLES[code]) if code in _TITLES else exc.name
    # RFC 9110: a 405 lists the methods the address accepts.
    headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
    if _wants_json():
        return jsonify({"errors": {"request": [message]}}), code, headers
    return render_template("error.html", code=code, message=message), code, headers


def _unexpected_error(exc: Exception) -> tuple[Response | str, int, dict[str, str]]:
    # Logged without the request body, URL or exception message: no patient value
    # (nor anything derived from one) reaches the log.
    log.error("internal error %s in %s", type(exc).__name__, request.endpoint)
    return _http_error(InternalServerError())

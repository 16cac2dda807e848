"""Into the EHR: a FHIR R4 endpoint and a CDS Hooks 2.0 service (Flask blueprint).

``POST /fhir/r4/assess`` takes ``{"failure_type", "transplant_date", "dialysis",
"sex", "bundle"}``: a FHIR R4 Bundle of lab Observations beside what standard
labs do not carry. The labs are mapped by LOINC code and UCUM unit
(:mod:`calc.core.fhir`) into the JSON API's request and assessed by the same
core; the answer is the API's assessment, ``used`` (each value taken from the
record) and ``fhir`` (the MELD Observations and the RiskAssessment).

CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/): ``GET /cds-services`` (discovery),
``POST /cds-services/msct-expected-course`` (hook ``patient-view``) and its
``/feedback``. The service reads only the prefetched Observations (a missing
prefetch is answered 412; it never queries the EHR's FHIR server) and answers
one card: the MELD from the record's labs, and the type of liver failure that
the expected course needs. The type is never inferred from the record: ICD-10
has no code for ACLF and one code (K72.0) for both ALF and SALF, and a wrong
type changes the estimate (14.93 points for ACLF, none for ALF).

Requests from the EHR carry a JWT (CDS Hooks 2.0, "Trusting CDS Clients"),
verified with PyJWT against the keys configured per issuer; verification is off
only when the setting says so explicitly (for tests).

Nothing from a Bundle, a hook call or a token is written to a log or to disk;
no patient value goes into a URL of a card.

Settings (app config; environment ``CALC_<NAME>``):

- ``PUBLIC_URL``: this app's absolute base URL as the EHR reaches it
  (``https://calc.hospital.example``). The card's link is built from it, and the
  JWT's ``aud`` must be the service's URL under it.
- ``CDS_HOOKS_ISSUERS``: ``{issuer: {"keys": [JWK, ...]}}``, the allowed EHRs and
  their public keys (a JSON Web Key Set each).
- ``CDS_HOOKS_JWT``: true (default); false turns verification off.
- ``EHR_CLOCK``: a function giving the current time (tests make it fixed).
- ``EHR_NEW_ID``: a function giving a new resource id (tests make it repeatable).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import jwt
from flask import Blueprint, Response, current_app, request

from ..core import fhir
from ..core import jsonview as jv
from ..core.evidence import Evidence
from ..core.fields import BY_API
from ..core.inputs import InputError
from ..core.meld import MeldResult, compute_meld, validate_labs
from ..core.report import assessment_view
from ..version import __version__
from .api import BadBody, errors_response, json_response, read_json_object

bp = Blueprint("ehr", __name__)

FHIR_ASSESS: Final = "/fhir/r4/assess"
DISCOVERY: Final = "/cds-services"
SERVICE_ID: Final = "msct-expected-course"
SERVICE: Final = f"{DISCOVERY}/{SERVICE_ID}"
FEEDBACK: Final = f"{SERVICE}/feedback"
HOOK: Final = "patient-view"

# Asymmetric algorithms only (CDS Hooks 2.0: ES384 and RS384 at least): a shared
# secret (HS*) or "none" would let anyone who knows the key, or no one, sign.
JWT_ALGORITHMS: Final = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS384")
JWT_LEEWAY_S: Final = 30
SUMMARY_MAX: Final = 139  # CDS Hooks 2.0: "<140 characters"


def _now() -> datetime:
    clock: Callable[[], datetime] | None = current_app.config.get("EHR_CLOCK")
    return clock() if clock is not None else datetime.now(UTC)


def _new_id() -> str:
    make: Callable[[], str] | None = current_app.config.get("EHR_NEW_ID")
    return make() if make is not None else str(uuid.uuid4())


def _body() -> dict[str, Any] | tuple[Response, int]:
    if request.mimetype != "application/json":
        return errors_response(
            {"request": ["Send the body as JSON with Content-Type: application/json."]}, 415
        )
    try:
        return read_json_object()
    except BadBody as exc:
        return errors_response({"request": [f"Malformed body: {exc}."]}, 400)


# --------------------------------------------------------------------------
# FHIR R4 in and out


@bp.post(FHIR_ASSESS)
def fhir_assess() -> tuple[Response, int] | Response:
    """The assessment of a FHIR Bundle of labs, as the JSON API answers it, plus FHIR out."""
    data = _body()
    if isinstance(data, tuple):
        return data
    now = _now()
    try:
        result = fhir.assess_bundle(data, current_app.extensions["calc_evidence"], now)
    except InputError as exc:
        return errors_response(exc.errors, 422)
    body = jv.plain(assessment_view(result.assessment))
    body["used"] = [u.as_json() for u in result.used]
    body["fhir"] = fhir.output_bundle(result, now, _new_id)
    return json_response(body)


# --------------------------------------------------------------------------
# CDS Hooks 2.0

# One prefetch template per lab, the latest result of any of its LOINC codes.
PREFETCH_KEYS: Final = {field: field.removeprefix("labs.") for field in fhir.LAB_FIELDS}
# Without these the MELD cannot be computed: missing, the request is answered 412.
REQUIRED_PREFETCH: Final = tuple(PREFETCH_KEYS[f] for f in ("tbil", "labs.inr", "labs.creatinine"))


def prefetch_template(field: str) -> str:
    codes = ",".join(f"{fhir.LOINC}|{c.loinc}" for c in fhir.CODES_OF[field])
    return f"Observation?patient={{{{context.patientId}}}}&code={codes}&_sort=-date&_count=1"


def discovery_document() -> dict[str, Any]:
    return {
        "services": [
            {
                "hook": HOOK,
                "id": SERVICE_ID,
                "title": "MELD from labs, and the expected course after MSCT",
                "description": (
                    "Classic MELD (and MELD-Na when a sodium is there) from the latest"
                    " final lab results of the last 7 days, and a link to the"
                    " calculator of the expected course after mesenchymal stem cell"
                    " transplantation in liver failure (Cao et al. 2018), which needs the"
                    " type of liver failure."
                ),
                "prefetch": {key: prefetch_template(f) for f, key in PREFETCH_KEYS.items()},
                "usageRequirements": (
                    "For adults with liver failure considered for, or after, MSCT"
                    " (investigational). Decision support, not a treatment recommendation."
                ),
            }
        ]
    }


@bp.get(DISCOVERY)
def cds_discovery() -> Response:
    return json_response(discovery_document())


class Unauthorized(Exception):
    """The JWT from the EHR is missing or not trusted (401)."""


def _jwks(issuer: str) -> jwt.PyJWKSet:
    issuers: Mapping[str, Any] = current_app.config.get("CDS_HOOKS_ISSUERS") or {}
    keys = issuers.get(issuer) if isinstance(issuers, Mapping) else None
    if keys is None:
        raise Unauthorized("The token's issuer is not one this service trusts.")
    try:
        return jwt.PyJWKSet.from_dict(dict(keys))
    except (jwt.PyJWTError, TypeError, ValueError, KeyError):
        raise Unauthorized("The keys configured for the token's issuer cannot be read.") from None


def verify_token(authorization: str | None, audience: str) -> None:
    """Raise Unauthorized unless the bearer token is signed by an allowed issuer, for us, in date.

    CDS Hooks 2.0: ``iss`` (the EHR, in the allowlist), ``aud`` (this service's
    URL), ``exp``, ``iat`` and ``jti`` are required; the key is found by the
    header's ``kid`` in the issuer's configured key set (no ``jku`` is fetched).
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token (JWT) from the EHR is required.")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthorized("The token is not a JWT.") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str):
        raise Unauthorized("The token names no issuer.")
    keys = _jwks(issuer)
    kid = header.get("kid")
    matching = [k for k in keys.keys if kid is None or k.key_id == kid]
    if len(matching) != 1:
        raise Unauthorized("No key of the token's issuer matches the token's key id.")
    try:
        jwt.decode(
            token,
            matching[0].key,
            algorithms=list(JWT_ALGORITHMS),
            audience=audience,
            issuer=issuer,
            leeway=JWT_LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired.") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("The token is not for this service (aud).") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("The token's signature does not verify.") from None
    except jwt.InvalidAlgorithmError:
        raise Unauthorized("The token's algorithm is not an allowed asymmetric one.") from None
    except jwt.PyJWTError:
        raise Unauthorized("The token is not valid.") from None


def _public_url() -> str | None:
    url = current_app.config.get("PUBLIC_URL")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url.rstrip("/")
    return None


def jwt_required(setting: object) -> bool:
    """Verification is off only for an explicit false (False, 0, "false", "no", "off")."""
    if isinstance(setting, bool | int):
        return bool(setting)
    if isinstance(setting, str):
        return setting.strip().lower() not in ("false", "0", "no", "off")
    return True


def _authorize() -> tuple[Response, int] | None:
    if not jwt_required(current_app.config.get("CDS_HOOKS_JWT", True)):
        return None
    base = _public_url()
    try:
        if base is None:
            raise Unauthorized(
                "This service's URL (PUBLIC_URL) is not configured, so no token can be checked."
            )
        verify_token(request.headers.get("Authorization"), base + request.path)
    except Unauthorized as exc:
        response, status = errors_response({"authorization": [str(exc)]}, 401)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response, status
    return None


def _hook_request(data: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if data.get("hook") != HOOK:
        errors["hook"] = [f'This service answers the "{HOOK}" hook.']
    if not isinstance(data.get("hookInstance"), str):
        errors["hookInstance"] = ["The hook instance (a UUID) is required."]
    context = data.get("context")
    if not isinstance(context, Mapping) or not isinstance(context.get("patientId"), str):
        errors["context"] = ["The context must name the patient (context.patientId)."]
    if "prefetch" in data and not isinstance(data["prefetch"], Mapping | None):
        errors["prefetch"] = ["The prefetch must be an object of FHIR resources."]
    return errors


def _prefetched(prefetch: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The prefetched searchsets as one Bundle (each must be a Bundle or absent)."""
    entries: list[Any] = []
    errors: dict[str, list[str]] = {}
    for key in PREFETCH_KEYS.values():
        value = prefetch.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping) or value.get("resourceType") != "Bundle":
            errors[f"prefetch.{key}"] = ["Each prefetch value must be a FHIR Bundle (searchset)."]
            continue
        found = value.get("entry", [])
        if not isinstance(found, list):
            errors[f"prefetch.{key}"] = ["Bundle.entry must be an array of entries."]
            continue
        entries += found
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}, errors


def _meld(values: Mapping[str, object], dialysis: bool) -> MeldResult:
    """The MELD scores of the mapped labs (the total bilirubin is the labs' bilirubin)."""
    nested = fhir.nest(values)
    labs: dict[str, Any] = dict(nested.get("labs", {}))
    tbil_unit = BY_API["tbil_unit"].api
    labs["bilirubin"] = nested.get("tbil")
    labs["bilirubin_unit"] = nested.get(tbil_unit)
    labs["dialysis"] = dialysis
    try:
        return compute_meld(validate_labs(labs, allow_text=False))
    except InputError as exc:
        # Keyed as the request's fields; the labs' bilirubin is the record's TBIL.
        raise InputError(
            {f"labs.{k}".replace("labs.bilirubin", "tbil"): v for k, v in exc.errors.items()}
        ) from None


def _day(text: str) -> str:
    return text[:10]


def _card(summary: str, indicator: str, detail: str) -> dict[str, Any]:
    evidence = current_app.extensions["calc_evidence"]
    source = evidence.source
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": summary[:SUMMARY_MAX],
        "indicator": indicator,
        "detail": detail,
        "source": {
            "label": f"calc {__version__}: MSCT in liver failure ({source.short_citation})",
            "url": f"https://doi.org/{source.doi}",
        },
    }
    base = _public_url()
    if base is not None:
        # The calculator's form, never with a patient value: the clinician enters the type.
        card["links"] = [
            {"label": "Open the MSCT calculator", "url": f"{base}/", "type": "absolute"}
        ]
    return card


def _basis(evidence: Evidence) -> list[str]:
    source, context = evidence.source, evidence.context
    lines = [
        f"Evidence of the expected course: {source.citation} (doi:{source.doi}), version"
        f" {evidence.evidence_version}: pooled before/after changes in treated patients,"
        " not effects against a control group, and not a prediction for this patient.",
    ]
    if context is not None:
        lines.append(
            f"Controlled evidence shown as context by the calculator: {context.source.citation}"
            f" (doi:{context.source.doi}), version {context.evidence_version}."
        )
    lines.append(f"Computed by calc {__version__}.")
    return lines


def _labs_table(used: Sequence[fhir.UsedLab]) -> list[str]:
    rows = ["| lab | value | unit | taken | LOINC |", "|---|---|---|---|---|"]
    rows += [
        f"| {fhir.short_label(u.field)} | {u.value} | {u.unit} | {u.effective} | {u.loinc} |"
        for u in used
    ]
    return rows


def meld_card(used: Sequence[fhir.UsedLab], values: Mapping[str, object]) -> dict[str, Any]:
    """The card: the MELD with and without dialysis (the record does not say), the type needed."""
    evidence = current_app.extensions["calc_evidence"]
    without, with_dialysis = _meld(values, False), _meld(values, True)
    taken = max(used, key=lambda u: fhir.parse_effective(u.effective).instant)
    if without.meld == with_dialysis.meld:
        score = f"MELD {without.meld}"
    else:
        score = f"MELD {without.meld} ({with_dialysis.meld} if on dialysis)"
    summary = f"{score} from labs to {_day(taken.effective)}; MSCT course: enter the failure type"
    lines = [
        f"**Classic MELD from the record's labs** (OPTN/UNOS rules): **{without.meld}** without"
        f" dialysis in the past week; **{with_dialysis.meld}** with dialysis at least twice in"
        " the past week or 24 h of CVVHD. The record's labs do not say which applies.",
        "",
    ]
    if without.meld_na is not None and with_dialysis.meld_na is not None:
        lines += [
            f"MELD-Na: {without.meld_na} without dialysis, {with_dialysis.meld_na} with.",
            "",
        ]
    lines += [*_labs_table(used), ""]
    notes = [*without.working.bounds_applied]
    if notes:
        lines += ["**Bounds applied:** " + "; ".join(notes) + ".", ""]
    lines += [
        "**Expected course after MSCT:** it depends on the type of liver failure (ACLF, CLF,"
        " ALF or SALF), which the record's codes do not tell apart, so it is not inferred:"
        " open the calculator and choose the type.",
        "",
        *_basis(evidence),
    ]
    return _card(summary, "info", "\n".join(lines))


def problem_card(errors: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The labs are there but cannot be used: say which and why, compute nothing."""
    evidence = current_app.extensions["calc_evidence"]
    lines = ["The latest lab results cannot be used for the MELD:", ""]
    lines += [f"- {m}" for messages in errors.values() for m in messages]
    lines += ["", *_basis(evidence)]
    return _card(
        "MELD not computed: the latest labs cannot be used (see details)",
        "warning",
        "\n".join(lines),
    )


@bp.post(SERVICE)
def cds_service() -> tuple[Response, int] | Response:
    refused = _authorize()
    if refused is not None:
        return refused
    data = _body()
    if isinstance(data, tuple):
        return data
    errors = _hook_request(data)
    if errors:
        return errors_response(errors, 400)
    prefetch = data.get("prefetch") or {}
    missing = [k for k in REQUIRED_PREFETCH if prefetch.get(k) is None]
    if missing:
        # CDS Hooks 2.0: the service does not query the FHIR server itself.
        return errors_response(
            {f"prefetch.{k}": ["This prefetch is required and was not sent."] for k in missing},
            412,
        )
    bundle, errors = _prefetched(prefetch)
    if errors:
        return errors_response(errors, 400)
    try:
        mapped = fhir.map_bundle(bundle, _now(), patient=data["context"]["patientId"])
    except InputError as exc:
        return json_response({"cards": [problem_card(exc.errors)]})
    if not any(u.field in ("tbil", "labs.inr", "labs.creatinine") for u in mapped.used):
        return json_response({"cards": []})  # no liver labs at all: nothing to say
    try:
        card = meld_card(mapped.used, mapped.values)
    except InputError as exc:
        return json_response({"cards": [problem_card(fhir.rekey_errors(exc.errors, mapped.used))]})
    return json_response({"cards": [card]})


@bp.post(FEEDBACK)
def cds_feedback() -> tuple[Response, int] | Response:
    """CDS Hooks 2.0 feedback: acknowledged, nothing kept."""
    refused = _authorize()
    if refused is not None:
        return refused
    data = _body()
    if isinstance(data, tuple):
        return data
    return json_response({})

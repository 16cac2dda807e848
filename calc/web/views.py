"""The HTML pages: a thin adapter from the form to the engine and back.

Patient values arrive only in POST bodies and the result is rendered in the
POST response; nothing is stored, logged or put in a URL.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from ..core import i18n, savefile
from ..core.assessment import run
from ..core.i18n import N_
from ..core.memo import once
from ..core.report import (
    HEADLINE_WHAT,
    classic_working_line,
    date_both,
    date_words,
    days_text,
    entered,
    input_line,
    meld_after_exact_text,
    meld_after_text,
    meld_working_lines,
    note_text,
    pooled_tbil_text,
    range_kind_text,
    range_text,
    spread_kind_text,
    stratum_text,
    tbil_text,
    unit_label,
    versions_text,
)
from ..core.results import Assessment
from ..version import __version__
from .figure import build_figure, build_trajectory
from .forms import FAILURE_TYPE_HINTS, AssessmentForm

bp = Blueprint("views", __name__)

# Each follow-up status in words beside its symbol (never by colour alone).
STATUS_WORDS = {
    "fallen": N_("fallen"),
    "not_fallen": N_("not fallen"),
    "risen": N_("risen"),
    "unchanged": N_("unchanged"),
    "at_or_below_pooled": N_("at or below pooled"),
    "above_pooled": N_("above pooled"),
}


# The types by name where the page names the type of this patient: the code in English
# ("ACLF"), the term with the code beside it in Chinese ("慢加急性肝衰竭 (ACLF)").
TYPE_NAMES = (N_("ACLF"), N_("CLF"), N_("ALF"), N_("SALF"))


@bp.app_context_processor
def _display_helpers() -> dict[str, object]:
    return {
        "date_both": date_both,
        "date_words": date_words,
        "days_text": days_text,
        "entered": entered,
        "headline_what": i18n.gettext(HEADLINE_WHAT),
        "input_line": input_line,
        "meld_after_exact_text": meld_after_exact_text,
        "meld_after_text": meld_after_text,
        "stratum_text": stratum_text,
        "versions_text": versions_text,
        "pooled_tbil_text": pooled_tbil_text,
        "range_kind_text": range_kind_text,
        "range_text": range_text,
        "spread_kind_text": spread_kind_text,
        "tbil_text": tbil_text,
        "unit_label": unit_label,
        "failure_type_hints": FAILURE_TYPE_HINTS,
        "meld_working_lines": meld_working_lines,
        "classic_working_line": classic_working_line,
        "status_words": STATUS_WORDS,
        "evidence": current_app.extensions["calc_evidence"],
    }


def _form_page(form: AssessmentForm, status: int = 200, **notes: str) -> tuple[str, int]:
    return render_template("form.html", form=form, **notes), status


@bp.get("/")
def index() -> tuple[str, int]:
    """The empty form: the same bytes for every visit in a language, so rendered once per
    process and language.

    It holds no patient data. It is cached only at the application root (a
    client-sent SCRIPT_NAME must not grow the cache); elsewhere it is rendered.
    English is cached under "", each other language under its code: the cache has at
    most one page per supported language, whatever the clients send.
    """
    if request.script_root:
        return _form_page(AssessmentForm())
    cache: dict[str, str] = current_app.extensions.setdefault("calc_empty_form", {})
    language = i18n.get_language()
    key = "" if language == i18n.DEFAULT else language
    page = cache.get(key)
    if page is None:
        page = cache[key] = render_template("form.html", form=AssessmentForm())
    return page, 200


@bp.post("/")
def submit() -> tuple[str, int]:
    form = AssessmentForm(request.form)
    if request.form.get("action") == "edit":
        # "Edit inputs": the re-posted values fill the form again; nothing was stored.
        return _form_page(form)
    if not form.validate() or form.request is None:
        return _form_page(form, 422)
    result = run(form.request, current_app.extensions["calc_evidence"])
    # The time of the assessment is the server's, with its UTC offset, so a printed
    # sheet says when it was made; it is shown, never stored.
    now = datetime.now().astimezone()
    offset = now.strftime("%z")  # +0100
    assessed = i18n.gettext("{date}, {time} (UTC{offset})").format(
        date=date_words(now.date()), time=f"{now:%H:%M}", offset=f"{offset[:3]}:{offset[3:]}"
    )
    msct = result.inputs.transplant_date
    reference = (form.patient_ref.data or "").strip()
    clinician = form["clinician"].data if "clinician" in form else ""
    return (
        render_template(
            "result.html",
            form=form,
            a=result,
            figure=build_figure(result),
            trajectory=build_trajectory(result),
            **_sections_no_patient_changes(result),
            note=note_text(result, assessed=assessed, reference=reference),
            patient_ref=reference,
            clinician=(clinician or "").strip(),
            assessed_text=assessed,
            day_after_msct=None if msct is None else (now.date() - msct).days,
        ),
        200,
    )


def _sections_no_patient_changes(a: Assessment) -> dict[str, Markup]:
    """The result page's sections that hold no patient value (the controlled evidence, the
    basis of the result): rendered once per evidence, failure type and language.

    The partial templates are given only what the evidence says for the type, never the
    assessment, so no patient value can reach what is kept.
    """
    key = ("result sections", a.inputs.failure_type, i18n.get_language())
    return once(a.stamp, key, lambda: _render_sections(a))


def _render_sections(a: Assessment) -> dict[str, Markup]:
    stamp, context = a.stamp, a.context
    context_html = render_template("_context.html", context=context)
    basis_html = render_template(
        "_basis.html",
        stamp=stamp,
        context=context,
        intended_use=a.intended_use,
        derivation=a.derivation,
        limits=a.limits,
        versions=versions_text(a),
    )
    # Each is a whole template's output, every value in it escaped by the template's
    # autoescape: HTML already, placed as it is.
    return {
        "context_html": Markup(context_html),  # noqa: S704  # nosec B704
        "basis_html": Markup(basis_html),  # noqa: S704  # nosec B704
    }


@bp.post("/save")
def save() -> tuple[str, int] | Response:
    """Download the inputs as a small JSON file; the server keeps no copy."""
    form = AssessmentForm(request.form)
    if not form.validate():
        return _form_page(form, 422)
    evidence = current_app.extensions["calc_evidence"]
    saved_at = datetime.now().astimezone().replace(microsecond=0)
    body = savefile.dump(
        form.saved_fields(),  # not the clinician's name: printed only
        saved_at=saved_at,
        app_version=__version__,
        evidence_version=evidence.evidence_version,
    )
    # A name of its own for each save, with no patient value: date, time, random suffix.
    name = savefile.file_name(saved_at)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/open")
def open_saved() -> tuple[str, int]:
    """Fill the form from a saved file, after checking it as if typed."""
    upload = request.files.get("saved")
    # Read past the limit, so a file too large is reported with its real size.
    data = upload.read(savefile.READ_LIMIT + 1) if upload is not None else b""
    form = AssessmentForm()
    try:
        saved = savefile.load(data, form.saved_fields().keys())
    except savefile.SaveFileError as exc:
        return _form_page(form, 422, open_error=str(exc))
    form = AssessmentForm(MultiDict(saved.fields))
    if not form.validate():
        problems = "; ".join(f"{form[k].label.text}: {' '.join(v)}" for k, v in form.errors.items())
        return _form_page(
            AssessmentForm(),
            422,
            open_error=i18n.gettext(
                "The file holds values that are not allowed ({problems})."
            ).format(problems=problems),
        )
    evidence = current_app.extensions["calc_evidence"]
    notice = savefile.opened_notice(saved, evidence.evidence_version)
    notice += " " + i18n.gettext("Add the new follow-up values, then show the result.")
    return _form_page(form, 200, open_notice=notice)


@bp.get("/healthz")
def healthz() -> Response:
    evidence = current_app.extensions["calc_evidence"]
    return jsonify(
        {"status": "ok", "version": __version__, "evidence_version": evidence.evidence_version}
    )

"""The HTML pages: a thin adapter from the form to the engine and back.

Patient values arrive only in POST bodies and the result is rendered in the
POST response; nothing is stored, logged or put in a URL.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from .engine import assess
from .figure import build_figure
from .forms import FAILURE_TYPE_HINTS, AssessmentForm
from .report import (
    days_text,
    entered,
    input_line,
    meld_after_text,
    percent_text,
    pooled_tbil_text,
    range_kind_text,
    range_text,
    spread_kind_text,
    summary_text,
    tbil_text,
    unit_label,
)
from .version import __version__

bp = Blueprint("views", __name__)


@bp.app_context_processor
def _display_helpers() -> dict[str, object]:
    return {
        "days_text": days_text,
        "entered": entered,
        "input_line": input_line,
        "meld_after_text": meld_after_text,
        "percent_text": percent_text,
        "pooled_tbil_text": pooled_tbil_text,
        "range_kind_text": range_kind_text,
        "range_text": range_text,
        "spread_kind_text": spread_kind_text,
        "tbil_text": tbil_text,
        "unit_label": unit_label,
        "failure_type_hints": FAILURE_TYPE_HINTS,
        "evidence": current_app.extensions["calc_evidence"],
    }


def _form_page(form: AssessmentForm, status: int = 200) -> tuple[str, int]:
    return render_template("form.html", form=form), status


@bp.get("/")
def index() -> tuple[str, int]:
    return _form_page(AssessmentForm())


@bp.post("/")
def submit() -> tuple[str, int]:
    form = AssessmentForm(request.form)
    if request.form.get("action") == "edit":
        # "Edit inputs": the re-posted values fill the form again; nothing was stored.
        return _form_page(form)
    if not form.validate():
        return _form_page(form, 422)
    result = assess(form.to_inputs(), current_app.extensions["calc_evidence"])
    return (
        render_template(
            "result.html",
            form=form,
            a=result,
            figure=build_figure(result),
            summary=summary_text(result),
            patient_ref=(form.patient_ref.data or "").strip(),
            printed_on=date.today(),
        ),
        200,
    )


@bp.get("/healthz")
def healthz() -> Response:
    evidence = current_app.extensions["calc_evidence"]
    return jsonify(
        {"status": "ok", "version": __version__, "evidence_version": evidence.evidence_version}
    )

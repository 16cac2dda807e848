"""The language of the pages and the API: switcher, cookie, Accept-Language, cache, Vary.

And the numbers: whatever the language, the same inputs give the same numbers
(the JSON's numbers, the expected MELD on the page), and input is parsed the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calc import create_app
from calc.core import i18n
from calc.web.forms import AssessmentForm

GOOD = {"failure_type": "ACLF", "meld": "28", "alt": "240", "tbil": "320"}
ZH_TITLE = "肝衰竭 MSCT：预期病程"
EN_TITLE = "MSCT in liver failure: expected course"


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)">', html)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("tag", ["zh", "zh-CN", "zh-Hans", "zh-Hans-CN", "zh-cn", "zh_CN"])
def test_every_chinese_accept_language_selects_chinese(client: FlaskClient, tag: str) -> None:
    r = client.get("/", headers={"Accept-Language": tag})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _lang(html) == "zh-CN" and ZH_TITLE in html
    assert "Set-Cookie" not in r.headers  # a header chooses; only ?lang= is remembered


@pytest.mark.parametrize(
    "header",
    ["en", "en-GB,zh;q=0.5", "fr", "zh-TW", "zh-Hant", "", "zh;q=0", "de, en;q=0.1, zh;q=0.05"],
)
def test_other_accept_languages_stay_english(client: FlaskClient, header: str) -> None:
    html = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
    assert _lang(html) == "en" and EN_TITLE in html


def test_quality_values_choose_between_the_languages(client: FlaskClient) -> None:
    html = client.get("/", headers={"Accept-Language": "en;q=0.4, zh-CN;q=0.9"}).get_data(
        as_text=True
    )
    assert _lang(html) == "zh-CN"


def test_the_switcher_links_each_language_and_marks_the_current_one(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/?lang=zh-CN" lang="zh-CN" hreflang="zh-CN">简体中文</a>' in html
    assert '<span lang="en" aria-current="true">English</span>' in html
    zh = client.get("/?lang=zh-CN").get_data(as_text=True)
    assert '<a href="/?lang=en" lang="en" hreflang="en">English</a>' in zh
    assert '<span lang="zh-CN" aria-current="true">简体中文</span>' in zh


def test_lang_sets_a_strict_cookie_holding_only_the_language(client: FlaskClient) -> None:
    r = client.get("/?lang=zh-CN", headers={"Accept-Language": "en"})
    assert _lang(r.get_data(as_text=True)) == "zh-CN"
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("calc_lang=zh-CN;")
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    # The cookie then chooses, above Accept-Language, on every page, the result included.
    again = client.get("/", headers={"Accept-Language": "en"})
    assert _lang(again.get_data(as_text=True)) == "zh-CN"
    assert "Set-Cookie" not in again.headers
    result = client.post("/", data=GOOD, headers={"Accept-Language": "en"})
    assert "MSCT 后的预期病程：慢加急性肝衰竭 (ACLF)" in result.get_data(as_text=True)
    # And ?lang=en switches back.
    back = client.get("/?lang=en", headers={"Accept-Language": "zh"})
    assert _lang(back.get_data(as_text=True)) == "en"
    assert back.headers["Set-Cookie"].startswith("calc_lang=en;")


def test_the_cookie_is_secure_over_https() -> None:
    app = create_app({"TESTING": True, "HTTPS": True})
    cookie = app.test_client().get("/?lang=zh-CN").headers["Set-Cookie"]
    assert "; Secure" in cookie and "SameSite=Strict" in cookie


@pytest.mark.parametrize("value", ["xx", "zh-TW", "", "<script>"])
def test_an_unknown_lang_is_ignored_and_sets_no_cookie(client: FlaskClient, value: str) -> None:
    r = client.get("/", query_string={"lang": value})
    assert r.status_code == 200 and _lang(r.get_data(as_text=True)) == "en"
    assert "Set-Cookie" not in r.headers


def test_pages_vary_on_accept_language_and_cookie(client: FlaskClient) -> None:
    for r in (client.get("/"), client.post("/", data=GOOD), client.get("/nowhere")):
        assert {"Accept-Language", "Cookie"} <= {v.strip() for v in r.headers["Vary"].split(",")}
    api = client.post("/api/v1/assess", json={"failure_type": "ACLF"})
    assert "Accept-Language" in api.headers["Vary"] and "Cookie" not in api.headers["Vary"]


def test_the_empty_form_is_cached_once_per_language() -> None:
    app: Flask = create_app({"TESTING": True})
    client = app.test_client()
    en1, zh1 = client.get("/").data, client.get("/", headers={"Accept-Language": "zh"}).data
    en2, zh2 = client.get("/").data, client.get("/", headers={"Accept-Language": "zh"}).data
    assert en1 == en2 and zh1 == zh2 and en1 != zh1
    assert sorted(app.extensions["calc_empty_form"]) == ["", i18n.CHINESE]
    # Whatever clients send, the cache holds one page per supported language.
    for tag in ("zh-Hans", "zh-CN", "en-US", "fr", "zh_Hans_CN"):
        client.get("/", headers={"Accept-Language": tag})
    assert len(app.extensions["calc_empty_form"]) == len(i18n.LANGUAGES)


def test_the_chinese_form_labels_hints_and_errors(client: FlaskClient) -> None:
    r = client.post(
        "/", data={**GOOD, "meld": "50", "tbil": "1,2"}, headers={"Accept-Language": "zh"}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "基线终末期肝病模型(MELD)评分（经典 MELD，分）" in html
    assert "整数，6 至 40。或由下方化验值计算。" in html
    assert "基线 MELD 必须是 6 至 40 之间的整数。" in html
    assert "请勿使用千位分隔符（写 1200，不写 1,200）" in html
    assert "有 2 项输入存在问题" in html
    # WTForms' own validator (the length of the patient reference), in Chinese too.
    long = client.post(
        "/", data={**GOOD, "patient_ref": "x" * 41}, headers={"Accept-Language": "zh"}
    ).get_data(as_text=True)
    assert "患者编号最多 40 个字符。" in long
    # WTForms' built-in messages come from WTForms' own Simplified Chinese catalog.
    form = AssessmentForm()
    assert form.meta.get_translations(form) is None  # English: WTForms' defaults
    with i18n.language(i18n.CHINESE):
        translations = form.meta.get_translations(form)
        assert translations.gettext("This field is required.") == "该字段是必填字段。"


def test_the_chinese_result_page(client: FlaskClient) -> None:
    data = {**GOOD, "transplant_date": "2026-03-05"}
    html = client.post("/", data=data, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "MSCT 后的预期病程：慢加急性肝衰竭 (ACLF)" in html
    assert '<strong class="headline-value">约 13</strong>' in html
    assert "基线 MELD 28：治疗患者中观察到的较基线下降" in html
    assert "2026年3月5日" in html  # dates in words follow the locale
    assert "2026-03-05" in html  # the ISO date is unchanged
    assert '<a href="https://doi.org/10.1155/2018/9231710" rel="noreferrer" lang="en">' in html


def test_error_pages_in_chinese(client: FlaskClient) -> None:
    r = client.get("/nowhere", headers={"Accept-Language": "zh"})
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and "该地址没有页面。" in html and "错误 404" in html


def test_api_errors_follow_accept_language(client: FlaskClient) -> None:
    body = {"failure_type": "ACLF", "meld": 50, "alt": 240}
    zh = client.post("/api/v1/assess", json=body, headers={"Accept-Language": "zh-Hans"})
    assert zh.status_code == 422
    assert zh.get_json()["errors"] == {
        "meld": ["基线 MELD 必须是 6 至 40 之间的整数。"],
        "tbil": ["必须填写 总胆红素(TBil)：请输入 1 至 1710 μmol/L。"],
    }
    en = client.post("/api/v1/assess", json=body)
    assert en.get_json()["errors"]["meld"] == ["Baseline MELD must be a whole number from 6 to 40."]
    notfound = client.get("/api/v1/nowhere", headers={"Accept-Language": "zh"})
    assert notfound.get_json() == {"errors": {"request": ["该地址没有页面。"]}}


def test_the_api_ignores_the_page_cookie(client: FlaskClient) -> None:
    client.get("/?lang=zh-CN")
    r = client.post("/api/v1/assess", json={"failure_type": "ACLF", "meld": 50})
    assert r.get_json()["errors"]["meld"] == ["Baseline MELD must be a whole number from 6 to 40."]


def test_the_language_does_not_leak_into_the_next_request(client: FlaskClient) -> None:
    client.get("/", headers={"Accept-Language": "zh"})
    assert i18n.get_language() == i18n.DEFAULT
    assert _lang(client.get("/").get_data(as_text=True)) == "en"


# --------------------------------------------------------------------------
# The same numbers in both languages (H-24)

_APP = create_app({"TESTING": True})


def _assess(body: dict[str, Any], language: str) -> Any:
    r = _APP.test_client().post("/api/v1/assess", json=body, headers={"Accept-Language": language})
    return r.status_code, json.loads(r.data)


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for k in sorted(value) for n in _numbers(value[k])]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, bool) or value is None:
        return [value]
    if isinstance(value, int | float):
        return [value]
    return []


@pytest.mark.hazard("H-24")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    failure_type=st.sampled_from(["ACLF", "CLF", "ALF", "SALF"]),
    meld=st.integers(min_value=4, max_value=42),
    alt=st.one_of(st.integers(0, 60000), st.floats(0.01, 900, allow_nan=False)),
    tbil=st.one_of(st.integers(0, 2000), st.floats(0.01, 60, allow_nan=False)),
    tbil_unit=st.sampled_from(["umol/L", "mg/dL"]),
)
def test_h24_the_same_inputs_give_the_same_numbers_in_both_languages(
    failure_type: str, meld: int, alt: float, tbil: float, tbil_unit: str
) -> None:
    body = {
        "failure_type": failure_type,
        "meld": meld,
        "alt": alt,
        "tbil": tbil,
        "tbil_unit": tbil_unit,
    }
    en_status, en = _assess(body, "en")
    zh_status, zh = _assess(body, "zh-CN")
    assert en_status == zh_status
    if en_status == 200:
        assert _numbers(en) == _numbers(zh)
        assert sorted(en) == sorted(zh)
        assert [w["code"] for w in en["warnings"]] == [w["code"] for w in zh["warnings"]]
        expected = en["meld_reduction"]["expected_meld_after_display"]
        form = {k: str(v) for k, v in body.items()}
        form["tbil_unit"] = tbil_unit
        page = {
            lang: _APP.test_client()
            .post("/", data=form, headers={"Accept-Language": lang})
            .get_data(as_text=True)
            for lang in ("en", "zh")
        }
        if expected is not None:
            assert (
                f"about {expected}" in page["en"] or f"{expected} (the lowest MELD)" in page["en"]
            )
            assert f"约 {expected}" in page["zh"] or f"{expected}（MELD 最低值）" in page["zh"]
    else:
        # Refused in both, for the same fields.
        assert sorted(en["errors"]) == sorted(zh["errors"])


@pytest.mark.hazard("H-24")
@pytest.mark.parametrize("text", ["12.5", "1,2", "12,5", "1.200", "１２", "12.5e0", " 28 "])
def test_h24_input_is_parsed_the_same_way_in_both_languages(client: FlaskClient, text: str) -> None:
    """A point for decimals in both languages: a comma is refused in both, never read."""
    status = {}
    for lang in ("en", "zh"):
        r = client.post("/", data={**GOOD, "tbil": text}, headers={"Accept-Language": lang})
        status[lang] = r.status_code
    assert status["en"] == status["zh"]


@pytest.mark.hazard("H-24")
def test_h24_follow_up_worsening_is_worded_in_chinese_with_the_same_numbers(
    client: FlaskClient,
) -> None:
    body = {
        "failure_type": "ACLF",
        "meld": 27,
        "alt": 240,
        "tbil": 320,
        "transplant_date": "2026-01-10",
        "followup": {
            "alt_day15": {"value": 120, "day": 15},
            "tbil_day60": {"value": 400, "day": 60},
            "meld": {"value": 33, "date": "2026-01-24"},
        },
    }
    en = client.post("/api/v1/assess", json=body).get_json()
    zh = client.post("/api/v1/assess", json=body, headers={"Accept-Language": "zh"}).get_json()
    assert _numbers(en) == _numbers(zh)
    words = {w["code"]: w["message"] for w in zh["warnings"]}
    assert words["meld_rose"] == "MELD 已从 27 升至 33 于第 14 天。"
    assert words["tbil_rose"] == "TBil 已从 320 μmol/L 升至 400 μmol/L（+25 %） 于第 60 天。"
    assert words["alt_fall_with_worsening"].startswith(
        "ALT 下降（240 U/L → 120 U/L）而 MELD 和 TBIL 上升"
    )
    numbers = re.compile(r"\d+(?:\.\d+)?")
    for w_en, w_zh in zip(en["warnings"], zh["warnings"], strict=True):
        assert sorted(numbers.findall(w_en["message"])) == sorted(numbers.findall(w_zh["message"]))
    for m_en, m_zh in zip(en["followup"]["markers"], zh["followup"]["markers"], strict=True):
        assert sorted(numbers.findall(m_en["text"])) == sorted(numbers.findall(m_zh["text"]))


def test_opening_a_saved_file_is_worded_in_chinese(client: FlaskClient) -> None:
    import io

    empty = client.post(
        "/open",
        data={"saved": (io.BytesIO(b""), "calc-assessment.json")},
        headers={"Accept-Language": "zh"},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422 and "文件为空。" in empty.get_data(as_text=True)
    saved = client.post("/save", data={**GOOD, "patient_ref": "床 7"})
    opened = client.post(
        "/open",
        data={"saved": (io.BytesIO(saved.data), "calc-assessment.json")},
        headers={"Accept-Language": "zh"},
        content_type="multipart/form-data",
    )
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert "已打开 \u2068床 7\u2069 的评估，保存于 " in html
    assert "请填入新的随访值，然后显示结果。" in html


def test_lab_errors_in_chinese(client: FlaskClient) -> None:
    body = {"bilirubin": 2, "bilirubin_unit": "mg/dL", "inr": 35, "creatinine": 1.2}
    r = client.post("/api/v1/meld", json=body, headers={"Accept-Language": "zh-CN"})
    errors = r.get_json()["errors"]
    assert r.status_code == 422
    assert errors["creatinine_unit"] == ['必须填写肌酐单位："mg/dL" 或 "umol/L" (μmol/L)。']
    assert errors["inr"][0].endswith(
        "高于 20 的数值可能是以秒计的凝血酶原时间或以 % 计的 Quick 值：请输入 INR（无单位）。"
    )

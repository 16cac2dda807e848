"""Installable: a wheel built from the repository serves every page from a clean venv.

One build (about 20-40 s: the wheel, a fresh venv, its dependencies from the
package index). The source is copied to a temporary folder first, so that a
stale ``build/`` in the work tree cannot slip files into the wheel, and the
app runs from a folder without the source, so it can only find its templates
and static files inside the installed package.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

from tests.served import clean_env, serve

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ["pyproject.toml", "setup.py", "README.md", "calc", "templates", "static"]
PATIENT = {"failure_type": "ACLF", "meld": "28", "alt": "240", "tbil": "320"}


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"href", "src"} and value and value.startswith("/static/"):
                self.assets.add(value.split("?", 1)[0])


def _assets(html: str) -> set[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.assets


def _run(*args: str | Path, cwd: Path, timeout: float = 600, ok: tuple[int, ...] = (0,)) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode in ok, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_the_wheel_installs_in_a_clean_venv_and_serves_every_page(tmp_path: Path) -> None:
    src, wheels, venv, run = (tmp_path / d for d in ("src", "wheels", "venv", "run"))
    for d in (src, run):
        d.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, src / name)

    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, src, cwd=tmp_path)
    (wheel,) = wheels.glob("calc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, packaged in [("templates", "calc/templates"), ("static", "calc/static")]:
        for f in (ROOT / folder).iterdir():
            assert f"{packaged}/{f.name}" in names, f"{f.name} is not in the wheel"
    assert "calc/core/data/evidence.json" in names
    # The Chinese catalog: its source and the .mo the build compiled from it (setup.py).
    catalog = "calc/translations/zh_Hans_CN/LC_MESSAGES/messages"
    assert f"{catalog}.po" in names and f"{catalog}.mo" in names
    assert zipfile.ZipFile(wheel).read(f"{catalog}.mo").startswith(b"\xde\x12\x04\x95")
    assert not any(n.startswith(("tests/", "loadtest/")) for n in names)

    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, calc = venv / "bin" / "python", venv / "bin" / "calc"
    _run(python, "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    where = _run(python, "-c", "import calc; print(calc.__file__)", cwd=run).strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not the source

    text = _run(calc, "assess", "--failure-type", "ACLF", "--meld", "28", "--alt", "240",
                "--tbil", "320", cwd=run)  # fmt: skip
    assert "13.07" in text  # 28 - 14.93, Cao 2018
    text = _run(calc, "--lang", "zh-CN", "assess", "--failure-type", "ACLF", "--meld", "50",
                "--alt", "240", "--tbil", "320", cwd=run, ok=(2,))  # fmt: skip
    assert "基线 MELD 必须是 6 至 40 之间的整数。" in text
    # The installed package reads its compiled catalog, not a .po.
    loaded = _run(python, "-c", "from calc.core import i18n; t = i18n.translations(i18n.CHINESE);"
                  " print(type(t).__name__, i18n._catalog_files(i18n.CHINESE)[1].is_file())",
                  cwd=run)  # fmt: skip
    assert loaded.split() == ["Translations", "True"]

    env = clean_env({"HOME": str(tmp_path)})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    js = {"Content-Type": "application/json"}
    with serve(tmp_path / "logs", command=[str(calc)], env=env, cwd=run) as server:
        status, _, page = server.request("GET", "/")
        assert status == 200 and b"<form" in page
        status, _, result = server.request("POST", "/", urlencode(PATIENT), form)
        assert status == 200 and b"13.07" in result
        status, _, errors = server.request("POST", "/", urlencode({"meld": "99"}), form)
        assert status == 422 and b'id="error-summary"' in errors
        assets = _assets(page.decode()) | _assets(result.decode())
        assert {"/static/calc.css", "/static/calc.js"} <= assets
        for asset in sorted(assets):
            status, headers, body = server.request("GET", asset)
            assert status == 200, asset
            assert body == (ROOT / asset.removeprefix("/")).read_bytes(), asset
            assert headers["X-Content-Type-Options"] == "nosniff"
        status, _, body = server.request("GET", "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
        for path in ("/api/v1/openapi.json", "/api/v1/evidence"):
            status, _, body = server.request("GET", path)
            assert status == 200 and json.loads(body), path
        status, _, body = server.request("POST", "/api/v1/assess", json.dumps(PATIENT), js)
        assert status == 422  # the API wants JSON numbers, not strings
        numbers = {**PATIENT, "meld": 28, "alt": 240, "tbil": 320}
        status, _, body = server.request("POST", "/api/v1/assess", json.dumps(numbers), js)
        assert status == 200 and json.loads(body)["meld_reduction"]["mean"] == 14.93
        status, _, body = server.request("GET", "/nowhere")
        assert status == 404 and b"There is no page at this address." in body
        zh = {"Accept-Language": "zh-CN"}
        status, _, page = server.request("GET", "/", headers=zh)
        assert status == 200 and '<html lang="zh-CN">' in page.decode()
        status, _, result = server.request("POST", "/", urlencode(PATIENT), {**form, **zh})
        assert status == 200 and "约 13" in result.decode() and b"13.07" in result
    assert server.stderr.strip() == "", server.stderr

"""Section 4: page weight, the page and every same-origin asset it loads.

The HTML is parsed for what a browser fetches on load: stylesheets, icons,
preloads, scripts, images (``src`` and ``srcset``), and ``url(...)`` inside
the stylesheets. Links to other pages (``<a href>``) are not fetched. An asset
on another host is counted as third-party and not fetched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

Fetch = Callable[[str, str, bytes | None, str | None], tuple[int, bytes]]
"""(method, path, body, content type) -> (status, body)."""

_LOADED_RELS = {"stylesheet", "icon", "shortcut", "preload", "modulepreload", "manifest"}
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and _LOADED_RELS & set(a.get("rel", "").lower().split()):
            self.urls.append(a.get("href", ""))
        elif tag in {"script", "img", "source", "iframe", "embed"} and a.get("src"):
            self.urls.append(a["src"])
        if a.get("srcset"):
            self.urls += [part.split()[0] for part in a["srcset"].split(",") if part.strip()]


@dataclass(frozen=True)
class PageWeight:
    page: str
    status: int
    bytes: int
    requests: int
    assets: dict[str, int] = field(default_factory=dict)  # path -> bytes
    third_party: tuple[str, ...] = ()


def weigh(
    name: str,
    fetch: Fetch,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str | None = None,
) -> PageWeight:
    status, html = fetch(method, path, body, content_type)
    parser = _Assets()
    parser.feed(html.decode("utf-8", errors="replace"))
    queue = [urljoin(path, u) for u in parser.urls if u]
    assets: dict[str, int] = {}
    third: list[str] = []
    while queue:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.scheme not in {"", "http", "https"} or parts.netloc:
            if parts.scheme != "data":
                third.append(url)
            continue
        local = parts.path + (f"?{parts.query}" if parts.query else "")
        if local in assets:
            continue
        asset_status, data = fetch("GET", local, None, None)
        assets[local] = len(data) if asset_status == 200 else 0
        if local.endswith(".css"):
            queue += [
                urljoin(local, u)
                for u in _CSS_URL.findall(data.decode("utf-8", "replace"))
                if not u.startswith("data:")
            ]
    return PageWeight(
        page=name,
        status=status,
        bytes=len(html) + sum(assets.values()),
        requests=1 + len(assets) + len(third),
        assets=assets,
        third_party=tuple(third),
    )

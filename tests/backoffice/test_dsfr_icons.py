"""Every DSFR icon class the pages name exists in the DSFR stylesheets they load.

A class DSFR does not define renders as a solid square (``fr-icon-key-line`` did, in the
back-office header's "Jetons d'API" link): nothing else fails on it, no test, no axe
rule."""

from __future__ import annotations

import re
from pathlib import Path

import dsfr

ROOT = Path(__file__).resolve().parents[2]
# What {% dsfr_css %} loads: the core stylesheet and the utilities (the icons among them).
LOADED = ("dsfr/dist/dsfr/dsfr.min.css", "dsfr/dist/utility/utility.min.css")
STYLESHEETS = [Path(dsfr.__file__).parent / "static" / name for name in LOADED]
# An icon class (``fr-icon-arrow-left-line``), not a modifier (``fr-icon--sm``) nor the
# start of a name built in a template (``fr-icon-{{ … }}``).
ICON = re.compile(r"\bfr-icon-[a-z0-9]+(?:-[a-z0-9]+)*\b")
SOURCES = ("templates", "backoffice", "tickets", "accounts", "establishments", "worker")


def _icons_named() -> dict[str, set[str]]:
    named: dict[str, set[str]] = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".html", ".py", ".txt") or "migrations" in path.parts:
                continue
            for icon in ICON.findall(path.read_text(encoding="utf-8")):
                named.setdefault(icon, set()).add(str(path.relative_to(ROOT)))
    return named


def test_the_stylesheets_the_pages_load_are_there():
    for sheet in STYLESHEETS:
        assert sheet.is_file(), sheet
    tag = _dsfr_css_tag()
    for name in LOADED:
        assert f"/static/{name}" in tag


def _dsfr_css_tag() -> str:
    from django.template import Context, Template

    return Template("{% load dsfr_tags %}{% dsfr_css %}").render(Context())


def test_every_icon_class_the_pages_name_is_defined_by_dsfr():
    css = "".join(sheet.read_text(encoding="utf-8") for sheet in STYLESHEETS)
    named = _icons_named()
    assert "fr-icon-arrow-left-line" in named  # the scan sees the templates
    missing = {
        icon: sorted(paths)
        for icon, paths in named.items()
        if not re.search(rf"\.{re.escape(icon)}(?:::?before|::?after)", css)
    }
    assert missing == {}, f"icônes absentes du DSFR (carré plein à l'écran) : {missing}"

"""The page's scripts and styles (secondme/web/static, loaded by secondme.web.scripts)."""

from __future__ import annotations

import json

from secondme.web import Settings, scripts
from secondme.web.launch import launch_options, page_config


def test_the_config_cannot_end_its_script_element() -> None:
    hostile = {"title": "</script><script>alert(1)</script>", "comment": "<!-- -->", "amp": "&lt;",
               "lines": "a\u2028b\u2029c", "nested": {"list": ["</SCRIPT >"]}}
    text = scripts.config_json(hostile)
    assert not set("<>&\u2028\u2029") & set(text), text
    assert json.loads(text) == hostile
    page = scripts.head(hostile)
    assert page.lower().count("</script") == len(scripts.FILES) + 1  # each element's own end, and no other


def test_the_head_has_the_config_then_every_script_in_order() -> None:
    page = scripts.head({"a": 1})
    assert page.startswith('<script>\nwindow.secondmeConfig = {"a": 1};</script>')
    places = [page.index(scripts.read(name)) for name in scripts.FILES]
    assert places == sorted(places)
    assert {path.name for path in scripts.STATIC.glob("*.js")} == set(scripts.FILES)


def test_the_styles_start_with_page_css_then_the_others_by_name() -> None:
    styles = sorted(path.name for path in scripts.STATIC.glob("*.css"))
    assert "page.css" in styles
    text = scripts.css()
    assert text.startswith(scripts.read("page.css"))
    places = [text.index(scripts.read(name)) for name in styles if name != "page.css"]
    assert places == sorted(places)


def test_the_launch_gives_the_page_its_settings() -> None:
    from secondme.web import build_app

    app = build_app(Settings(instance_id="someone", lock_instance=True, max_message_chars=1234))
    options = launch_options(app)
    assert options["css"] == scripts.css()
    config = page_config(app.settings, True)
    assert config["chat"]["locked"] is True and config["chat"]["messageChars"] == 1234
    assert options["head"] == scripts.head(config)

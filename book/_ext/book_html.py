"""Small HTML fixes for the book (a local Sphinx extension, listed in `_config.yml`).

- Inline ``<script>`` bodies that Sphinx 7.4 emits twice (sphinx-thebe's and
  sphinx-togglebutton's configuration) are written once: the second ``const THEBE_JS_URL``
  was a console error on every page.
- ``figure.full-width`` (a ``{glue:figure}`` or ``{figure}`` with ``:figclass: full-width``)
  spans the text column and the right margin, like a ``full-width`` code cell.
- Every figure image links to its full-size file (click to enlarge).
- The bibliography style ``authoryear``: entries labelled "Larsen et al., 2022", the same
  text the author-year citations in the chapters show (pybtex's default labels are
  alphabetic codes such as "LFBG22").
"""
from pathlib import Path

from pybtex.plugin import register_plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

STATIC = Path(__file__).parent / "static"


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (getattr(js, "filename", str(js)) or None,  # an inline body has filename None or ""
               tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept


def _last_name(person) -> str:
    return Text.from_latex(" ".join(person.prelast_names + person.last_names)).render_as("text")


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Gordon, 1988", "Frankle and Carbin, 2019", "Larsen et al., 2022" (a, b... if equal)."""

    def format_labels(self, sorted_entries):
        labels = []
        for entry in sorted_entries:
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            if len(people) == 1:
                who = _last_name(people[0])
            elif len(people) == 2:
                who = f"{_last_name(people[0])} and {_last_name(people[1])}"
            elif people:
                who = f"{_last_name(people[0])} et al."
            else:
                who = entry.key
            labels.append(f"{who}, {entry.fields.get('year', 'n.d.')}")
        for label in labels:
            same = [i for i, other in enumerate(labels) if other == label]
            if len(same) > 1:
                for k, i in enumerate(same):
                    labels[i] = label + "abcdefghijklmnopqrstuvwxyz"[k]
        yield from labels


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels


register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)


def _static_path(app):
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _static_path)
    app.connect("html-page-context", _dedupe_scripts, priority=999)
    app.add_css_file("book.css")
    app.add_js_file("book.js", defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}

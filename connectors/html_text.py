"""Reduce the HTML of a comment or post to the plain text a person would read.

Connectors hand `Record.text` to triage, suggestions and chat alerts, which all want plain text:
no tags, entities decoded, scripts and styles gone, paragraphs and line breaks kept as newlines.
This runs once per fetched entry, so the common case (a short comment with no markup) takes a
fast path that never starts an HTML parser.

>>> html_to_text("<p>Caf&eacute; opens at <b>9</b>.<br>Thanks!</p><script>x()</script>")
'Café opens at 9.\\nThanks!'
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# Elements whose text is never shown to a reader. `head` is handled apart because documents
# routinely leave it unclosed, and its contents must not swallow the body.
_HIDDEN = frozenset({"script", "style", "template"})
# Elements that stand apart as paragraphs (a blank line around them) or start a new line.
_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl", "hr"}
)
_LINE = frozenset(
    {
        "div", "li", "dt", "dd", "tr", "section", "article", "header", "footer", "aside",
        "nav", "figure", "figcaption", "address", "main",
    }
)  # fmt: skip
# In HTML every run of whitespace in the source is one space; line breaks come from elements.
_SPACES = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0
        self._in_head = False
        # Newlines owed before the next visible text: 1 = line break, 2 = paragraph break.
        # Holding them back makes "</li> <li>" one break, not two, and drops breaks at the ends.
        self._pending = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            # Unlike block edges, consecutive <br>s add up (a blank line is intended).
            self._pending = min(self._pending + 1, 2)
        elif tag in _PARAGRAPH:
            self._pending = 2
        elif tag in _LINE:
            self._pending = max(self._pending, 1)
        elif tag in _HIDDEN:
            self._hidden_depth += 1
        elif tag == "head":
            self._in_head = True
        elif tag == "body":
            self._in_head = False

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and <hr/> are one break, and a self-closed <script/> hides nothing.
        if tag not in _HIDDEN:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _PARAGRAPH:
            self._pending = 2
        elif tag in _LINE:
            self._pending = max(self._pending, 1)
        elif tag in _HIDDEN:
            if self._hidden_depth:
                self._hidden_depth -= 1
        elif tag == "head":
            self._in_head = False

    def handle_data(self, data: str) -> None:
        if self._hidden_depth or self._in_head:
            return
        text = _SPACES.sub(" ", data)
        if self._pending:
            if text == " " or not text:
                return  # whitespace between blocks is source formatting, not content
            if self.parts:
                self.parts.append("\n" * self._pending)
            self._pending = 0
        self.parts.append(text)


def _tidy_lines(text: str, *, squeeze: bool = False) -> str:
    """Strip every line, keep at most one blank line in a row, drop leading/trailing blanks."""
    lines: list[str] = []
    blank = False
    for raw in text.split("\n"):
        line = " ".join(raw.split()) if squeeze else raw.strip()
        if line:
            lines.append(line)
            blank = False
        elif lines and not blank:
            lines.append("")
            blank = True
    if blank:
        lines.pop()
    return "\n".join(lines)


def html_to_text(html: str) -> str:
    """Return the readable plain text of an HTML fragment or document.

    Entities are decoded; `script`, `style` and `head` contents are dropped; `<br>`, paragraphs,
    list items, headings and other blocks become line breaks; other whitespace runs become one
    space. Markup that is not HTML at all ("a < b") is kept as text.

    >>> html_to_text("AT&amp;T <i>rocks</i>\\n  really")
    'AT&T rocks really'
    """
    if "<" not in html:
        # No markup: only entities and whitespace to deal with.
        if "&" in html:
            html = unescape(html)
        return " ".join(html.split())
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _tidy_lines("".join(parser.parts))


def tidy_text(text: str) -> str:
    """Normalise text that is already plain: spaces squeezed, line breaks kept, ends stripped.

    For content a feed declares as plain text, where `<` and `&` are meant literally.

    >>> tidy_text("  Hello,\\r\\n\\n\\n\\tworld  <3 ")
    'Hello,\\n\\nworld <3'
    """
    if "\n" not in text and "\r" not in text:
        return " ".join(text.split())
    return _tidy_lines(text.replace("\r\n", "\n").replace("\r", "\n"), squeeze=True)

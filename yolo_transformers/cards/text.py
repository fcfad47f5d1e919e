"""What the model and dataset cards share: their Jinja templates and the checks and escaping of what they interpolate.

User-controlled text reaches a card only escaped for its context: Markdown lines, table cells and headings through
:func:`markdown_cell` (the templates' ``md`` filter), inline code through :func:`code_span` (``code``), Python
snippets through :func:`python_string` (``pystr``), shell snippets through :func:`shell_word` (``sh``); the YAML
header is written by ``huggingface_hub``'s YAML dumper. Repository ids also pass :func:`check_repo_id`.
"""

from __future__ import annotations

import json
import re
import shlex
from importlib import resources
from typing import Any

from ..errors import HubError

__all__ = ["check_repo_id", "markdown_cell", "code_span", "python_string", "shell_word", "card_template",
           "TEMPLATE_PACKAGE"]

#: The installed package holding the card templates (the repository's top-level ``model_cards/`` folder).
TEMPLATE_PACKAGE = "yolo_transformers.model_cards"


def check_repo_id(value: str, what: str) -> str:
    """Validate a Hub repository id (``owner/name``); it is pasted into code snippets and metadata.

    Raises:
        HubError: ``value`` is not a valid repository id; the message names ``what``.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(value)
    except HFValidationError as error:
        raise HubError(f"{what}={value!r} is not a valid Hub repository id ({error}); use 'owner/name'.") from None
    return value


# Characters that open inline markup mid-line: links/images, emphasis, code, strikethrough, table cells. (Values
# never start a line, so block markers such as '#', '-' or '1.' are plain text where they land.)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]()!~|])")
# Renderers turn bare URLs, www. names and e-mail addresses into links: a zero-width space breaks the pattern.
_AUTOLINK = re.compile(r"(?i)(://|www\.|@)")


def markdown_cell(value: Any) -> str:
    """Text safe as one line of Markdown: a table cell, a heading, a paragraph.

    Line breaks collapse to spaces (nothing breaks out of its line); ``&``, ``<`` and ``>`` become entities (no
    HTML); inline-markup characters are backslash-escaped (no links, images, emphasis or code spans),
    and bare URLs, ``www.`` names and e-mail addresses get a zero-width space so no renderer links them.
    """
    text = " ".join(str(value).split())
    text = _AUTOLINK.sub(lambda m: m.group(1)[0] + "\u200b" + m.group(1)[1:], text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def code_span(value: Any) -> str:
    """An inline Markdown code span holding ``value`` on one line, safe inside a table cell.

    The fence is one backtick longer than the longest run of backticks in the text, so nothing closes it early;
    pipes are escaped as GitHub tables require even inside code.
    """
    text = " ".join(str(value).split()).replace("|", "\\|")
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    return f"{fence} {text} {fence}" if runs or text.startswith(" ") else f"{fence}{text}{fence}"


def python_string(value: Any) -> str:
    """A double-quoted Python string literal (for code snippets): escapes quotes, backslashes and line breaks."""
    return json.dumps(str(value), ensure_ascii=True)


def shell_word(value: Any) -> str:
    """One shell word (for ``bash`` snippets), quoted when it needs to be."""
    return shlex.quote(str(value))


def card_template(name: str) -> Any:
    """The Jinja template ``name`` from :data:`TEMPLATE_PACKAGE`, with the ``md`` and ``num`` filters.

    Markdown, not HTML, so autoescaping is off: user-controlled text goes through the ``md``, ``code``, ``pystr``
    or ``sh`` filter of its context.
    """
    import jinja2

    source = resources.files(TEMPLATE_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["md"] = markdown_cell
    environment.filters["code"] = code_span
    environment.filters["pystr"] = python_string
    environment.filters["sh"] = shell_word
    environment.filters["num"] = lambda n: f"{int(n):,}"
    return environment.from_string(source)

"""What the model and dataset cards share: their Jinja templates and the checks and escaping of what they interpolate.

User-controlled text (class names, titles, file names) only reaches a card through :func:`markdown_cell` (the
templates' ``md`` filter); repository ids pasted into code snippets and metadata go through :func:`check_repo_id`.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from ..errors import HubError

__all__ = ["check_repo_id", "markdown_cell", "card_template", "TEMPLATE_PACKAGE"]

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


def markdown_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell (no pipes, line breaks or HTML from user-controlled names)."""
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def card_template(name: str) -> Any:
    """The Jinja template ``name`` from :data:`TEMPLATE_PACKAGE`, with the ``md`` and ``num`` filters.

    Markdown, not HTML, so autoescaping is off: user-controlled text goes through the ``md`` filter.
    """
    import jinja2

    source = resources.files(TEMPLATE_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["md"] = markdown_cell
    environment.filters["num"] = lambda n: f"{int(n):,}"
    return environment.from_string(source)

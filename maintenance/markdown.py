"""Runbook Markdown: rendering (markdown-it-py, sanitised by nh3), the steps a body holds, files, diffs.

A runbook body is CommonMark: an optional introduction, then the steps as a top-level numbered
list. A step's first paragraph is its text; fenced code blocks inside the item are its commands.
A runbook file is the body under a small front matter block (``title``, ``slug``, ``kind``,
``position``) so a folder of them can live in git.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

# Raw HTML in a runbook is shown as text (html=False); nh3 then drops anything not on this list.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}


def render(body: str) -> str:
    """Markdown to HTML that is safe to put in a page (no script, no event handlers, no javascript: URLs)."""
    html = _md.render(body or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


@dataclass(frozen=True)
class Step:
    text: str
    code: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "code": self.code}


def _plain(inline: Token) -> str:
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def parse_steps(body: str) -> list[dict[str, str]]:
    """The steps of a body: each item of the top-level numbered list(s), with its commands."""
    tokens = _md.parse(body or "")
    steps: list[Step] = []
    depth = 0  # nesting of lists; only items of top-level ordered lists are steps
    current: dict[str, Any] | None = None
    for tok in tokens:
        if tok.type in ("ordered_list_open", "bullet_list_open"):
            depth += 1
        elif tok.type in ("ordered_list_close", "bullet_list_close"):
            depth -= 1
        elif tok.type == "list_item_open" and depth == 1 and tok.markup in (".", ")"):
            current = {"text": None, "code": []}
        elif tok.type == "list_item_close" and depth == 1 and current is not None:
            steps.append(Step(current["text"] or "", "\n".join(current["code"])))
            current = None
        elif current is not None:
            if tok.type == "inline" and current["text"] is None:
                current["text"] = _plain(tok)
            elif tok.type in ("fence", "code_block"):
                current["code"].append(tok.content.rstrip("\n"))
    return [s.as_dict() for s in steps]


# Files -------------------------------------------------------------------------------------

FRONT = re.compile(r"\A---\n(?P<meta>.*?)\n---\n?", re.S)
META_KEYS = ("title", "slug", "kind", "position")


class RunbookFileError(ValueError):
    """A runbook file that cannot be read; the message names the file and the problem."""


def split_file(text: str, *, name: str = "runbook") -> tuple[dict[str, str], str]:
    """Front matter and body of a runbook file."""
    text = text.replace("\r\n", "\n")
    m = FRONT.match(text)
    if not m:
        raise RunbookFileError(f"{name}: starts without a front matter block (---, title: ..., ---)")
    meta: dict[str, str] = {}
    for line in m.group("meta").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise RunbookFileError(f"{name}: front matter line {line!r} is not 'key: value'")
        meta[key.strip().lower()] = value.strip()
    if not meta.get("title"):
        raise RunbookFileError(f"{name}: front matter has no title")
    return meta, text[m.end() :].lstrip("\n")


def join_file(meta: dict[str, Any], body: str) -> str:
    head = "".join(f"{k}: {meta[k]}\n" for k in META_KEYS if meta.get(k) not in (None, ""))
    return f"---\n{head}---\n{body.rstrip()}\n"


def diff_lines(old: str, new: str, *, old_label: str, new_label: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line) pairs; kind is add, del, hunk, head or same."""
    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(
        (old or "").splitlines(), (new or "").splitlines(), fromfile=old_label, tofile=new_label, lineterm=""
    ):
        if line.startswith(("---", "+++")):
            kind = "head"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append((kind, line))
    return out

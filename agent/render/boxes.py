"""Box drawing for plain text: the seed's ╔═╗ header and approval boxes and ┌─┐ metric boxes."""

from __future__ import annotations

import textwrap

from agent.render.format import cell_width, pad

BANNER_WIDTH = 62  # the seed's ╔═╗ boxes, borders included
BOX_WIDTH = 46  # the seed's ┌─┐ boxes


def _center(text: str, width: int) -> str:
    left = max(0, (width - cell_width(text)) // 2)
    return pad(" " * left + text, width)


def _wrapped(lines: list[str], width: int) -> list[str]:
    """Body lines folded to `width` columns (a continuation is indented under the line's text), so that
    every box of a kind keeps the seed's one width however long a line is."""
    out = []
    for line in lines:
        if cell_width(line) <= width:
            out.append(line)
            continue
        lead = len(line) - len(line.lstrip(" "))
        hang = lead + (2 if line.lstrip().startswith(("• ", "- ")) else 0)
        out += textwrap.wrap(line, width, initial_indent="", subsequent_indent=" " * hang,
                             break_long_words=True, break_on_hyphens=False, drop_whitespace=True) or [line]
    return out


def double_box(titles: list[str], body: list[str] | None = None, min_inner: int = BANNER_WIDTH - 2) -> list[str]:
    """Centred titles; with `body`, a ╠═╣ rule and the body's lines indented two spaces."""
    inner = max([min_inner, *(cell_width(t) + 4 for t in titles)])
    body = _wrapped(body, inner - 4) if body is not None else None
    lines = ["╔" + "═" * inner + "╗"] + ["║" + _center(t, inner) + "║" for t in titles]
    if body is not None:
        lines.append("╠" + "═" * inner + "╣")
        lines += ["║  " + pad(b, inner - 2) + "║" for b in body]
    return lines + ["╚" + "═" * inner + "╝"]


def single_box(
    title: str, body: list[str], min_inner: int = BOX_WIDTH - 2, rule: bool = True, body_indent: int = 2
) -> list[str]:
    """A ┌─┐ box: the title one space in, an optional ├─┤ rule, the body `body_indent` spaces in."""
    inner = max(min_inner, cell_width(title) + 2)
    body = _wrapped(body, inner - body_indent - 2)
    lines = ["┌" + "─" * inner + "┐", "│ " + pad(title, inner - 1) + "│"]
    if rule:
        lines.append("├" + "─" * inner + "┤")
    lines += ["│" + " " * body_indent + pad(b, inner - body_indent) + "│" for b in body]
    return lines + ["└" + "─" * inner + "┘"]


def banner(headline: str, width: int = 63) -> list[str]:
    """The closing ═══ banner with the headline centred."""
    width = max(width, cell_width(headline) + 4)
    return ["═" * width, _center(headline, width).rstrip(), "═" * width]

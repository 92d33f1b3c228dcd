"""Box drawing for plain text: the seed's ╔═╗ header and approval boxes and ┌─┐ metric boxes."""

from __future__ import annotations

from agent.render.format import cell_width, pad


def _center(text: str, width: int) -> str:
    left = max(0, (width - cell_width(text)) // 2)
    return pad(" " * left + text, width)


def double_box(titles: list[str], body: list[str] | None = None, min_inner: int = 60) -> list[str]:
    """Centred titles; with `body`, a ╠═╣ rule and the body's lines indented two spaces."""
    widths = [cell_width(t) + 4 for t in titles] + [cell_width(b) + 4 for b in body or []]
    inner = max([min_inner, *widths])
    lines = ["╔" + "═" * inner + "╗"] + ["║" + _center(t, inner) + "║" for t in titles]
    if body is not None:
        lines.append("╠" + "═" * inner + "╣")
        lines += ["║  " + pad(b, inner - 2) + "║" for b in body]
    return lines + ["╚" + "═" * inner + "╝"]


def single_box(
    title: str, body: list[str], min_inner: int = 44, rule: bool = True, body_indent: int = 2
) -> list[str]:
    """A ┌─┐ box: the title one space in, an optional ├─┤ rule, the body `body_indent` spaces in."""
    widths = [cell_width(title) + 2] + [cell_width(b) + body_indent + 2 for b in body]
    inner = max([min_inner, *widths])
    lines = ["┌" + "─" * inner + "┐", "│ " + pad(title, inner - 1) + "│"]
    if rule:
        lines.append("├" + "─" * inner + "┤")
    lines += ["│" + " " * body_indent + pad(b, inner - body_indent) + "│" for b in body]
    return lines + ["└" + "─" * inner + "┘"]


def banner(headline: str, width: int = 63) -> list[str]:
    """The closing ═══ banner with the headline centred."""
    width = max(width, cell_width(headline) + 4)
    return ["═" * width, _center(headline, width).rstrip(), "═" * width]

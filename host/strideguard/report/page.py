"""HTML building blocks shared by the reports: the page shell with its inline style,
tiles, tables and figures. Everything is escaped; nothing is loaded from outside."""

from __future__ import annotations

import html
from collections.abc import Sequence

from strideguard import __version__

STYLE = """
:root { color-scheme: light; --ink:#1d2327; --muted:#5f6b73; --line:#d9dee2; --bg:#ffffff;
  --stop:#c62828; --caution:#ef8f00; --coach:#1565c0; --ok:#2e7d32; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 920px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.45rem; line-height: 1.25; margin: 0.2rem 0 0.3rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 0.5rem; border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
p, li { max-width: 70ch; }
.sub { color: var(--muted); margin: 0 0 0.8rem; }
.badge { display: inline-block; font-size: 0.8rem; padding: 0 0.5em; border-radius: 1em;
  background: #eceff1; color: var(--muted); vertical-align: middle; }
.verdict { border-radius: 10px; padding: 12px 14px; margin: 12px 0; color: #fff; font-weight: 600; }
.verdict.stop { background: var(--stop); } .verdict.caution { background: var(--caution); }
.verdict.coach { background: var(--coach); } .verdict.ok { background: var(--ok); }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 8px; }
.tile { border: 1px solid var(--line); border-radius: 10px; padding: 8px 10px; }
.tile .v { font-size: 1.35rem; font-weight: 700; }
.tile .k { color: var(--muted); font-size: 0.85rem; }
ul.advice { padding-left: 0; list-style: none; }
ul.advice li { border-left: 6px solid var(--line); padding: 6px 10px; margin: 6px 0; background: #f7f8f9; }
ul.advice li.stop { border-color: var(--stop); } ul.advice li.caution { border-color: var(--caution); }
ul.advice li.coach { border-color: var(--coach); } ul.advice li.ok { border-color: var(--ok); }
figure { margin: 12px 0; }
figure img { width: 100%; max-width: 640px; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.9rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: 0.92rem; min-width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f2f4f5; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.stop td:first-child { border-left: 4px solid var(--stop); }
tr.caution td:first-child { border-left: 4px solid var(--caution); }
tr.coach td:first-child { border-left: 4px solid var(--coach); }
td.flag { background: #fdecea; font-weight: 600; }
.warn { border-left: 6px solid var(--stop); background: #fdecea; padding: 6px 10px; margin: 6px 0; }
dl.explain dt { font-weight: 600; margin-top: 0.6rem; }
dl.explain dd { margin: 0 0 0 0; color: #333; }
footer { color: var(--muted); font-size: 0.85rem; margin: 2rem 0 1rem; }
@media print { main { max-width: none; padding: 0; } h2 { break-after: avoid; }
  figure, table, .tile { break-inside: avoid; } .noprint { display: none; } }
"""


def esc(text: object) -> str:
    """HTML-escape ``text``."""
    return html.escape(str(text), quote=True)


def page(title: str, body: str, *, extra_style: str = "") -> str:
    """A complete, self-contained HTML document."""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="strideguard {esc(__version__)}">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}{extra_style}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def tiles(items: Sequence[tuple[str, str]]) -> str:
    """A grid of ``(value, label)`` tiles."""
    cells = "".join(
        f'<div class="tile"><div class="v">{esc(v)}</div><div class="k">{esc(k)}</div></div>'
        for v, k in items
    )
    return f'<div class="tiles">{cells}</div>'


def table(
    head: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    row_classes: Sequence[str] | None = None,
    cell_classes: Sequence[Sequence[str]] | None = None,
) -> str:
    """A scrollable table (cells are escaped)."""
    num = set(numeric)
    th = "".join(
        f'<th class="num">{esc(h)}</th>' if i in num else f"<th>{esc(h)}</th>"
        for i, h in enumerate(head)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{esc(row_classes[r])}"' if row_classes and row_classes[r] else ""
        tds = []
        for i, cell in enumerate(row):
            classes = []
            if i in num:
                classes.append("num")
            if cell_classes and cell_classes[r][i]:
                classes.append(cell_classes[r][i])
            c = f' class="{" ".join(classes)}"' if classes else ""
            tds.append(f"<td{c}>{esc(cell)}</td>")
        body.append(f"<tr{cls}>{''.join(tds)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def figure(uri: str, alt: str, caption: str) -> str:
    """An embedded plot with its caption."""
    return (
        f'<figure><img src="{uri}" alt="{esc(alt)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def footer(text: str) -> str:
    """The page footer."""
    return f"<footer>{esc(text)}</footer>"

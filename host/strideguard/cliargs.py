"""The CLI's one validation layer for numbers, and a parser that refuses in one line.

Every numeric option of every command (the product's and the dev kit's) declares
its type with a range: :func:`real` for measured quantities, :func:`whole` for
counts. The check runs where argparse converts the text, so a command cannot
forget it, and it refuses NaN, infinities, text and values out of range before
anything starts::

    p.add_argument("--speed", type=real(0, 100, lo_open=True), default=1.0)
    p.add_argument("--seed", type=whole(0, SEED_MAX), default=0)

:class:`CliParser` (the parser class of ``strideguard`` and all its subcommands)
answers a usage mistake with one line on stderr and exit code 2, like every
other input error, instead of argparse's usage block. A bare ``type=int`` or
``type=float`` still converts through the same check (any finite value), and
:func:`unbounded_numeric_options` finds such options for the test that keeps every
option bounded.

Example
-------
>>> speed = real(0, 100, lo_open=True)
>>> speed("2.5")
2.5
>>> speed("nan")
Traceback (most recent call last):
argparse.ArgumentTypeError: must be a number in (0, 100], not 'nan'
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from typing import NoReturn

#: simulator seeds: what numpy's generators accept, kept to 32 bits so a seed fits anywhere
SEED_MAX = 2**32 - 1
#: longest text of a bad value quoted back in an error message
SHOWN_CHARS = 40


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """A value quoted for a one-line message: ``repr``, control characters escaped, shortened."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_name(name: object, limit: int = SHOWN_CHARS) -> str:
    """A key from a file as it reads: bare when it is a short printable string, else quoted."""
    if isinstance(name, str) and name.isprintable() and 0 < len(name) <= limit and " " not in name:
        return name
    return shown(name, limit)


class Number:
    """An argparse ``type``: a finite number within ``[lo, hi]`` (ends open when asked).

    Parameters
    ----------
    lo, hi
        The allowed range (finite).
    integer
        Whole numbers only (``int`` results).
    lo_open, hi_open
        Exclude the end itself (``(0, 100]`` for a speed factor).

    Attributes
    ----------
    bounded
        Whether the range was declared (``False`` for the stand-ins behind bare
        ``type=int``/``type=float``).
    """

    def __init__(
        self,
        lo: float,
        hi: float,
        *,
        integer: bool = False,
        lo_open: bool = False,
        hi_open: bool = False,
        bounded: bool = True,
    ) -> None:
        if bounded and not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"bad range [{lo}, {hi}]")
        self.lo, self.hi = lo, hi
        self.integer = integer
        self.lo_open, self.hi_open = lo_open, hi_open
        self.bounded = bounded
        self.__name__ = "whole number" if integer else "number"  # argparse's messages use it

    def range_text(self) -> str:
        """The range as a reader sees it: ``[0, 1]``, ``(0, 100]``, ``from 1 to 8``."""
        if not self.bounded:
            return "finite"
        if self.integer:
            return f"from {_fmt(self.lo)} to {_fmt(self.hi)}"
        left = "(" if self.lo_open else "["
        right = ")" if self.hi_open else "]"
        return f"in {left}{_fmt(self.lo)}, {_fmt(self.hi)}{right}"

    def _refuse(self, text: str) -> NoReturn:
        kind = "a whole number" if self.integer else "a number"
        what = f"{kind} {self.range_text()}" if self.bounded else f"a finite {kind[2:]}"
        raise argparse.ArgumentTypeError(f"must be {what}, not {shown(text)}")

    def __call__(self, text: str) -> float | int:
        """Convert and check ``text``; raise :class:`argparse.ArgumentTypeError` if it fails."""
        value: float | int
        try:
            if self.integer:
                value = int(text.strip(), 10)
            else:
                value = float(text)
        except (TypeError, ValueError):
            self._refuse(text)
        if not math.isfinite(value):
            self._refuse(text)
        if not self.bounded:
            return value
        below = value <= self.lo if self.lo_open else value < self.lo
        above = value >= self.hi if self.hi_open else value > self.hi
        if below or above:
            self._refuse(text)
        return value

    def __repr__(self) -> str:
        return f"Number({self.range_text()})"


def _fmt(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def real(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Number:
    """A finite real number in ``[lo, hi]`` (``lo_open``/``hi_open`` exclude an end)."""
    return Number(lo, hi, lo_open=lo_open, hi_open=hi_open)


def whole(lo: int, hi: int) -> Number:
    """A whole number from ``lo`` to ``hi`` inclusive."""
    return Number(lo, hi, integer=True)


#: what a bare ``type=int``/``type=float`` converts through: finite, but no range declared
ANY_INT = Number(-math.inf, math.inf, integer=True, bounded=False)
ANY_FLOAT = Number(-math.inf, math.inf, bounded=False)


class CliParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that refuses bad usage in one line (exit 2).

    Subparsers made by ``add_subparsers().add_parser`` are of the same class, so
    every command of ``strideguard`` — the product's and the plugins' — behaves alike.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # a forgotten range still gets the finiteness check (and a test finds it)
        self.register("type", int, ANY_INT)
        self.register("type", float, ANY_FLOAT)

    def error(self, message: str) -> NoReturn:
        """Print the mistake as one line and exit with 2.

        ``strideguard: error: simulate --rate: must be a number in [100, 1000], not '50'
        (see `strideguard simulate --help`)``: the same prefix as every other input error.
        """
        if message.startswith("argument "):  # "argument --rate/-r: ..." -> "--rate: ..."
            head, _, rest = message[len("argument ") :].partition(": ")
            message = f"{head.split('/')[0]}: {rest}"
        prog, _, command = self.prog.partition(" ")
        where = f"{command} " if command and prog == "strideguard" else ""
        label = "strideguard" if prog == "strideguard" else self.prog
        line = " ".join(f"{label}: error: {where}{message}".split())
        self.exit(2, f"{line} (see `{self.prog} --help`)\n")


def iter_options(
    parser: argparse.ArgumentParser, command: str = ""
) -> Iterator[tuple[str, argparse.Action]]:
    """Every option of ``parser`` and of its subcommands, as ``(command, action)``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from iter_options(sub, f"{command} {name}".strip())
        else:
            yield command, action


def numeric_type(parser: argparse.ArgumentParser, action: argparse.Action) -> Number | None:
    """The :class:`Number` an option converts through (``None`` if it takes no number)."""
    t = parser._registry_get("type", action.type, action.type)
    return t if isinstance(t, Number) else None


def unbounded_numeric_options(parser: argparse.ArgumentParser) -> list[str]:
    """Options that take a number without declaring its range (should be none)."""
    out = []
    for command, action in iter_options(parser):
        t = numeric_type(parser, action)
        if t is not None and not t.bounded:
            out.append(f"{command} {'/'.join(action.option_strings) or action.dest}")
    return out


def main_error(message: str) -> None:
    """Print ``strideguard: error: <message>`` as one line on stderr."""
    line = " ".join(str(message).split())
    if len(line) > 400:
        line = line[:399] + "…"
    print(f"strideguard: error: {line}", file=sys.stderr)

"""A benchmark's target and whether the run met it (printed, and written to the JSON)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    target: str
    value: float
    threshold: float
    met: bool
    note: str = ""

    def line(self) -> str:
        """One line with rich markup: the figure, its ratio to the target, MET or NOT MET."""
        ratio = f" ({self.value / self.threshold:.2f}x the target)" if self.threshold else ""
        return (
            f"target {self.target}: {self.value:,.1f}{ratio} -> "
            f"{'[green]MET[/]' if self.met else '[red]NOT MET[/]'}{'; ' + self.note if self.note else ''}"
        )

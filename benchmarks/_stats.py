"""The figures every benchmark prints, computed one way: percentiles, medians and ratios against a floor.

Imported by the scripts beside it (`python benchmarks/x.py` puts this folder first on sys.path).
"""

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.99 for p99): a value that was measured, never interpolated."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil(n * fraction), at least the first
    return ordered[min(len(ordered), int(rank)) - 1]


def median(samples: Sequence[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    return statistics.median(samples)


def summary(samples: Sequence[float], *fractions: float, digits: int = 2) -> dict[str, float]:
    """{"p50": …, "p99": …} for `fractions` (default 0.5, 0.9, 0.99), rounded to `digits`; p50 is the median."""
    wanted = fractions or (0.5, 0.9, 0.99)
    figures = {}
    for fraction in wanted:
        value = median(samples) if fraction == 0.5 else percentile(samples, fraction)
        figures[f"p{round(fraction * 100):g}"] = round(value, digits)
    return figures


def describe(samples: Sequence[float], unit: str = "ms", *fractions: float) -> str:
    """'p50 1.20 ms, p90 1.90 ms, p99 3.10 ms (300 samples)'."""
    parts = [f"{name} {value:.2f} {unit}" for name, value in summary(samples, *fractions).items()]
    return ", ".join(parts) + f" ({len(samples)} samples)"


def ratio(value: float, floor: float) -> str:
    """'0.41x': `value` against the floor measured beside it."""
    return f"{value / floor:.2f}x" if floor else "n/a"

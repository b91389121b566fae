"""API Gateway HTTP API route selection: exact paths, `{param}`, greedy `{proxy+}`, `ANY`, `$default`.

The most specific route wins: segment by segment a literal beats `{param}`, which beats `{proxy+}`; for the
same path a route for the request's method beats `ANY`; `$default` catches what nothing else matches.
"""

from collections.abc import Iterable
from dataclasses import dataclass

_LITERAL, _PARAM, _GREEDY = 0, 1, 2
DEFAULT_ROUTE = "$default"


@dataclass(frozen=True)
class Match:
    """The selected route key and the path parameters it captured."""

    route_key: str
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/") if path.strip("/") else []


def _match_path(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Rank per template segment and captured parameters, or None when `path` does not fit `template`."""
    wanted, actual = _segments(template), _segments(path)
    ranks: list[int] = []
    parameters: dict[str, str] = {}
    for index, segment in enumerate(wanted):
        if segment.startswith("{") and segment.endswith("+}"):
            rest = actual[index:]
            if index != len(wanted) - 1 or not rest:
                return None
            parameters[segment[1:-2]] = "/".join(rest)
            return (*ranks, _GREEDY), parameters
        if index >= len(actual):
            return None
        if segment.startswith("{") and segment.endswith("}"):
            parameters[segment[1:-1]] = actual[index]
            ranks.append(_PARAM)
        elif segment == actual[index]:
            ranks.append(_LITERAL)
        else:
            return None
    return (tuple(ranks), parameters) if len(wanted) == len(actual) else None


def select(route_keys: Iterable[str], method: str, path: str) -> Match | None:
    """The route API Gateway would pick for `method path`, or None (API Gateway answers 404)."""
    best: tuple[tuple[int, ...], int] | None = None
    chosen: Match | None = None
    keys = list(route_keys)
    for key in keys:
        route_method, _, template = key.partition(" ")
        if key == DEFAULT_ROUTE or route_method not in (method.upper(), "ANY"):
            continue
        matched = _match_path(template, path)
        if matched is None:
            continue
        rank = (matched[0], 0 if route_method != "ANY" else 1)
        if best is None or rank < best:
            best, chosen = rank, Match(key, matched[1])
    if chosen is None and DEFAULT_ROUTE in keys:
        return Match(DEFAULT_ROUTE, {})
    return chosen

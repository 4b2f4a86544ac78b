"""Privacy rules for aggregates that leave the system: small counts and the cells that would give them away.

Every aggregate epitrace releases (curves, totals, KPI counts, cluster sizes) is a cell of an
additive table: a total and its parts (a city and its districts, a week and its days). The rule
is applied here, once, to the whole set of linked tables a release draws from.

Primary suppression
    A count from 1 to ``threshold - 1`` is suppressed and shown as ``"<threshold"``. Zero is
    shown: it identifies nobody.

Secondary (complementary) suppression
    A suppressed cell must not be recoverable from the cells around it, e.g. a district's
    ``"<5"`` as the city total minus the other districts, or a day as its week minus the other
    days. This is the standard cell-suppression method of statistical offices (Cox 1980; the
    "minimum value" cost of tau-ARGUS), in two steps:

    1. *Singleton rule.* In every relation (a total and its parts) that has exactly one
       suppressed cell, also suppress the smallest released non-zero cell of that relation, a
       part or the total (ties: the first key by ``repr``). Repeat until no relation has exactly
       one suppressed cell.
    2. *Audit and repair.* The singleton rule is necessary but not enough (two small cells in a
       row can still be pinned by their sum; a cell can be exposed through a chain of rows and
       columns). So every suppressed cell is audited against the attacker who knows every
       relation and every released cell, that primary cells lie in ``[1, threshold - 1]`` and
       secondary ones in ``[threshold, ...)`` (they were released non-zero counts, which are
       never below the threshold): the linear programmes min and max of the cell over that
       feasible set (for a cell linked through a single relation, the same range by interval
       arithmetic, which is exact there). A cell whose range is narrower than one case is
       *exposed*; it is repaired by suppressing the smallest released non-zero cell (those in
       its own relations first) that gives it a range, or, when none does alone, the smallest
       one, and auditing again. The audit is the LP relaxation; tests check the result against
       an exact integer (MILP) attacker.

    Suppressing one more cell only turns a fixed value into a range that contains it, so it can
    never narrow another cell's range: cells that pass the audit stay protected and the loop
    ends. Zeros are never suppressed, which is why the attacker may know that a secondary cell
    is at least the threshold. Not modelled: an attacker who replays the choice of complements
    (that a complement was the smallest cell of its row) or who knows some cells from elsewhere.

Shown values
    Primary cells are shown as ``"<threshold"``, secondary ones as ``"x"`` (the usual mark of a
    cell withheld to protect another), released ones as the count.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TypeVar

DEFAULT_SMALL_COUNT = 5
SECONDARY_MARK = "x"

K = TypeVar("K", bound=Hashable)


class Suppression(StrEnum):
    """How a cell is released."""

    RELEASED = "released"
    PRIMARY = "primary"
    """A count from 1 to threshold - 1."""
    SECONDARY = "secondary"
    """Withheld so that a primary cell cannot be worked out from totals."""


def _check_threshold(threshold: int) -> None:
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1, got {threshold}")


def suppress_small(count: int, *, threshold: int = DEFAULT_SMALL_COUNT) -> int | str:
    """The count, or ``"<threshold"`` when it is positive and below the threshold.

    Zero is shown: it identifies nobody. Use this for a count that is released alone (no total
    and parts around it); for tables use ``protect``.

    Examples
    --------
    >>> suppress_small(3), suppress_small(0), suppress_small(12)
    ('<5', 0, 12)
    """
    _check_threshold(threshold)
    return f"<{threshold}" if 0 < count < threshold else count


def shown(count: int, status: Suppression, *, threshold: int = DEFAULT_SMALL_COUNT) -> int | str:
    """What a cell shows: the count, ``"<threshold"`` (primary) or ``"x"`` (secondary).

    Examples
    --------
    >>> shown(3, Suppression.PRIMARY), shown(12, Suppression.SECONDARY), shown(12, Suppression.RELEASED)
    ('<5', 'x', 12)
    """
    _check_threshold(threshold)
    if status is Suppression.PRIMARY:
        return f"<{threshold}"
    if status is Suppression.SECONDARY:
        return SECONDARY_MARK
    return count


def legend(threshold: int = DEFAULT_SMALL_COUNT) -> dict[str, str]:
    """What the marks mean, for every release that carries them."""
    return {f"<{threshold}": f"1 to {threshold - 1} cases",
            SECONDARY_MARK: f"withheld so that a count below {threshold} cannot be worked out from totals"}


def protect(values: Mapping[K, int], relations: Iterable[tuple[K, Sequence[K]]], *,
            threshold: int = DEFAULT_SMALL_COUNT) -> dict[K, Suppression]:
    """Primary and secondary suppression of linked additive tables (see the module docstring).

    Parameters
    ----------
    values
        Every cell's count, by any hashable key. Ties are broken by the keys' ``repr``, so the
        same table always gets the same pattern (a pattern that changed between requests would
        give cells away by comparison).
    relations
        ``(total, parts)``: the total's count is the sum of its parts' counts.
    threshold
        Counts from 1 to ``threshold - 1`` are suppressed.

    Returns
    -------
    dict
        Each cell's ``Suppression``.

    Examples
    --------
    A city of two districts: one district is small, so the other is withheld too.

    >>> status = protect({"city": 12, "north": 3, "south": 9}, [("city", ["north", "south"])])
    >>> [str(status[k]) for k in ("city", "north", "south")]
    ['released', 'primary', 'secondary']
    """
    _check_threshold(threshold)
    rels: list[tuple[K, ...]] = []
    for total, parts in relations:
        cells = (total, *parts)
        missing = [c for c in cells if c not in values]
        if missing:
            raise ValueError(f"relation of {total!r} names cells without a count: {missing[:3]!r}")
        if values[total] != sum(values[p] for p in parts):
            raise ValueError(f"relation of {total!r} does not add up: {values[total]} != sum of parts "
                             f"{sum(values[p] for p in parts)}")
        rels.append(cells)
    for key, count in values.items():
        if count < 0:
            raise ValueError(f"cell {key!r} has a negative count {count}")
    rank = {k: i for i, k in enumerate(sorted(values, key=repr))}
    status = {k: Suppression.PRIMARY if 0 < v < threshold else Suppression.RELEASED for k, v in values.items()}
    by_cell: dict[K, list[int]] = defaultdict(list)
    for i, cells in enumerate(rels):
        for c in cells:
            by_cell[c].append(i)

    def smallest(cells: Iterable[K]) -> list[K]:
        open_cells = {c for c in cells if status[c] is Suppression.RELEASED and values[c] > 0}
        return sorted(open_cells, key=lambda c: (values[c], rank[c]))

    # 1. Singleton rule.
    queue = deque(range(len(rels)))
    while queue:
        cells = rels[queue.popleft()]
        if sum(status[c] is not Suppression.RELEASED for c in cells) != 1:
            continue
        pick = smallest(cells)[0]  # a relation that adds up has a released non-zero cell besides one hidden one
        status[pick] = Suppression.SECONDARY
        queue.extend(by_cell[pick])

    # 2. Audit and repair.
    auditor = _Auditor(values, rels, by_cell, status, threshold)
    todo = deque(sorted((c for c in values if status[c] is not Suppression.RELEASED), key=rank.__getitem__))
    while todo:
        cell = todo.popleft()
        while not auditor.protected(cell):
            own, rest = auditor.candidates(cell)
            candidates = smallest(own) + [c for c in smallest(rest) if c not in set(own)]
            if not candidates:
                break  # nothing left to withhold around it (cannot happen for tables that add up)
            pick = next((c for c in candidates if auditor.protected(cell, extra=c)), candidates[0])
            status[pick] = Suppression.SECONDARY
            todo.append(pick)
    return status


class _Auditor:
    """The attacker's linear programmes over the suppressed cells of one connected component."""

    def __init__(self, values, rels, by_cell, status, threshold) -> None:  # type: ignore[no-untyped-def]
        self.values, self.rels, self.by_cell, self.status, self.threshold = values, rels, by_cell, status, threshold
        # Any cap at or above every true count only shrinks the feasible set: the audit stays conservative.
        self.cap = max(values.values(), default=0) + threshold
        self.certified: set = set()

    def _hidden(self, cell, extra) -> bool:  # type: ignore[no-untyped-def]
        return cell == extra or self.status[cell] is not Suppression.RELEASED

    def component(self, cell, extra=None) -> tuple[list, list[int]]:  # type: ignore[no-untyped-def]
        """Suppressed cells connected to ``cell`` through relations, and those relations."""
        seen, rels, stack = {cell}, set(), [cell]
        while stack:
            current = stack.pop()
            for r in self.by_cell[current]:
                if r in rels:
                    continue
                rels.add(r)
                for other in self.rels[r]:
                    if other not in seen and self._hidden(other, extra):
                        seen.add(other)
                        stack.append(other)
        return sorted(seen, key=repr), sorted(rels)

    def candidates(self, cell) -> tuple[list, list]:  # type: ignore[no-untyped-def]
        """Released cells of the cell's own relations, and of the rest of its component."""
        cells, rels = self.component(cell)
        own = [c for r in self.by_cell[cell] for c in self.rels[r]]
        rest = [c for r in rels for c in self.rels[r]]
        return own, rest

    def protected(self, cell, extra=None) -> bool:  # type: ignore[no-untyped-def]
        if extra is None and cell in self.certified:
            return True
        cells, rels = self.component(cell, extra)
        index = {c: i for i, c in enumerate(cells)}
        hidden_per_rel = [sum(self._hidden(c, extra) for c in self.rels[r]) for r in rels]
        if any(h == 1 and cell in self.rels[r] for h, r in zip(hidden_per_rel, rels, strict=True)):
            return False
        if len(rels) == 1:  # one equation over a box: interval arithmetic is exact, no LP needed
            low, high = self._interval(cell, rels[0], extra)
            return high - low >= 1
        solutions = self._solve(cells, index, rels, extra, target=cell)
        truth = [self.values[c] for c in cells]
        ok = False
        for x in solutions:
            moved = {c for c, v, t in zip(cells, x, truth, strict=True) if abs(v - t) >= 1 - 1e-6}
            if extra is None:
                self.certified |= moved
            ok = ok or cell in moved
        return ok

    def _bounds(self, cell, extra) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        if not self._hidden(cell, extra):
            return self.values[cell], self.values[cell]
        if self.status[cell] is Suppression.PRIMARY and cell != extra:
            return 1, self.threshold - 1
        return self.threshold, self.cap

    def _interval(self, cell, r: int, extra) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        """The cell's range from one relation, total - sum(parts) = 0, every other cell within its bounds."""
        low = high = 0.0  # range of the relation's other terms, signed as the cell's own term
        sign_of = {c: 1.0 if i == 0 else -1.0 for i, c in enumerate(self.rels[r])}
        for other in self.rels[r]:
            if other == cell:
                continue
            lo, hi = self._bounds(other, extra)
            factor = -sign_of[other] * sign_of[cell]  # cell = factor-weighted sum of the others
            low, high = low + min(factor * lo, factor * hi), high + max(factor * lo, factor * hi)
        lo, hi = self._bounds(cell, extra)
        return max(lo, low), min(hi, high)

    def _solve(self, cells, index, rels, extra, *, target):  # type: ignore[no-untyped-def]
        """Vertices of the attacker's polytope: the target's max, then (unless that moved it) its min."""
        import numpy as np
        from scipy.optimize import linprog
        from scipy.sparse import lil_matrix

        t = self.threshold
        n = len(cells)
        a = np.zeros((len(rels), n)) if n * len(rels) <= 40_000 else lil_matrix((len(rels), n))  # dense is faster when small
        b = np.zeros(len(rels))
        for row, r in enumerate(rels):
            for position, c in enumerate(self.rels[r]):
                sign = 1.0 if position == 0 else -1.0  # total - sum(parts) = 0
                if self._hidden(c, extra):
                    a[row, index[c]] += sign
                else:
                    b[row] -= sign * self.values[c]
        bounds = [(1, t - 1) if self.status[c] is Suppression.PRIMARY and c != extra else (t, self.cap) for c in cells]
        unit = np.zeros(n)
        unit[index[target]] = 1.0
        objectives = [-unit, unit]  # max, then min; each vertex also certifies the other cells it moves
        truth = self.values[target]
        solutions = []
        matrix = a if isinstance(a, np.ndarray) else a.tocsr()
        for objective in objectives:
            result = linprog(objective, A_eq=matrix, b_eq=b, bounds=bounds, method="highs")
            if result.status != 0:
                continue  # numerical trouble: treat as no evidence of protection (conservative)
            solutions.append(result.x)
            if abs(result.x[index[target]] - truth) >= 1 - 1e-6:
                break
        return solutions

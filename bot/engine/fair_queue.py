"""The waiting line for submits: FIFO per member, round-robin across members and across servers.

One busy member cannot starve the rest of their server, and one busy server cannot starve the
other servers: each dispatch takes the oldest job of the next member of the next server.

A line can hold tens of thousands of jobs after a restart, so neither a place in line nor the first
few of the order is found by walking (or copying) the whole line.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

_G = TypeVar("_G")


class FairQueue:
    def __init__(self) -> None:
        # guild -> (user -> their job ids, oldest first); both levels rotate after each dispatch
        self._guilds: OrderedDict[int, OrderedDict[int, deque[int]]] = OrderedDict()
        self._where: dict[int, tuple[int, int]] = {}
        self._sizes: dict[int, int] = {}  # guild -> its jobs in line (positions need no walk)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._where

    def push(self, job_id: int, guild_id: int, user_id: int, *, front: bool = False) -> None:
        """Add a job at the back of its member's line (``front``: give a requeued job its turn back)."""
        if job_id in self._where:
            return
        members = self._guilds.setdefault(guild_id, OrderedDict())
        line = members.setdefault(user_id, deque())
        if front:
            line.appendleft(job_id)
            members.move_to_end(user_id, last=False)
            self._guilds.move_to_end(guild_id, last=False)
        else:
            line.append(job_id)
        self._where[job_id] = (guild_id, user_id)
        self._sizes[guild_id] = self._sizes.get(guild_id, 0) + 1

    def remove(self, job_id: int) -> bool:
        where = self._where.pop(job_id, None)
        if where is None:
            return False
        guild_id, user_id = where
        members = self._guilds[guild_id]
        members[user_id].remove(job_id)
        if not members[user_id]:
            del members[user_id]
        self._shrink(guild_id)
        return True

    def pop(self) -> int | None:
        """The next job to submit, rotating its member and server to the back."""
        if not self._guilds:
            return None
        guild_id, members = next(iter(self._guilds.items()))
        user_id, line = next(iter(members.items()))
        job_id = line.popleft()
        del self._where[job_id]
        if line:
            members.move_to_end(user_id)
        else:
            del members[user_id]
        if members:
            self._guilds.move_to_end(guild_id)
        self._shrink(guild_id)
        return job_id

    def _shrink(self, guild_id: int) -> None:
        """One job of ``guild_id`` left the line; forget the server once it has none."""
        self._sizes[guild_id] -= 1
        if not self._sizes[guild_id]:
            del self._sizes[guild_id]
            del self._guilds[guild_id]

    def order(self, limit: int | None = None) -> list[int]:
        """The dispatch order from now on (first ``limit`` jobs), without changing anything.

        Generated lazily, round by round, so the first few cost a few steps however long the line is.
        """
        want = len(self._where) if limit is None else min(limit, len(self._where))
        return list(itertools.islice(_rounds(list(self._guilds.values()), _member_turns), want))

    def position(self, job_id: int) -> int | None:
        """1-based place in line (None when not queued), without walking the line.

        Every member of a server gives one job per round of that server, in the order the server's
        members now rotate; every server gives one job per round of the line, in the order servers
        now rotate. So a job ``d`` deep in its member's line is the ``p``-th of its server's turns, with
        ``p`` = Σ over the server's members of min(their jobs, d) + the members ahead with more than
        ``d``; and its place is Σ over servers of min(their jobs, p) + the servers ahead with more than
        ``p``, plus one: O(its depth + members of its server + servers), not O(length of the line).
        """
        where = self._where.get(job_id)
        if where is None:
            return None
        guild_id, user_id = where
        members = self._guilds[guild_id]
        depth = members[user_id].index(job_id)
        turn = _place(((u, len(line)) for u, line in members.items()), user_id, depth)
        return _place(((g, self._sizes[g]) for g in self._guilds), guild_id, turn) + 1


def _place(sizes: Iterable[tuple[int, int]], mine: int, depth: int) -> int:
    """How many turns come before the ``depth``-th turn of ``mine`` when each entry of ``sizes``
    (in rotation order) takes one turn per round while it has any left."""
    before, ahead = 0, True
    for who, size in sizes:
        if who == mine:
            ahead = False
            before += depth
        else:
            before += min(size, depth) + (1 if ahead and size > depth else 0)
    return before


def _member_turns(members: OrderedDict[int, deque[int]]) -> Iterator[int]:
    """One server's jobs in the order its turns take them (members round-robin, each FIFO)."""
    return _rounds(list(members.values()), iter)


def _rounds(groups: list[_G], expand: Callable[[_G], Iterator[int]]) -> Iterator[int]:
    """Round-robin over ``groups`` (each expanded to its own order), dropping each when it runs out."""
    live = [expand(g) for g in groups]
    while live:
        still: list[Iterator[int]] = []
        for it in live:
            job = next(it, None)
            if job is not None:
                still.append(it)
                yield job
        live = still

"""The waiting line for submits: FIFO per member, round-robin across members and across servers.

One busy member cannot starve the rest of their server, and one busy server cannot starve the
other servers: each dispatch takes the oldest job of the next member of the next server.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class FairQueue:
    def __init__(self) -> None:
        # guild -> (user -> their job ids, oldest first); both levels rotate after each dispatch
        self._guilds: OrderedDict[int, OrderedDict[int, deque[int]]] = OrderedDict()
        self._where: dict[int, tuple[int, int]] = {}

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

    def remove(self, job_id: int) -> bool:
        where = self._where.pop(job_id, None)
        if where is None:
            return False
        guild_id, user_id = where
        members = self._guilds[guild_id]
        members[user_id].remove(job_id)
        if not members[user_id]:
            del members[user_id]
        if not members:
            del self._guilds[guild_id]
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
        else:
            del self._guilds[guild_id]
        return job_id

    def order(self, limit: int | None = None) -> list[int]:
        """The dispatch order from now on (first ``limit`` jobs), without changing anything."""
        guilds = [(g, [list(line) for line in members.values()]) for g, members in self._guilds.items()]
        out: list[int] = []
        cursors = [[0] * len(lines) for _, lines in guilds]
        user_turn = [0] * len(guilds)
        remaining = len(self._where)
        want = remaining if limit is None else min(limit, remaining)
        while len(out) < want:
            for gi, (_, lines) in enumerate(guilds):
                if len(out) >= want:
                    break
                for _ in range(len(lines)):  # the next member of this server who still has jobs
                    ui = user_turn[gi] % len(lines)
                    user_turn[gi] += 1
                    if cursors[gi][ui] < len(lines[ui]):
                        out.append(lines[ui][cursors[gi][ui]])
                        cursors[gi][ui] += 1
                        break
        return out

    def position(self, job_id: int, *, limit: int = 1000) -> int | None:
        """1-based place in line (None when not queued, or further back than ``limit``)."""
        if job_id not in self._where:
            return None
        try:
            return self.order(limit).index(job_id) + 1
        except ValueError:
            return None

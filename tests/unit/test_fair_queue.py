"""The submit line is fair: members and servers take turns; a member's own jobs stay in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.engine.fair_queue import FairQueue


def drain(q: FairQueue) -> list[int]:
    out = []
    while (job := q.pop()) is not None:
        out.append(job)
    return out


def test_one_busy_member_does_not_starve_others() -> None:
    q = FairQueue()
    for job in range(1, 11):
        q.push(job, guild_id=1, user_id=100)  # alice queues ten
    q.push(11, guild_id=1, user_id=200)  # bob queues one
    q.push(12, guild_id=2, user_id=300)  # another server queues one
    predicted = q.order()
    popped = drain(q)
    assert predicted == popped
    assert popped[:4] == [1, 12, 11, 2]


def test_positions_and_cancel() -> None:
    q = FairQueue()
    q.push(1, 1, 100)
    q.push(2, 1, 100)
    q.push(3, 1, 200)
    assert [q.position(j) for j in (1, 2, 3)] == [1, 3, 2]
    assert q.remove(3) and not q.remove(3)
    assert q.position(2) == 2 and q.position(3) is None
    assert len(q) == 2 and 1 in q


def test_requeue_at_front_keeps_its_turn() -> None:
    q = FairQueue()
    q.push(1, 1, 100)
    q.push(2, 1, 200)
    first = q.pop()
    q.push(first or 0, 1, 100, front=True)  # e.g. the vendor said 429: it goes first again
    assert q.pop() == 1


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 4)), max_size=40))
def test_order_matches_pops_and_keeps_each_members_fifo(entries: list[tuple[int, int]]) -> None:
    q = FairQueue()
    for job, (guild, user) in enumerate(entries):
        q.push(job, guild, user)
    predicted = q.order()
    popped = drain(q)
    assert predicted == popped
    assert sorted(popped) == list(range(len(entries)))
    for guild, user in set(entries):
        mine = [j for j in popped if entries[j] == (guild, user)]
        assert mine == sorted(mine)


Op = tuple[str, int, int]
OPS = st.lists(
    st.tuples(
        st.sampled_from(("push", "push", "front", "pop", "remove")), st.integers(1, 4), st.integers(1, 5)
    ),
    max_size=80,
)


@given(OPS)
def test_positions_stay_the_places_in_the_order_through_any_changes(ops: list[Op]) -> None:
    """Positions are computed without walking the line; they must still be exactly the order's places."""
    q, queued, next_id = FairQueue(), [], 0
    for op, guild, user in ops:
        if op in ("push", "front"):
            next_id += 1
            q.push(next_id, guild, user, front=op == "front")
            queued.append(next_id)
        elif op == "pop":
            popped = q.pop()
            if popped is not None:
                queued.remove(popped)
        elif queued:
            victim = queued[(guild * user) % len(queued)]
            assert q.remove(victim)
            queued.remove(victim)
        order = q.order()
        assert sorted(order) == sorted(queued)
        assert [q.position(j) for j in order] == list(range(1, len(order) + 1))
        assert q.order(3) == order[:3]


def test_a_long_line_answers_positions_without_walking_it() -> None:
    q = FairQueue()
    for job in range(50_000):
        q.push(job, guild_id=job % 50, user_id=job % 2000)
    assert q.position(0) == 1 and q.position(49_999) == 50_000
    assert q.order(5) == [0, 1, 2, 3, 4]

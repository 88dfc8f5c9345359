"""The one definition of a job's states, which are active and which end it.

Storage owns the states because the database enforces them (a ``CHECK`` on ``jobs.state``) and every
compare-and-set transition names the states it moves from. Everything above storage compares
against these members, never against strings.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"  # holding its cost, waiting for a key with budget
    SUBMITTING = "submitting"  # the create call is in flight (its remote id not yet stored)
    RUNNING = "running"  # the vendor has it; the engine polls
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in ACTIVE

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


ACTIVE: frozenset[JobState] = frozenset({JobState.QUEUED, JobState.SUBMITTING, JobState.RUNNING})
TERMINAL: frozenset[JobState] = frozenset(JobState) - ACTIVE
NOT_SPENT: frozenset[JobState] = frozenset({JobState.FAILED, JobState.TIMED_OUT, JobState.CANCELLED})


def sql_set(states: frozenset[JobState]) -> str:
    """``('queued', 'running', …)`` for an ``IN`` clause; built from the enum, so it cannot drift."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(states)) + ")"

"""Run every benchmark in turn: ``python -m bench`` from the repository root."""

from __future__ import annotations

from bench import interactions, ledger, poller, restart, size

BENCHMARKS = (ledger, poller, interactions, restart, size)


def main() -> None:
    for module in BENCHMARKS:
        print(f"== bench.{module.__name__.rsplit('.', 1)[-1]} ==", flush=True)
        module.main([])


if __name__ == "__main__":
    main()

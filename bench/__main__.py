"""Run every benchmark in turn: ``python -m bench`` from the repository root."""

from __future__ import annotations

from bench import interactions, ledger, poller

BENCHMARKS = (ledger, poller, interactions)


def main() -> None:
    for module in BENCHMARKS:
        print(f"== bench.{module.__name__.rsplit('.', 1)[-1]} ==", flush=True)
        module.main([])


if __name__ == "__main__":
    main()

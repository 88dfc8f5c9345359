"""Benchmarks (not tests): each module has a ``main()``; ``python -m bench`` runs them all."""

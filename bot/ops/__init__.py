"""Operating the bot: ``python -m bot doctor`` (is it ready?) and ``python -m bot backup`` (a safe copy)."""

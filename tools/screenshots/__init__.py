"""The README's pictures of what members see, made from what the fake Discord records.

Why from the fakes: a picture drawn by hand goes stale the day the card changes. Here the real bot
runs against the fake Discord and fake vendors (``studio``), four scenes drive it (``scenes``), the
messages members would see are written as JSON under ``docs/screenshots/`` (``snapshot``), each is
laid out as a page in Discord's dark theme (``page``, ``markdown``) and headless Chromium turns the
page into a PNG (``chromium``). A test re-records the scenes and compares them with the committed
JSON, and each PNG carries the hash of the JSON it was made from, so a stale picture fails the suite.

``make screenshots`` (``python -m tools.screenshots``) does all of it.
"""

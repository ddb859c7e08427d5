"""mitmproxy integration: hooks that snapshot traffic and hand it to the pipeline."""

from borderflow.addons.recorder import Recorder


def default_addons() -> list[object]:
    """The addons ``mitmdump -s addons/entry.py`` and ``borderflow proxy`` load, in order."""
    return [Recorder()]

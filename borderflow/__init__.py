"""borderflow: which personal data a payment app sends, to whom, and under which jurisdiction.

This folder holds no logic: it only joins ``addons/``, ``analysis/`` and ``geo/`` into one
``borderflow.*`` namespace (they are linked in here), so nothing installs as a bare ``analysis``.
"""

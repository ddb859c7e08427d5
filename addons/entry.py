"""The file given to ``mitmdump -s``: it only imports, so the recorder exists once.

mitmdump loads a script under a name of its own; pointing it at recorder.py directly would
create a second copy of that module beside ``borderflow.addons.recorder``.
"""

from borderflow.addons import default_addons

addons = default_addons()

"""Errors a user can cause in geo/: each one line naming the file and the problem.

geo/ does not import analysis/, so these are not ``BorderflowError``s; the CLI and the
pipeline turn them into their own one-line messages.
"""


class GeoError(Exception):
    """Base class: ``str(error)`` is one line naming the file and the problem."""


class GeoDatabaseError(GeoError):
    """A geolocation database is missing, unreadable or of an unknown kind."""


class GeoUpdateError(GeoError):
    """The default databases could not be fetched, verified or converted."""

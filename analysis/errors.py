"""Errors a user can cause, each a one-line message naming the file and the problem.

    BorderflowError
     ├── InputError      a file to read is missing, unreadable or not in the expected format
     └── DatabaseError   the database cannot be opened, migrated or written

The CLI turns these into ``Error: …`` and exit status 1, without a traceback; any other
exception is a bug and keeps its traceback.
"""


class BorderflowError(Exception):
    """Base class: ``str(error)`` is one line naming the file and the problem."""


class InputError(BorderflowError):
    """A file to read is missing, unreadable or not in the expected format."""


class DatabaseError(BorderflowError):
    """The database cannot be opened, migrated or written."""

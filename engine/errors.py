"""The exception types for expected errors (docs/errors.md lists every one).

Every expected error is a :class:`BulksimError`; the CLI prints its message on one
line and exits non-zero.  The subclasses say what went wrong and also derive from the
built-in type a Python user would catch for it:

==========================  ============================  =========================
class                       also a                        raised for
==========================  ============================  =========================
``BadInputError``           ``ValueError``                a bad value: a parameter
                                                          out of range, a
                                                          malformed file, a trace
                                                          that does not fit
``BadTypeError``            ``BadInputError``,            an argument of the wrong
                            ``TypeError``                 type (``calls=1.7``)
``ResourceError``           ``BadInputError``             parameters whose state
                                                          would exceed the memory
                                                          budget (``max_memory``)
``OutputError``             ``OSError``                   a result that cannot be
                                                          written (ENOSPC, EFBIG,
                                                          EISDIR, EACCES, ...)
``InvariantError``          ``RuntimeError``              a broken invariant: a bug
==========================  ============================  =========================
"""


class BulksimError(Exception):
    """An expected error: the CLI prints its message on one line and exits non-zero."""


class BadInputError(BulksimError, ValueError):
    """A bad value: a parameter, an option, an input file or a trace (exit status 2)."""


class BadTypeError(BadInputError, TypeError):
    """An argument of the wrong type, e.g. a float where an integer is needed (exit status 2)."""


class ResourceError(BadInputError):
    """The parameters ask for more memory than the budget allows (exit status 2)."""


class OutputError(BulksimError, OSError):
    """A result could not be written; nothing was left half-written (exit status 2)."""


class InvariantError(BulksimError, RuntimeError):
    """A run broke one of the invariants of docs/model.md §10: a bug in the engine."""

"""The one exception type for expected errors (bad input, unwritable paths, broken invariants)."""


class BulksimError(Exception):
    """An expected error: the CLI prints its message on one line and exits non-zero."""


class InvariantError(BulksimError):
    """A run broke one of the invariants of SPEC section 8: a bug in the engine."""

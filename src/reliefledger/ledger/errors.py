"""The exception tree for expected failures of input, separate from bugs.

Three kinds of failure, three mechanisms:

* malformed input (bad JSON, a float, a bad signature at the edge) raises a subclass of
  ``LedgerInputError``, answered at the edge with a code and a message;
* a business rejection of an ordered transaction is a ``ResultCode`` recorded in its block;
* a broken invariant is a bug: ``InvariantViolation`` stops the node loudly. It is raised by
  ``require`` rather than ``assert`` so that ``python -O`` cannot strip it.
"""


class LedgerInputError(ValueError):
    """Input that does not have the form the protocol requires.

    ``code`` is a stable machine-readable identifier answered to clients.
    """

    code = "invalid_input"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The human-readable explanation."""
        return str(self)


class EncodingError(LedgerInputError):
    """A value cannot be encoded as canonical JSON (a float, a non-string key, too deep)."""

    code = "invalid_encoding"


class EnvelopeError(LedgerInputError):
    """A transaction envelope is missing a field or has one of the wrong type."""

    code = "invalid_envelope"


class SignatureError(LedgerInputError):
    """A signature does not verify, or a key is not of the suite's form."""

    code = "bad_signature"


class UnknownSuiteError(LedgerInputError):
    """A crypto suite name that this build does not know."""

    code = "unknown_suite"


class InvariantViolation(RuntimeError):
    """A condition that must always hold did not: a bug, never a user error."""


def require(condition: bool, message: str) -> None:
    """Stop loudly when an invariant does not hold (survives ``python -O``, unlike assert)."""
    if not condition:
        raise InvariantViolation(message)

"""Why a message cannot be processed. The consumer guard turns these into dead-letter records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where: a JSON pointer, CSV line:column or XML path."""

    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


class RejectedMessage(Exception):
    """A message that will never be processable as it is. It goes to the dead-letter topic."""

    kind = "rejected"

    def __init__(self, reason: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = tuple(problems)


class UndecodableMessage(RejectedMessage):
    """Not a CloudEvent we can read: missing headers, bad JSON, wrong content type."""

    kind = "undecodable"


class InvalidMessage(RejectedMessage):
    """A readable CloudEvent whose payload breaks its schema or a business rule."""

    kind = "invalid"

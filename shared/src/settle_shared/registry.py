"""Topics and event types: the single source the contracts folder is generated from.

An event type is identified on the wire by its CloudEvents `type`, `<name>.v<version>`. The registry
maps that identity to the pydantic model that validates its payload and to the topic it travels on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from settle_shared.errors import InvalidMessage, Problem

CUSTOMER_KEY = "<tenant>:<customer id>"


@dataclass(frozen=True)
class Topic:
    name: str
    owner: str
    partitions: int
    key: str
    description: str
    dead_letter_of: str | None = None

    @property
    def is_dead_letter(self) -> bool:
        return self.dead_letter_of is not None


class EventPayload(BaseModel):
    """Base of every event payload. Unknown fields are ignored so producers can add fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    event_type: ClassVar[EventType]

    tenant: str

    def partition_key(self) -> str:
        raise NotImplementedError

    def subject(self) -> str | None:
        return None


P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    topic: Topic
    model: type[EventPayload]

    @property
    def ce_type(self) -> str:
        return f"{self.name}.v{self.version}"

    @property
    def description(self) -> str:
        return (self.model.__doc__ or "").strip()

    def examples(self) -> list[dict[str, Any]]:
        extra = self.model.model_config.get("json_schema_extra")
        examples = extra.get("examples") if isinstance(extra, dict) else None
        if not isinstance(examples, list):
            return []
        return [dict(example) for example in examples if isinstance(example, dict)]

    def parse(self, data: dict[str, Any]) -> EventPayload:
        try:
            return self.model.model_validate(data)
        except ValidationError as error:
            problems = [_problem(detail) for detail in error.errors()]
            raise InvalidMessage(
                f"{self.ce_type} payload is invalid: {len(problems)} problem(s)", problems
            ) from error


class EventRegistry:
    def __init__(self) -> None:
        self._topics: dict[str, Topic] = {}
        self._by_ce_type: dict[str, EventType] = {}

    def topic(self, topic: Topic) -> Topic:
        if topic.name in self._topics:
            raise ValueError(f"topic {topic.name} registered twice")
        self._topics[topic.name] = topic
        return topic

    def event(self, name: str, version: int, topic: Topic) -> Callable[[type[P]], type[P]]:
        def register(model: type[P]) -> type[P]:
            event_type = EventType(name=name, version=version, topic=topic, model=model)
            if event_type.ce_type in self._by_ce_type:
                raise ValueError(f"event type {event_type.ce_type} registered twice")
            self._by_ce_type[event_type.ce_type] = event_type
            model.event_type = event_type
            return model

        return register

    def lookup(self, ce_type: str) -> EventType | None:
        return self._by_ce_type.get(ce_type)

    def topics(self) -> list[Topic]:
        return sorted(self._topics.values(), key=lambda topic: topic.name)

    def event_types(self) -> list[EventType]:
        return sorted(self._by_ce_type.values(), key=lambda event_type: event_type.ce_type)

    def types_on(self, topic: Topic) -> Iterator[EventType]:
        return (t for t in self.event_types() if t.topic.name == topic.name)


def _problem(detail: Any) -> Problem:
    pointer = "".join(f"/{part}" for part in detail["loc"]) or "/"
    return Problem(location=pointer, message=detail["msg"])

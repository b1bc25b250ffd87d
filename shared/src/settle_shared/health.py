"""Liveness and readiness. Readiness is earned by progress: each background loop beats a
heartbeat, and a loop that stops beating (stuck, crashed, or failing) makes the service unready."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Heartbeat:
    name: str
    max_silence_seconds: float = 60.0
    state: str = "starting"
    last_beat: float | None = None
    failure: str | None = None

    def beat(self, state: str = "running") -> None:
        self.state = state
        self.last_beat = time.monotonic()

    def fail(self, reason: str) -> None:
        self.state = "failed"
        self.failure = reason

    def problem(self) -> str | None:
        if self.failure is not None:
            return f"{self.name} failed: {self.failure}"
        if self.last_beat is None:
            return f"{self.name} has not started"
        silence = time.monotonic() - self.last_beat
        if silence > self.max_silence_seconds:
            return f"{self.name} made no progress for {silence:.0f}s"
        return None


@dataclass
class Health:
    heartbeats: dict[str, Heartbeat] = field(default_factory=dict)

    def heartbeat(self, name: str, max_silence_seconds: float = 60.0) -> Heartbeat:
        beat = Heartbeat(name, max_silence_seconds)
        self.heartbeats[name] = beat
        return beat

    def problems(self) -> list[str]:
        return [problem for beat in self.heartbeats.values() if (problem := beat.problem())]

    def report(self) -> dict[str, object]:
        return {
            "ready": not self.problems(),
            "problems": self.problems(),
            "components": {name: beat.state for name, beat in self.heartbeats.items()},
        }

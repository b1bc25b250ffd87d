"""Which topics delivery reads, and which handler each event type goes to."""

from __future__ import annotations

from functools import partial

from delivery import handlers
from delivery.domain.rendering import TemplateRenderer
from settle_shared.consumer import ConsumerSpec
from settle_shared.db import Database
from settle_shared.events.dunning import CaseClosed, ReminderRequested
from settle_shared.events.topics import DELIVERY_DEAD_LETTER, DUNNING_ACTIONS, DUNNING_CASES


def consumers(db: Database, renderer: TemplateRenderer) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="delivery",
            topics=(DUNNING_ACTIONS.name, DUNNING_CASES.name),
            handlers={
                ReminderRequested: db.idempotent(partial(handlers.reminder_requested, renderer)),
                CaseClosed: db.idempotent(handlers.case_closed),
            },
            dead_letter_topic=DELIVERY_DEAD_LETTER.name,
        )
    ]

"""Which template text a reminder gets, in which language, and what it says once filled in.

Templates are files in the package: `templates/<language>/<template>.{subject,txt,html}.j2`. A
(template, language) pair exists only when all three parts do. The requested language is tried as
given (`fr-BE`), then without its region (`fr`), then English; the one used is recorded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from babel import Locale
from jinja2 import BaseLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from delivery.domain import formatting
from settle_shared.money import Money

FALLBACK_LANGUAGE = "en"
PARTS = ("subject", "txt", "html")


class UnknownTemplate(LookupError):
    def __init__(self, template: str) -> None:
        super().__init__(f"there is no template named {template!r}")
        self.template = template


@dataclass(frozen=True)
class ReminderValues:
    """What a reminder text is filled with. Names come from customers: never trusted as HTML."""

    customer_name: str
    recipient_name: str | None
    invoice_number: str
    amount_due: Money
    due_date: date
    payment_reference: str | None


@dataclass(frozen=True)
class Rendered:
    template: str
    requested_language: str
    language: str
    subject: str
    text: str
    html: str


def language_candidates(requested: str) -> list[str]:
    """`fr-BE` -> [`fr-BE`, `fr`, `en`]: the order in which template languages are tried."""
    candidates = [requested, requested.split("-", 1)[0], FALLBACK_LANGUAGE]
    return list(dict.fromkeys(candidates))


def choose_language(requested: str, available: frozenset[str]) -> str | None:
    return next((tag for tag in language_candidates(requested) if tag in available), None)


def formatting_locale(requested: str, used: str) -> Locale:
    """Format for the requested locale (fr-BE) while the text is in its language (fr); once the
    text fell back to another language, format for that language, so a text reads as one."""
    same_language = requested == used or requested.startswith(f"{used}-")
    locale = formatting.locale_for(requested) if same_language else None
    return locale or Locale.parse(used.replace("-", "_"))


class TemplateRenderer:
    def __init__(self, loader: BaseLoader | None = None) -> None:
        self._environment = Environment(
            loader=loader or PackageLoader("delivery", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._languages = self._complete_pairs()

    def templates(self) -> dict[str, list[str]]:
        """Every template name with the languages it is written in."""
        return {name: sorted(languages) for name, languages in sorted(self._languages.items())}

    def render(self, template: str, requested_language: str, values: ReminderValues) -> Rendered:
        available = self._languages.get(template)
        if not available:
            raise UnknownTemplate(template)
        language = choose_language(requested_language, available)
        if language is None:
            raise UnknownTemplate(template)
        locale = formatting_locale(requested_language, language)
        context = {
            "language": language,
            "customer_name": values.customer_name,
            "recipient_name": values.recipient_name,
            "invoice_number": values.invoice_number,
            "amount_due": formatting.money(values.amount_due, locale),
            "due_date": formatting.long_date(values.due_date, locale),
            "payment_reference": values.payment_reference,
        }
        subject, text, html = (
            self._environment.get_template(f"{language}/{template}.{part}.j2").render(context)
            for part in PARTS
        )
        return Rendered(
            template=template,
            requested_language=requested_language,
            language=language,
            subject=" ".join(subject.split()),
            text=text.strip() + "\n",
            html=html.strip() + "\n",
        )

    def _complete_pairs(self) -> dict[str, frozenset[str]]:
        parts: dict[tuple[str, str], set[str]] = defaultdict(set)
        for name in self._environment.list_templates(extensions=["j2"]):
            language, _, file_name = name.rpartition("/")
            template, _, part = file_name.removesuffix(".j2").rpartition(".")
            if language and not template.startswith("_"):
                parts[(template, language)].add(part)
        languages: dict[str, set[str]] = defaultdict(set)
        for (template, language), found in parts.items():
            if found.issuperset(PARTS):
                languages[template].add(language)
        return {template: frozenset(found) for template, found in languages.items()}

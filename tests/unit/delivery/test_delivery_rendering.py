from datetime import date

import pytest

from delivery.domain.rendering import (
    ReminderValues,
    TemplateRenderer,
    UnknownTemplate,
    language_candidates,
)
from settle_shared.money import Money

TEMPLATES = ("pre-due-reminder", "friendly-reminder", "second-reminder", "final-notice")
LANGUAGES = ("en", "nl", "de", "fr")
NBSP, NARROW_NBSP = "\u00a0", "\u202f"


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer()


def values(
    amount_minor: int = 123450,
    currency: str = "EUR",
    customer_name: str = "Bakkerij de Vries B.V.",
    recipient_name: str | None = "Anna de Vries",
    payment_reference: str | None = "RF18539007547034",
) -> ReminderValues:
    return ReminderValues(
        customer_name=customer_name,
        recipient_name=recipient_name,
        invoice_number="2026-000123",
        amount_due=Money.of(amount_minor, currency),
        due_date=date(2026, 11, 16),
        payment_reference=payment_reference,
    )


def test_every_template_dunning_uses_is_written_in_every_language(
    renderer: TemplateRenderer,
) -> None:
    catalogue = renderer.templates()
    for template in TEMPLATES:
        assert set(catalogue[template]) >= set(LANGUAGES)


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_text_names_the_invoice_the_amount_and_the_due_date(
    renderer: TemplateRenderer, template: str, language: str
) -> None:
    rendered = renderer.render(template, language, values())

    assert rendered.language == language
    assert "2026-000123" in rendered.subject
    for body in (rendered.text, rendered.html):
        assert "2026-000123" in body
        assert "RF18539007547034" in body
        assert "Anna de Vries" in body
        assert "{{" not in body
        assert "{%" not in body
    assert f'<html lang="{language}">' in rendered.html


@pytest.mark.parametrize(
    ("language", "amount", "due_date", "greeting"),
    [
        ("nl", f"€{NBSP}1.234,50", "16 november 2026", "Beste Anna de Vries,"),
        ("de", f"1.234,50{NBSP}€", "16. November 2026", "Guten Tag Anna de Vries,"),
        ("fr", f"1{NARROW_NBSP}234,50{NBSP}€", "16 novembre 2026", "Bonjour Anna de Vries,"),
        ("en", "€1,234.50", "November 16, 2026", "Dear Anna de Vries,"),
    ],
)
def test_amounts_and_dates_are_written_the_way_the_reader_writes_them(
    renderer: TemplateRenderer, language: str, amount: str, due_date: str, greeting: str
) -> None:
    rendered = renderer.render("friendly-reminder", language, values())

    assert rendered.text.startswith(greeting)
    assert amount in rendered.text
    assert due_date in rendered.text
    assert amount in rendered.html


def test_minor_units_follow_the_currency_exponent(renderer: TemplateRenderer) -> None:
    yen = renderer.render("friendly-reminder", "en", values(amount_minor=5000, currency="JPY"))
    dinar = renderer.render("friendly-reminder", "en", values(amount_minor=1500, currency="KWD"))

    assert "¥5,000" in yen.text
    assert "KWD1.500" in dinar.text


def test_a_regional_language_uses_its_base_texts_with_regional_formatting(
    renderer: TemplateRenderer,
) -> None:
    rendered = renderer.render("final-notice", "en-GB", values())

    assert (rendered.requested_language, rendered.language) == ("en-GB", "en")
    assert "16 November 2026" in rendered.text


def test_a_language_without_texts_falls_back_to_english_and_says_so(
    renderer: TemplateRenderer,
) -> None:
    rendered = renderer.render("second-reminder", "es", values())

    assert rendered.language == "en"
    assert rendered.requested_language == "es"
    assert rendered.subject == "Second reminder: invoice 2026-000123 is overdue"
    assert "€1,234.50" in rendered.text


def test_language_candidates_go_from_region_to_language_to_english() -> None:
    assert language_candidates("fr-BE") == ["fr-BE", "fr", "en"]
    assert language_candidates("nl") == ["nl", "en"]
    assert language_candidates("en") == ["en"]


def test_customer_provided_names_are_escaped_in_html_only(renderer: TemplateRenderer) -> None:
    rendered = renderer.render(
        "friendly-reminder",
        "nl",
        values(customer_name="<script>alert(1)</script> & Zn", recipient_name="<b>Anna</b>"),
    )

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Zn" in rendered.html
    assert "Beste &lt;b&gt;Anna&lt;/b&gt;," in rendered.html
    assert "<script>alert(1)</script> & Zn" in rendered.text
    assert "Beste <b>Anna</b>," in rendered.text


def test_without_a_recipient_name_the_greeting_is_formal(renderer: TemplateRenderer) -> None:
    greetings = {
        language: renderer.render(
            "friendly-reminder", language, values(recipient_name=None)
        ).text.splitlines()[0]
        for language in LANGUAGES
    }

    assert greetings == {
        "en": "Dear Sir or Madam,",
        "nl": "Geachte heer, mevrouw,",
        "de": "Sehr geehrte Damen und Herren,",
        "fr": "Madame, Monsieur,",
    }


def test_without_a_payment_reference_the_invoice_number_is_asked_for(
    renderer: TemplateRenderer,
) -> None:
    rendered = renderer.render("pre-due-reminder", "en", values(payment_reference=None))

    assert "Payment reference" not in rendered.text
    assert "Please quote invoice number 2026-000123" in rendered.text


def test_a_subject_is_one_line_whatever_the_customer_name(renderer: TemplateRenderer) -> None:
    rendered = renderer.render("final-notice", "de", values(customer_name="Line\nBreak GmbH"))

    assert "\n" not in rendered.subject
    assert rendered.subject == "Letzte Mahnung: Rechnung 2026-000123"


def test_an_unknown_template_is_refused(renderer: TemplateRenderer) -> None:
    with pytest.raises(UnknownTemplate, match="no template named 'threatening-letter'"):
        renderer.render("threatening-letter", "en", values())

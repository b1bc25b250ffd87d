"""The e-mail channel: one SMTP conversation per message (aiosmtplib), STARTTLS and AUTH when
configured. Failures are told apart by when they happen: before the content leaves, the message was
certainly not accepted; once it has left, a broken connection leaves it unknown."""

from __future__ import annotations

import email.errors
import email.policy
from contextlib import suppress
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from aiosmtplib import SMTPException, SMTPResponseException

from delivery.domain.messages import OutgoingMessage, SendFailed, SendReceipt, email_message_id
from delivery.domain.retry import failure_kind_of_reply

# 7-bit transfer encodings: the message passes any relay, with or without 8BITMIME.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender_address: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ca_file: str | None = None
    timeout_seconds: float = 30.0


class SmtpEmailSender:
    provider = "smtp"

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: OutgoingMessage) -> SendReceipt:
        content = build_email(message, self._config.sender_address).as_bytes(policy=_POLICY)
        address = recipient_address(message)
        client = aiosmtplib.SMTP(
            hostname=self._config.host,
            port=self._config.port,
            username=self._config.username,
            password=self._config.password,
            start_tls=self._config.starttls,
            cert_bundle=self._config.ca_file,
            timeout=self._config.timeout_seconds,
        )
        try:
            await _hand_over_envelope(client, self._config.sender_address, address)
            reply = await _hand_over_content(client, content)
        finally:
            await _hang_up(client)
        return SendReceipt(email_message_id(message.action_id), f"{reply.code} {reply.message}")


def build_email(message: OutgoingMessage, sender_address: str) -> EmailMessage:
    """The MIME message: text and HTML alternatives, and headers that name the action and case."""
    mail = EmailMessage(policy=_POLICY)
    try:
        mail["To"] = Address(
            display_name=" ".join((message.recipient.name or "").split()),
            addr_spec=recipient_address(message),
        )
    except (ValueError, email.errors.HeaderParseError) as error:
        raise SendFailed("permanent", f"invalid recipient address: {error}") from error
    mail["From"] = sender_address
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.attempted_at)
    mail["Message-ID"] = email_message_id(message.action_id)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Settle-Action-Id"] = message.action_id
    mail["X-Settle-Case-Id"] = message.case_id
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    # After the content: setting the content drops every Content-* header set before.
    mail["Content-Language"] = message.language
    return mail


def recipient_address(message: OutgoingMessage) -> str:
    if not message.recipient.email:
        raise SendFailed("permanent", "recipient has no e-mail address")
    return message.recipient.email


async def _hand_over_envelope(client: aiosmtplib.SMTP, sender: str, recipient: str) -> None:
    """Connect (STARTTLS, AUTH), MAIL FROM, RCPT TO: any failure here means not accepted."""
    try:
        await client.connect()
        await client.mail(sender)
        await client.rcpt(recipient)
    except SMTPResponseException as error:
        kind = failure_kind_of_reply(error.code)
        raise SendFailed(kind, f"{error.code} {error.message}") from error
    except UnicodeError as error:
        raise SendFailed("permanent", f"address {recipient!r} is not plain ASCII") from error
    except (SMTPException, OSError) as error:
        raise SendFailed("transient", f"{type(error).__name__}: {error}") from error


async def _hand_over_content(client: aiosmtplib.SMTP, content: bytes) -> aiosmtplib.SMTPResponse:
    try:
        return await client.data(content)
    except SMTPResponseException as error:
        # The server answered: its reply code is its decision about this message.
        kind = failure_kind_of_reply(error.code)
        raise SendFailed(kind, f"{error.code} {error.message}") from error
    except (SMTPException, OSError) as error:
        raise SendFailed(
            "ambiguous",
            f"connection lost after the content was handed over: {type(error).__name__}: {error}",
        ) from error


async def _hang_up(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        with suppress(SMTPException, OSError):
            await client.quit()
    client.close()

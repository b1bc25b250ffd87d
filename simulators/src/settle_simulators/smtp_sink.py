"""A real SMTP server that keeps every message it accepts, with a small HTTP API to read them.

It speaks SMTP through aiosmtpd in the caller's event loop, keeps messages in memory and, given a
directory, writes each as an `.eml` file. Knobs make it misbehave like real servers do: recipients
matching `reject_pattern` are refused with a permanent 550, the first `defer_first` messages are
answered with a transient 451, `credentials` require AUTH, and `tls_context` offers (and requires)
STARTTLS.

HTTP: `GET /messages` (every message, oldest first), `GET /messages/{index}`, `DELETE /messages`
(forgets them; `.eml` files stay as the archive).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field

from settle_simulators.serving import BackgroundServer

REJECTED = "550 5.1.1 Recipient address rejected: user unknown"
DEFERRED = "451 4.3.0 Temporary local problem, please try again later"
ACCEPTED = "250 2.0.0 OK: queued"


class SinkMessage(BaseModel):
    """One accepted message, parsed; `raw` is exactly what came in after DATA."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    index: int
    envelope_from: str
    envelope_to: list[str]
    sender: str | None = Field(alias="from")
    to: str | None
    subject: str | None
    message_id: str | None
    date: str | None
    text: str | None
    html: str | None
    headers: list[tuple[str, str]]
    raw: bytes = Field(exclude=True, repr=False)

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    @classmethod
    def parse(
        cls, index: int, envelope_from: str, envelope_to: list[str], raw: bytes
    ) -> SinkMessage:
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        return cls(
            index=index,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            sender=_header(mail, "From"),
            to=_header(mail, "To"),
            subject=_header(mail, "Subject"),
            message_id=_header(mail, "Message-ID"),
            date=_header(mail, "Date"),
            text=_body(mail, "plain"),
            html=_body(mail, "html"),
            headers=[(name, str(value)) for name, value in mail.items()],
            raw=raw,
        )


def _header(mail: EmailMessage, name: str) -> str | None:
    value = mail.get(name)
    return None if value is None else str(value)


def _body(mail: EmailMessage, subtype: str) -> str | None:
    part = mail.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content: str = part.get_content()
    return content


class _Handler:
    """aiosmtpd's hooks: decide per recipient and per message, keep what is accepted."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._sink.refuses(address):
            return REJECTED
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        return self._sink.receive(envelope)


class SmtpSink:
    def __init__(
        self,
        host: str = "127.0.0.1",
        smtp_port: int = 0,
        http_port: int = 0,
        maildir: Path | str | None = None,
        reject_pattern: str | None = None,
        defer_first: int = 0,
        *,
        credentials: tuple[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self._reject_pattern = re.compile(reject_pattern, re.IGNORECASE) if reject_pattern else None
        self._deferrals_left = defer_first
        self._requested_smtp_port = smtp_port
        self._maildir = Path(maildir) if maildir is not None else None
        self._credentials = credentials
        self._tls_context = tls_context
        self._messages: list[SinkMessage] = []
        self._smtp_server: asyncio.Server | None = None
        self._http = BackgroundServer(self._http_app(), host, http_port)

    @property
    def smtp_port(self) -> int:
        if self._smtp_server is None:
            raise RuntimeError("the SMTP sink is not started")
        port: int = self._smtp_server.sockets[0].getsockname()[1]
        return port

    @property
    def http_url(self) -> str:
        return self._http.url

    def messages(self) -> list[SinkMessage]:
        return list(self._messages)

    def clear(self) -> None:
        self._messages.clear()

    async def start(self) -> None:
        if self._maildir is not None:
            self._maildir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        self._smtp_server = await loop.create_server(
            self._smtp_protocol, host=self.host, port=self._requested_smtp_port
        )
        await self._http.start()

    async def stop(self) -> None:
        await self._http.stop()
        if self._smtp_server is not None:
            self._smtp_server.close()
            await self._smtp_server.wait_closed()
            self._smtp_server = None

    async def __aenter__(self) -> SmtpSink:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def refuses(self, address: str) -> bool:
        return self._reject_pattern is not None and self._reject_pattern.search(address) is not None

    def receive(self, envelope: Envelope) -> str:
        """Accept (and keep) or defer one message."""
        if self._deferrals_left > 0:
            self._deferrals_left -= 1
            return DEFERRED
        raw = envelope.original_content or b""
        message = SinkMessage.parse(
            len(self._messages), str(envelope.mail_from), list(envelope.rcpt_tos), raw
        )
        self._messages.append(message)
        if self._maildir is not None:
            (self._maildir / f"{message.index:06d}.eml").write_bytes(raw)
        return ACCEPTED

    def _smtp_protocol(self) -> SMTP:
        return SMTP(
            _Handler(self),
            hostname="settle-smtp-sink",
            ident="Settle SMTP sink",
            tls_context=self._tls_context,
            require_starttls=self._tls_context is not None,
            auth_required=self._credentials is not None,
            auth_require_tls=self._tls_context is not None,
            authenticator=self._authenticate,
            loop=asyncio.get_running_loop(),
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        presented = (
            (data.login.decode(), data.password.decode())
            if isinstance(data, LoginPassword)
            else None
        )
        return AuthResult(success=presented == self._credentials, handled=False)

    def _http_app(self) -> FastAPI:
        app = FastAPI(title="Settle SMTP sink", description=__doc__)

        @app.get("/messages")
        async def all_messages() -> list[SinkMessage]:
            return self.messages()

        @app.get("/messages/{index}")
        async def one_message(index: int) -> SinkMessage:
            if not 0 <= index < len(self._messages):
                raise HTTPException(404, f"no message {index}")
            return self._messages[index]

        @app.delete("/messages", status_code=204)
        async def forget_messages() -> Response:
            self.clear()
            return Response(status_code=204)

        return app

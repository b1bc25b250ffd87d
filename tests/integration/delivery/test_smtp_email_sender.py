import asyncio
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from delivery.adapters.smtp import SmtpConfig, SmtpEmailSender
from delivery.testing.sender_contract import (
    Delivered,
    EmailSenderContract,
    ProviderFactory,
    failure_of,
    message,
)
from settle_simulators.smtp_sink import SmtpSink


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def smtp_sender(port: int, **options: object) -> SmtpEmailSender:
    config = SmtpConfig(host="127.0.0.1", port=port, sender_address="reminders@settle.localhost")
    return SmtpEmailSender(SmtpConfig(**{**config.__dict__, "timeout_seconds": 5.0, **options}))


class SinkProvider:
    def __init__(self, sink: SmtpSink, sender: SmtpEmailSender) -> None:
        self.sink = sink
        self.sender = sender

    def delivered(self) -> list[Delivered]:
        return [Delivered.from_mime(received.raw) for received in self.sink.messages()]


@pytest.fixture
async def provider() -> AsyncIterator[ProviderFactory]:
    sinks: list[SmtpSink] = []

    async def start(
        *, reject_pattern: str | None = None, defer_first: int = 0, reachable: bool = True
    ) -> SinkProvider:
        sink = SmtpSink(reject_pattern=reject_pattern, defer_first=defer_first)
        await sink.start()
        sinks.append(sink)
        return SinkProvider(sink, smtp_sender(sink.smtp_port if reachable else closed_port()))

    yield start
    for sink in sinks:
        await sink.stop()


class TestSmtpEmailSender(EmailSenderContract):
    pass


async def test_the_sender_and_the_envelope_match_the_headers() -> None:
    async with SmtpSink() as sink:
        await smtp_sender(sink.smtp_port).send(message())

    [received] = sink.messages()
    assert received.envelope_from == "reminders@settle.localhost"
    assert received.envelope_to == ["ap@devries.example"]
    assert received.sender == "reminders@settle.localhost"
    assert received.header("Auto-Submitted") == "auto-generated"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command line tool."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


async def test_starttls_and_login_are_used_when_configured(
    certificate: tuple[Path, Path],
) -> None:
    sink = SmtpSink(credentials=("settle", "s3cret-password"), tls_context=server_tls(certificate))
    async with sink:
        sender = smtp_sender(
            sink.smtp_port,
            starttls=True,
            ca_file=str(certificate[0]),
            username="settle",
            password="s3cret-password",
        )
        receipt = await sender.send(message())

    assert receipt.detail.startswith("250")
    assert len(sink.messages()) == 1


async def test_wrong_smtp_credentials_fail_permanently_and_nothing_is_sent(
    certificate: tuple[Path, Path],
) -> None:
    sink = SmtpSink(credentials=("settle", "s3cret-password"), tls_context=server_tls(certificate))
    async with sink:
        sender = smtp_sender(
            sink.smtp_port,
            starttls=True,
            ca_file=str(certificate[0]),
            username="settle",
            password="wrong-password",
        )
        failure = await failure_of(lambda: sender.send(message()))

    assert failure.kind == "permanent"
    assert failure.detail.startswith("535")
    assert sink.messages() == []


async def test_a_connection_lost_after_the_content_left_is_ambiguous() -> None:
    """A server that takes the whole message and hangs up before answering: it may have kept
    the message, so the failure must not be retried."""

    async def accept_then_hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"220 flaky ESMTP\r\n")
        while line := await reader.readline():
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                writer.write(b"250 flaky\r\n")
            elif command == b"DATA":
                writer.write(b"354 go ahead\r\n")
            elif command == b".":
                break
            elif command.startswith((b"MAIL", b"RCPT")):
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(accept_then_hang_up, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        failure = await failure_of(lambda: smtp_sender(port).send(message()))

    assert failure.kind == "ambiguous"

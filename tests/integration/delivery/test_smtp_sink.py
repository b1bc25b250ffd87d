from pathlib import Path

import httpx

from delivery.adapters.smtp import SmtpConfig, SmtpEmailSender
from delivery.testing.sender_contract import message
from settle_simulators.smtp_sink import SmtpSink


async def send_one(sink: SmtpSink, action_id: str = "A-1") -> None:
    config = SmtpConfig("127.0.0.1", sink.smtp_port, "reminders@settle.localhost")
    await SmtpEmailSender(config).send(message(action_id=action_id))


async def test_accepted_messages_are_served_over_http(tmp_path: Path) -> None:
    async with (
        SmtpSink(maildir=tmp_path) as sink,
        httpx.AsyncClient(base_url=sink.http_url) as http,
    ):
        await send_one(sink, "A-1")
        await send_one(sink, "A-2")

        listing = (await http.get("/messages")).json()
        second = await http.get("/messages/1")
        missing = await http.get("/messages/2")

    assert [m["message_id"] for m in listing] == ["<A-1@settle.delivery>", "<A-2@settle.delivery>"]
    first = listing[0]
    assert first["from"] == "reminders@settle.localhost"
    assert first["to"] == "Anna de Vries <ap@devries.example>"
    assert first["subject"] == "Betalingsherinnering: factuur 2026-000123"
    assert "staat nog open" in first["text"]
    assert ["X-Settle-Action-Id", "A-1"] in first["headers"]
    assert second.json()["index"] == 1
    assert missing.status_code == 404


async def test_each_message_is_kept_as_an_eml_file(tmp_path: Path) -> None:
    async with SmtpSink(maildir=tmp_path / "mail") as sink:
        await send_one(sink)

    [saved] = sorted((tmp_path / "mail").glob("*.eml"))
    assert saved.read_bytes() == sink.messages()[0].raw
    assert b"Message-ID: <A-1@settle.delivery>" in saved.read_bytes()


async def test_deleting_forgets_the_messages() -> None:
    async with SmtpSink() as sink, httpx.AsyncClient(base_url=sink.http_url) as http:
        await send_one(sink)
        response = await http.delete("/messages")
        listing = (await http.get("/messages")).json()

    assert response.status_code == 204
    assert listing == []
    assert sink.messages() == []

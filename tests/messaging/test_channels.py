"""Each channel against a real local peer: SMTP (aiosmtpd), webhook, WeCom robot, SMS gateway."""

from __future__ import annotations

import email
import json
import socket
from email import policy
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

from laoke.messaging.channels.base import (
    Delivered,
    OutgoingMessage,
    PermanentFailure,
    TransientFailure,
)
from laoke.messaging.channels.sms import SmsGatewayTransport
from laoke.messaging.channels.smtp import SmtpTransport
from laoke.messaging.channels.webhook import WebhookTransport, sign, verify_signature
from laoke.messaging.channels.wecom import WecomTransport
from laoke.messaging.sink import Sink


def message(**overrides) -> OutgoingMessage:
    values = {
        "id": 7,
        "org_id": 1,
        "idempotency_key": "birthday:7:2026-06-15",
        "purpose": "care.birthday",
        "is_marketing": True,
        "recipient": "xiaomei@example.com",
        "subject": "生日快乐",
        "body": "王小美，生日快乐！\n\n退订：http://testserver/u/1.7.abc",
        "language": "zh_CN",
        "attempt": 1,
        "meta": {"sender": "Acme 美容", "unsubscribe_url": "http://testserver/u/1.7.abc"},
    }
    values.update(overrides)
    return OutgoingMessage(**values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.rcpt_replies: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def test_smtp_delivers_utf8_mail_with_one_click_unsubscribe_headers(smtp_server) -> None:
    mailbox, port = smtp_server
    transport = SmtpTransport(
        host="127.0.0.1", port=port, security="none", from_address="shop@acme.test"
    )
    outcome = transport.send(message())
    again = transport.send(message(recipient="b@example.com"))  # the connection is reused
    transport.close()
    assert isinstance(outcome, Delivered) and isinstance(again, Delivered)
    rcpt, raw = mailbox.messages[0]
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert rcpt == ["xiaomei@example.com"]
    assert mail["Subject"] == "生日快乐"
    sender = mail["From"].addresses[0]
    assert sender.display_name == "Acme 美容" and sender.addr_spec == "shop@acme.test"
    assert mail["List-Unsubscribe"] == "<http://testserver/u/1.7.abc>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"] == outcome.provider_message_id
    assert "王小美，生日快乐" in mail.get_content()


def test_the_message_id_is_the_same_on_a_retry_so_a_repeat_is_recognisable(smtp_server) -> None:
    _mailbox, port = smtp_server
    transport = SmtpTransport(
        host="127.0.0.1", port=port, security="none", from_address="s@acme.test"
    )
    first, second = transport.send(message()), transport.send(message(attempt=2))
    transport.close()
    assert first.provider_message_id == second.provider_message_id


def test_transactional_mail_has_no_unsubscribe_header(smtp_server) -> None:
    mailbox, port = smtp_server
    transport = SmtpTransport(
        host="127.0.0.1", port=port, security="none", from_address="s@acme.test"
    )
    transport.send(message(is_marketing=False, meta={"sender": "Acme"}))
    transport.close()
    mail = email.message_from_bytes(mailbox.messages[0][1], policy=policy.default)
    assert mail["List-Unsubscribe"] is None


def test_smtp_5xx_refusals_are_permanent_and_4xx_transient(smtp_server) -> None:
    mailbox, port = smtp_server
    mailbox.rcpt_replies = {
        "nobody@example.com": "550 5.1.1 No such user",
        "full@example.com": "452 4.2.2 Mailbox full",
    }
    transport = SmtpTransport(
        host="127.0.0.1", port=port, security="none", from_address="s@acme.test"
    )
    assert isinstance(transport.send(message(recipient="nobody@example.com")), PermanentFailure)
    assert isinstance(transport.send(message(recipient="full@example.com")), TransientFailure)
    assert isinstance(transport.send(message()), Delivered)
    transport.close()


def test_an_smtp_server_that_is_down_is_a_transient_failure() -> None:
    transport = SmtpTransport(
        host="127.0.0.1", port=1, security="none", from_address="s@acme.test", timeout=2
    )
    assert isinstance(transport.send(message()), TransientFailure)


def test_starttls_to_a_server_without_tls_is_transient(smtp_server) -> None:
    _mailbox, port = smtp_server
    transport = SmtpTransport(
        host="127.0.0.1", port=port, security="starttls", from_address="s@acme.test"
    )
    outcome = transport.send(message())
    assert isinstance(outcome, TransientFailure) and "STARTTLS" in outcome.error.upper()


# --- webhook ------------------------------------------------------------------------------


def test_the_receiver_verifies_the_hmac_over_timestamp_and_body() -> None:
    with Sink(secret="s3cret-s3cret-s3cret") as sink:
        transport = WebhookTransport(url=sink.url + "/hook", secret="s3cret-s3cret-s3cret")
        assert isinstance(transport.send(message()), Delivered)
        transport.close()
    request = sink.received[0]
    headers, body = request["headers"], request["body"]
    assert request["valid"] is True
    assert verify_signature(
        "s3cret-s3cret-s3cret", headers["x-laoke-timestamp"], body, headers["x-laoke-signature"]
    )
    assert not verify_signature(
        "wrong-secret-0000000", headers["x-laoke-timestamp"], body, headers["x-laoke-signature"]
    )
    assert not verify_signature(
        "s3cret-s3cret-s3cret",
        headers["x-laoke-timestamp"],
        body + b" ",
        headers["x-laoke-signature"],
    )
    stale = str(int(headers["x-laoke-timestamp"]) - 3600)
    assert not verify_signature(
        "s3cret-s3cret-s3cret", stale, body, sign("s3cret-s3cret-s3cret", stale, body)
    )
    assert headers["idempotency-key"] == "birthday:7:2026-06-15"
    document = json.loads(body)
    assert document["purpose"] == "care.birthday" and document["body"].startswith("王小美")


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, Delivered), (204, Delivered), (301, TransientFailure), (400, TransientFailure),
     (429, TransientFailure), (500, TransientFailure), (410, PermanentFailure)],
)  # fmt: skip
def test_webhook_outcomes_by_status(status, kind) -> None:
    with Sink(status=status) as sink:
        transport = WebhookTransport(url=sink.url, secret="x" * 20)
        assert isinstance(transport.send(message()), kind)
        transport.close()


def test_an_unreachable_webhook_is_transient() -> None:
    transport = WebhookTransport(url="http://127.0.0.1:1/x", secret="x" * 20, timeout=2)
    assert isinstance(transport.send(message()), TransientFailure)


def test_private_addresses_are_refused_when_the_deployment_forbids_them() -> None:
    transport = WebhookTransport(url="http://127.0.0.1:9/x", secret="x" * 20, allow_private=False)
    outcome = transport.send(message())
    assert isinstance(outcome, PermanentFailure) and "private" in outcome.error


# --- WeCom group robot ----------------------------------------------------------------------


def test_the_wecom_robot_gets_its_documented_json(monkeypatch) -> None:
    with Sink(respond=lambda body, headers: b'{"errcode":0,"errmsg":"ok"}') as robot:
        url = robot.url + "/cgi-bin/webhook/send?key=693a91f6-7xxx"
        text = WecomTransport(url=url, msgtype="text")
        markdown = WecomTransport(url=url, msgtype="markdown")
        assert isinstance(text.send(message(subject="今日待办")), Delivered)
        assert isinstance(markdown.send(message(subject="今日待办", body="x" * 5000)), Delivered)
        text.close()
        markdown.close()
    first, second = (json.loads(r["body"]) for r in robot.received)
    assert robot.received[0]["path"] == "/cgi-bin/webhook/send?key=693a91f6-7xxx"
    assert first == {"msgtype": "text", "text": {"content": "今日待办\n" + message().body}}
    assert second["msgtype"] == "markdown" and second["markdown"]["content"].startswith(
        "**今日待办**"
    )
    assert len(second["markdown"]["content"].encode()) <= 4096


@pytest.mark.parametrize(
    ("answer", "kind"),
    [(b'{"errcode":45009,"errmsg":"api freq out of limit"}', TransientFailure),
     (b'{"errcode":93000,"errmsg":"invalid webhook url"}', PermanentFailure),
     (b"<html>", TransientFailure)],
)  # fmt: skip
def test_wecom_error_codes(answer, kind) -> None:
    with Sink(respond=lambda body, headers: answer) as robot:
        transport = WecomTransport(url=robot.url + "/send?key=k")
        assert isinstance(transport.send(message()), kind)
        transport.close()


# --- SMS gateway ------------------------------------------------------------------------------


def test_the_sms_body_template_fills_json_values_safely() -> None:
    with Sink(respond=lambda body, headers: b'{"code":"OK","data":{"id":"sms-991"}}') as gateway:
        transport = SmsGatewayTransport(
            url=gateway.url + "/send",
            body_template='{"mobile": "{{ to }}", "content": "{{ text }}", "sign": "{{ sender }}", "ref": "{{ idempotency_key }}"}',
            auth_header="X-Api-Key",
            auth_value="key-123",
            success_field="code",
            success_value="OK",
            message_id_field="data.id",
        )
        outcome = transport.send(message(recipient="+8613800138000", body='他说"你好"\n第二行'))
        transport.close()
    assert outcome == Delivered("sms-991")
    request = gateway.received[0]
    assert request["headers"]["x-api-key"] == "key-123"
    assert json.loads(request["body"]) == {
        "mobile": "+8613800138000",
        "content": '他说"你好"\n第二行',
        "sign": "Acme 美容",
        "ref": "birthday:7:2026-06-15",
    }
    assert transport.resend_safe is True


def test_the_sms_gateway_can_take_a_form_or_a_query_string() -> None:
    with Sink() as gateway:
        form = SmsGatewayTransport(
            url=gateway.url + "/f",
            content_type="form",
            body_template='{"to": "{{ to }}", "msg": "{{ text }}"}',
        )
        query = SmsGatewayTransport(
            url=gateway.url + "/q",
            method="GET",
            body_template='{"to": "{{ to }}", "msg": "{{ text }}"}',
        )
        form.send(message(recipient="+8613800138000", body="a&b=c"))
        query.send(message(recipient="+8613800138000", body="a&b=c"))
        form.close()
        query.close()
    posted, got = gateway.received
    assert parse_qs(posted["body"].decode()) == {"to": ["+8613800138000"], "msg": ["a&b=c"]}
    assert got["method"] == "GET" and parse_qs(got["path"].split("?", 1)[1])["msg"] == ["a&b=c"]
    assert form.resend_safe is False


@pytest.mark.parametrize(
    ("status", "answer", "kind"),
    [(200, b'{"code":"FAIL"}', PermanentFailure), (401, b"", PermanentFailure),
     (429, b"", TransientFailure), (503, b"", TransientFailure)],
)  # fmt: skip
def test_sms_gateway_outcomes(status, answer, kind) -> None:
    with Sink(status=status, respond=lambda body, headers: answer) as gateway:
        transport = SmsGatewayTransport(url=gateway.url, success_field="code", success_value="OK")
        assert isinstance(transport.send(message()), kind)
        transport.close()


def _self_signed(tmp_path) -> tuple[str, str]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_smtp_over_tls_with_authentication(tmp_path, security) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    logins = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
        logins.append(ok)
        return AuthResult(success=ok)

    port = free_port()
    options = (
        {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        if security == "starttls"
        else {"ssl_context": context, "auth_require_tls": False}  # TLS from the first byte
    )
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate, **options
    )
    controller.start()
    try:
        good = SmtpTransport(
            host="127.0.0.1", port=port, security=security, username="shop", password="s3cret",
            from_address="s@acme.test", verify_certificate=False,
        )  # fmt: skip
        assert isinstance(good.send(message()), Delivered)
        good.close()
        strict = SmtpTransport(
            host="127.0.0.1", port=port, security=security, from_address="s@acme.test"
        )
        assert isinstance(strict.send(message()), TransientFailure)  # self-signed: refused
        strict.close()
    finally:
        controller.stop()
    assert len(mailbox.messages) == 1 and logins[0] is True

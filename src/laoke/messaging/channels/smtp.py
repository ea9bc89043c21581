"""Email over SMTP with the standard library.

Security: `starttls` (port 587, upgrade after EHLO), `ssl` (port 465, TLS from the first
byte) or `none` (a relay on localhost). Certificates are verified unless
`verify_certificate` is off (a relay with a self-signed certificate).

Each message is text/plain UTF-8. Its `Message-ID` is derived from the idempotency key,
so a retried message is the same message to the receiving side. Marketing mail carries
`List-Unsubscribe: <https://…/u/token>` and `List-Unsubscribe-Post:
List-Unsubscribe=One-Click` (RFC 8058), so mail apps offer a one-click unsubscribe.

The connection stays open between sends and is re-opened after an error or an idle
minute. 5xx replies to a recipient or to the content are permanent; 4xx replies,
connection trouble, and sender or authentication refusals (a configuration to fix, after
which the retries go through) are transient.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from laoke.db import utcnow
from laoke.messaging.channels.base import (
    Delivered,
    Outcome,
    OutgoingMessage,
    PermanentFailure,
    TransientFailure,
    Transport,
)

IDLE_SECONDS = 60.0


def message_id(message: OutgoingMessage, from_address: str) -> str:
    digest = hashlib.sha256(f"{message.org_id}:{message.idempotency_key}".encode()).hexdigest()
    domain = from_address.rpartition("@")[2] or "laoke.local"
    return f"<{digest[:32]}@{domain}>"


def build_email(message: OutgoingMessage, *, from_address: str, from_name: str) -> EmailMessage:
    email = EmailMessage()
    sender = str(message.meta.get("sender") or from_name or "")
    email["From"] = formataddr((sender, from_address)) if sender else from_address
    email["To"] = message.recipient
    email["Subject"] = message.subject or ""
    email["Date"] = format_datetime(utcnow())
    email["Message-ID"] = message_id(message, from_address)
    email["Content-Language"] = message.language.replace("_", "-")
    unsubscribe = message.meta.get("unsubscribe_url")
    if message.is_marketing and unsubscribe:
        email["List-Unsubscribe"] = f"<{unsubscribe}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email.set_content(message.body + "\n", charset="utf-8")
    return email


class SmtpTransport(Transport):
    kind = "smtp"
    resend_safe = True

    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        from_address: str,
        from_name: str = "",
        verify_certificate: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.from_address, self.from_name = from_address, from_name
        self.verify_certificate = verify_certificate
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._last_used = 0.0

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if self.username and self.password:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()  # a refused STARTTLS or login must not leave the socket open
            raise
        return smtp

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None and time.monotonic() - self._last_used > IDLE_SECONDS:
            self.close()
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def send(self, message: OutgoingMessage) -> Outcome:
        email = build_email(message, from_address=self.from_address, from_name=self.from_name)
        try:
            refused = self._connection().send_message(
                email, from_addr=self.from_address, to_addrs=[message.recipient]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b""))
            return self._by_code(code, reply)
        except smtplib.SMTPDataError as exc:
            return self._by_code(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return TransientFailure(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            self._last_used = time.monotonic()
        if refused:
            code, reply = next(iter(refused.values()))
            return self._by_code(code, reply)
        return Delivered(email["Message-ID"])

    @staticmethod
    def _by_code(code: int, reply: bytes | str) -> Outcome:
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        error = f"SMTP {code}: {text}"[:300]
        return PermanentFailure(error) if 500 <= code < 600 else TransientFailure(error)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

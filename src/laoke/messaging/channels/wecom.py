"""WeCom (企业微信) group robot: a JSON POST to the robot's webhook URL.

The robot posts into a staff group chat, so it carries notifications and digests for
staff, not messages to individual customers. Format (WeCom's documented API):

    POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY
    {"msgtype": "text", "text": {"content": "…"}}
    {"msgtype": "markdown", "markdown": {"content": "…"}}
    -> {"errcode": 0, "errmsg": "ok"}

errcode 0 is delivered; 45009 (over the robot's 20-a-minute limit) and -1 (busy) are
transient; other codes (93000 bad key, 40008 bad type, …) are permanent. The robot has
no idempotency key, so a lost attempt is not repeated (at-most-once).
"""

from __future__ import annotations

import httpx

from laoke.messaging.channels import net
from laoke.messaging.channels.base import (
    Delivered,
    Outcome,
    OutgoingMessage,
    PermanentFailure,
    TransientFailure,
    Transport,
)

TRANSIENT_CODES = frozenset({-1, 45009, 45033})
LIMITS = {"text": 2048, "markdown": 4096}  # bytes of content


def _fit(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode(errors="ignore") + "…"


def robot_payload(message: OutgoingMessage, msgtype: str) -> dict:
    text = f"{message.subject}\n{message.body}" if message.subject else message.body
    if msgtype == "markdown" and message.subject:
        text = f"**{message.subject}**\n{message.body}"
    return {"msgtype": msgtype, msgtype: {"content": _fit(text, LIMITS[msgtype])}}


class WecomTransport(Transport):
    kind = "wecom"
    resend_safe = False

    def __init__(
        self, *, url: str, msgtype: str = "text", allow_private: bool = True, timeout: float = 10.0
    ) -> None:
        self.url = url
        self.msgtype = msgtype if msgtype in LIMITS else "text"
        self.allow_private = allow_private
        self.timeout = timeout
        self._client: httpx.Client | None = None

    def send(self, message: OutgoingMessage) -> Outcome:
        if not net.target_allowed(self.url, self.allow_private):
            return PermanentFailure("the robot address points into a private network")
        if self._client is None:
            self._client = net.http_client(self.timeout)
        try:
            response = self._client.post(self.url, json=robot_payload(message, self.msgtype))
        except httpx.HTTPError as exc:
            return TransientFailure(f"{type(exc).__name__}: {exc}"[:300])
        if response.status_code == 429 or response.status_code >= 500:
            return TransientFailure(net.http_outcome_error(response), net.retry_after(response))
        if response.status_code != 200:
            return PermanentFailure(net.http_outcome_error(response))
        try:
            answer = response.json()
            code = int(answer.get("errcode", -1))
        except (ValueError, AttributeError, TypeError):
            return TransientFailure(f"unreadable robot answer: {response.text[:200]}")
        if code == 0:
            return Delivered(answer.get("msgid"))
        error = f"errcode {code}: {str(answer.get('errmsg', ''))[:200]}"
        return TransientFailure(error, 60.0) if code in TRANSIENT_CODES else PermanentFailure(error)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

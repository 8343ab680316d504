"""Group-chat robots (群机器人): one signed POST each, as WeCom, DingTalk and Feishu document them.

- WeCom (企业微信): POST {"msgtype": "markdown", "markdown": {"content": …}} to the robot's address
  (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…). WeCom robots do not sign.
- DingTalk (钉钉): POST {"msgtype": "markdown", "markdown": {"title": …, "text": …}} to the robot's address
  (https://oapi.dingtalk.com/robot/send?access_token=…); with a 加签 secret, `timestamp` (milliseconds) and
  `sign` = URL-encoded Base64 of HMAC-SHA256(key=secret, message="<timestamp>\\n<secret>") are added to the query.
- Feishu (飞书): POST {"msg_type": "post", "content": {"post": {"zh_cn": …}}} to the robot's address
  (https://open.feishu.cn/open-apis/bot/v2/hook/…); with a signing secret, the body also carries `timestamp`
  (seconds) and `sign` = Base64 of HMAC-SHA256(key="<timestamp>\\n<secret>", message="").

Each answers HTTP 200 with an error code in its JSON (`errcode`, or `code` for Feishu): 0 is success.

(apprise was the first choice; its 2.3.0 encodes DingTalk's signature twice, so DingTalk refuses it, and it
cannot sign Feishu messages. The three requests are simple enough to make here, and are tested against a local
server that checks them as the services do.)
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass

TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Message:
    title: str
    text: str  # Markdown (WeCom, DingTalk); Feishu shows it as plain text
    url: str


class RobotError(Exception):
    """The robot's service did not accept the message."""


# Markdown's marks, and the angle brackets of mentions, written as their full-width forms (natural in Chinese).
_PLAIN = str.maketrans("[]()<>*_`#!|~\\", "［］（）＜＞＊＿｀＃！｜～＼")


def plain(text: str) -> str:
    """Return `text` as it may go into a robot's Markdown: one line per line, no links, images or mentions."""
    return text.translate(_PLAIN)


def dingtalk_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def request_for(kind: str, address: str, secret: str, message: Message) -> tuple[str, dict]:
    """Return the address to POST to and the JSON body, for a robot of `kind` ("wecom", "dingtalk", "feishu")."""
    markdown = f"**{message.title}**\n\n{message.text}\n\n[{message.url}]({message.url})"
    if kind == "wecom":
        return address, {"msgtype": "markdown", "markdown": {"content": markdown}}
    if kind == "dingtalk":
        if secret:
            timestamp = str(round(time.time() * 1000))
            query = urllib.parse.urlencode({"timestamp": timestamp, "sign": dingtalk_sign(secret, timestamp)})
            address = f"{address}{'&' if '?' in address else '?'}{query}"
        return address, {"msgtype": "markdown", "markdown": {"title": message.title, "text": markdown}}
    if kind == "feishu":
        lines = [[{"tag": "text", "text": line}] for line in message.text.splitlines() if line.strip()]
        post = {"title": message.title, "content": [*lines, [{"tag": "a", "text": message.url, "href": message.url}]]}
        body = {"msg_type": "post", "content": {"post": {"zh_cn": post}}}
        if secret:
            timestamp = str(int(time.time()))
            body = {"timestamp": timestamp, "sign": feishu_sign(secret, timestamp), **body}
        return address, body
    raise ValueError(f"unknown robot service: {kind}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def send(kind: str, address: str, secret: str, message: Message) -> None:
    """Post the message; raise RobotError (or an OSError) unless the service accepted it."""
    url, body = request_for(kind, address, secret, message)
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "Imprimatur-Robots/1"},
    )
    with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
        answer = response.read()
    try:
        result = json.loads(answer or b"{}")
    except ValueError:
        raise RobotError(f"not a JSON answer: {answer[:200]!r}") from None
    code = result.get("code" if kind == "feishu" else "errcode", 0)
    if code != 0:
        raise RobotError(f"error {code}: {result.get('msg') or result.get('errmsg') or ''}")

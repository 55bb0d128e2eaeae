"""Block Kit and mrkdwn as simple, safe HTML for the emulator's channel pages.

Everything that came from a client is escaped; links keep only http(s) and mailto targets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any

# Slack's angle-bracket tokens: <https://x|label>, <@U123>, <#C123|name>, <!here>.
_TOKEN = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_STYLES = (
    (re.compile(r"`([^`\n]+)`"), "code"),
    (re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])"), "strong"),
    (re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])"), "em"),
    (re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])"), "del"),
)
_SAFE_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)

UserName = Callable[[str], str]


def _unslack(text: str) -> str:
    # Slack asks clients to send &, < and > as entities; show them as the characters they are.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _styled(text: str) -> str:
    html = escape(_unslack(text)).replace("\n", "<br>")
    for pattern, tag in _STYLES:
        html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
    return html


def _token_html(target: str, label: str | None, user_name: UserName) -> str:
    if target.startswith("@"):
        return f'<span class="mention">@{escape(user_name(target[1:]))}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{escape(label or target[1:])}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{escape(target[1:])}</span>'
    shown = escape(_unslack(label or target))
    if _SAFE_LINK.match(target):
        return f'<a href="{escape(_unslack(target), quote=True)}" rel="noreferrer">{shown}</a>'
    return shown


def mrkdwn_html(text: str, user_name: UserName) -> str:
    parts: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        parts.append(_styled(text[position : match.start()]))
        parts.append(_token_html(match.group(1), match.group(2), user_name))
        position = match.end()
    parts.append(_styled(text[position:]))
    return "".join(parts)


def text_object_html(value: Any, user_name: UserName) -> str:
    if not isinstance(value, dict):
        return ""
    text = str(value.get("text", ""))
    if value.get("type") == "mrkdwn":
        return mrkdwn_html(text, user_name)
    return escape(text)


def _element_html(element: Any, user_name: UserName) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        style = escape(str(element.get("style", "default")), quote=True)
        label = text_object_html(element.get("text"), user_name)
        return f'<button class="btn {style}" disabled>{label}</button>'
    if kind == "image":
        return f'<span class="img">[image: {escape(str(element.get("alt_text", "")))}]</span>'
    if kind in ("plain_text", "mrkdwn"):
        return f"<span>{text_object_html(element, user_name)}</span>"
    return f'<span class="el">[{escape(str(kind))}]</span>'


def _section_html(block: dict[str, Any], user_name: UserName) -> str:
    html = f"<div>{text_object_html(block.get('text'), user_name)}</div>"
    fields = block.get("fields") or []
    if fields:
        cells = "".join(f"<div>{text_object_html(f, user_name)}</div>" for f in fields)
        html += f'<div class="fields">{cells}</div>'
    if "accessory" in block:
        html += f'<div class="accessory">{_element_html(block["accessory"], user_name)}</div>'
    return f'<div class="section">{html}</div>'


def block_html(block: dict[str, Any], user_name: UserName) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{text_object_html(block.get('text'), user_name)}</h3>"
    if kind == "section":
        return _section_html(block, user_name)
    if kind == "divider":
        return "<hr>"
    if kind in ("context", "actions"):
        inner = " ".join(_element_html(e, user_name) for e in block.get("elements", []))
        return f'<div class="{kind}">{inner}</div>'
    if kind == "image":
        return f'<div class="img">[image: {escape(str(block.get("alt_text", "")))}]</div>'
    if kind == "rich_text":
        return f"<div>{escape(''.join(_rich_text_strings(block)))}</div>"
    return f'<div class="el">[{escape(str(kind))} block]</div>'


def _rich_text_strings(node: Any) -> list[str]:
    """The words of a rich_text tree, in order (formatting dropped: this is a preview)."""
    if isinstance(node, list):
        return [text for child in node for text in _rich_text_strings(child)]
    if not isinstance(node, dict):
        return []
    if node.get("type") == "text":
        return [str(node.get("text", ""))]
    if node.get("type") == "link":
        return [str(node.get("text") or node.get("url", ""))]
    return _rich_text_strings(node.get("elements", []))


def blocks_html(blocks: list[dict[str, Any]], user_name: UserName) -> str:
    return "".join(block_html(block, user_name) for block in blocks)

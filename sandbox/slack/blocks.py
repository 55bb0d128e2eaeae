"""Block Kit checks for message blocks, strict where Slack is strict.

Slack refuses a message whose blocks break the schema with `invalid_blocks` and a list of
errors that end in a JSON pointer, e.g.
`must be more than 0 characters [json-pointer:/blocks/0/text/text]`.
This covers the blocks an alerting bot sends (header, section, context, divider, actions, image,
rich_text) and the limits on them.
"""

from __future__ import annotations

from typing import Any

MAX_BLOCKS = 50
TEXT_TYPES = ("plain_text", "mrkdwn")
BLOCK_TYPES = ("section", "header", "divider", "context", "actions", "image", "rich_text")


def _error(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"


def _check_text(value: Any, pointer: str, *, max_length: int, plain_only: bool) -> list[str]:
    if not isinstance(value, dict):
        return [_error("must be an object", pointer)]
    errors: list[str] = []
    allowed = ("plain_text",) if plain_only else TEXT_TYPES
    if value.get("type") not in allowed:
        errors.append(_error(f"must be one of {', '.join(allowed)}", f"{pointer}/type"))
    text = value.get("text")
    if not isinstance(text, str):
        errors.append(_error("must provide a string", f"{pointer}/text"))
    elif not text:
        errors.append(_error("must be more than 0 characters", f"{pointer}/text"))
    elif len(text) > max_length:
        errors.append(_error(f"must be less than {max_length + 1} characters", f"{pointer}/text"))
    return errors


def _check_button(element: dict[str, Any], pointer: str) -> list[str]:
    errors = _check_text(element.get("text"), f"{pointer}/text", max_length=75, plain_only=True)
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > 255):
        errors.append(_error("must be a string of at most 255 characters", f"{pointer}/action_id"))
    if element.get("style") not in (None, "primary", "danger"):
        errors.append(_error("must be one of primary, danger", f"{pointer}/style"))
    url = element.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > 3000):
        errors.append(_error("must be a string of at most 3000 characters", f"{pointer}/url"))
    return errors


def _check_element(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, dict):
        return [_error("must be an object", pointer)]
    kind = element.get("type")
    if kind == "button":
        return _check_button(element, pointer)
    if kind == "image":
        return _check_image_fields(element, pointer, url_field="image_url")
    if kind in ("static_select", "overflow", "datepicker", "users_select", "conversations_select"):
        return []  # accepted as they are; the bot never needs their insides here
    return [_error("must be a valid element type", f"{pointer}/type")]


def _check_image_fields(block: dict[str, Any], pointer: str, *, url_field: str) -> list[str]:
    errors: list[str] = []
    if not isinstance(block.get(url_field), str) or not block[url_field]:
        errors.append(_error("must provide a string", f"{pointer}/{url_field}"))
    if not isinstance(block.get("alt_text"), str):
        errors.append(_error("must provide a string", f"{pointer}/alt_text"))
    return errors


def _check_section(block: dict[str, Any], pointer: str) -> list[str]:
    has_text = "text" in block
    fields = block.get("fields")
    if not has_text and fields is None:
        return [_error("must provide either text or fields", pointer)]
    errors: list[str] = []
    if has_text:
        errors += _check_text(block["text"], f"{pointer}/text", max_length=3000, plain_only=False)
    if fields is not None:
        if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
            errors.append(_error("must provide between 1 and 10 items", f"{pointer}/fields"))
        else:
            for index, item in enumerate(fields):
                errors += _check_text(
                    item, f"{pointer}/fields/{index}", max_length=2000, plain_only=False
                )
    if "accessory" in block:
        errors += _check_element(block["accessory"], f"{pointer}/accessory")
    return errors


def _check_elements(block: dict[str, Any], pointer: str, *, most: int, context: bool) -> list[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= most:
        return [_error(f"must provide between 1 and {most} items", f"{pointer}/elements")]
    errors: list[str] = []
    for index, element in enumerate(elements):
        where = f"{pointer}/elements/{index}"
        if context and isinstance(element, dict) and element.get("type") in TEXT_TYPES:
            errors += _check_text(element, where, max_length=3000, plain_only=False)
        elif context and isinstance(element, dict) and element.get("type") == "image":
            errors += _check_image_fields(element, where, url_field="image_url")
        elif context:
            errors.append(_error("must be a text object or an image", where))
        else:
            errors += _check_element(element, where)
    return errors


def _check_block(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict):
        return [_error("must be an object", pointer)]
    kind = block.get("type")
    block_id = block.get("block_id")
    errors: list[str] = []
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        errors.append(_error("must be a string of at most 255 characters", f"{pointer}/block_id"))
    if kind == "section":
        errors += _check_section(block, pointer)
    elif kind == "header":
        errors += _check_text(block.get("text"), f"{pointer}/text", max_length=150, plain_only=True)
    elif kind == "context":
        errors += _check_elements(block, pointer, most=10, context=True)
    elif kind == "actions":
        errors += _check_elements(block, pointer, most=25, context=False)
    elif kind == "image":
        errors += _check_image_fields(block, pointer, url_field="image_url")
    elif kind == "rich_text":
        if not isinstance(block.get("elements"), list):
            errors.append(_error("must provide an array", f"{pointer}/elements"))
    elif kind != "divider":
        errors.append(_error(f"must be one of {', '.join(BLOCK_TYPES)}", f"{pointer}/type"))
    return errors


def block_errors(blocks: list[Any]) -> list[str]:
    """Every schema error in `blocks`, empty when Slack would accept them."""
    if len(blocks) > MAX_BLOCKS:
        return [_error(f"must provide at most {MAX_BLOCKS} items", "/blocks")]
    errors: list[str] = []
    for index, block in enumerate(blocks):
        errors += _check_block(block, f"/blocks/{index}")
    return errors

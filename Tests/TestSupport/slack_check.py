#!/usr/bin/python3
"""Checks Slack incoming-webhook payloads the way Slack's own SDK does, plus the rules it leaves out.

Usage:
  slack_check.py [FILE ...]     each FILE holds one JSON payload
  slack_check.py < LINES        one payload a line; a line may start with a label and a tab
                                (compact JSON has no raw tab), which names it in the problems

Every block goes through slack_sdk's own models (slack_sdk/models/blocks/blocks.py and
basic_components.py): Block.parse, then to_dict(), which runs validate_json() on the block and
on every object inside it (header text over 150 characters, section text over 3,000, more than
10 context elements, an empty text...). A block the models do not take back whole (an unknown
block, a key they drop) is a problem too.

What slack_sdk does not check, from Slack's documentation:
  - at most 50 blocks a message (docs.slack.dev/reference/block-kit/blocks);
  - every text object 1 to 3,000 characters, context elements included
    (docs.slack.dev/reference/block-kit/composition-objects/text-object), a section field at most
    2,000 (docs.slack.dev/reference/block-kit/blocks/section-block);
  - the blocks' texts together at most 12,000 characters: chat.postMessage refuses more as
    msg_blocks_too_long although no page states it (Slack's SDK maintainers give "12,000 text
    characters with a buffer for block containers": github.com/slackapi/bolt-js/issues/2509);
  - the top-level `text` present and at most 3,000 characters: Slack truncates at 40,000 and advises
    4,000 (docs.slack.dev/reference/methods/chat.postMessage); batchgate keeps it shorter.
And batchgate's own rules, so that nothing from a manifest acts as markup:
  - no `<` or `>` and no `&` but `&amp;` `&lt;` `&gt;` in any mrkdwn text or the top-level `text`
    (batchgate sends no link and no mention; docs.slack.dev/messaging/formatting-message-text);
  - every plain_text object has "emoji": false, so `:name:` stays text.
Characters are counted as Python's len() counts them, in code points, as slack_sdk does.

Prints one line per problem and exits 1 when there is any, 0 when every payload passes, 2 when
slack_sdk cannot be imported (it is a test tool, installed into .build/python-tools).
"""

import json
import re
import sys

from payload_documents import documents  # beside this file: a script's folder is on its path

INSTALL = "make deps (the pinned tools of Tests/TestSupport/python-tools.txt, into .build/python-tools)"

try:
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block
except ImportError as error:
    print(f"slack_check: slack_sdk is not importable ({error}); install it with: {INSTALL}"
          " and run with PYTHONPATH=.build/python-tools", file=sys.stderr)
    sys.exit(2)

MAX_BLOCKS = 50
MAX_TEXT_OBJECT = 3000
MAX_SECTION_FIELD = 2000
MAX_BLOCKS_TEXT_TOTAL = 12000
MAX_MESSAGE_TEXT = 3000
# An ampersand that does not begin one of the three entities Slack decodes.
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def excerpt(text, at):
    """A few characters around position `at`, for the problem line."""
    return repr(text[max(0, at - 15):at + 15])


def markup_problems(where, text):
    """What in a mrkdwn text (or the top-level `text`) Slack would read as a control character."""
    problems = []
    for character in "<>":
        at = text.find(character)
        if at >= 0:
            problems.append(f"{where}: unescaped {character!r} at {at}: {excerpt(text, at)}")
    match = BARE_AMPERSAND.search(text)
    if match:
        problems.append(f"{where}: '&' not written as an entity at {match.start()}: {excerpt(text, match.start())}")
    return problems


def text_objects(value, path):
    """Every text object (a dict with type plain_text or mrkdwn and a text) inside value, with its path."""
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and "text" in value:
            yield path, value
            return
        for key, inner in value.items():
            yield from text_objects(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from text_objects(inner, f"{path}[{index}]")


def same(sent, modelled):
    """True when slack_sdk's model gives back what was sent (keys it does not know are dropped)."""
    return json.dumps(sent, sort_keys=True) == json.dumps(modelled, sort_keys=True)


def check_block(block, where):
    problems = []
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [f"{where}: slack_sdk does not know this block: {json.dumps(block)[:80]}"]
        parsed.validate_json()
        modelled = parsed.to_dict()  # validates every object inside the block too
    except SlackObjectFormationError as error:
        return [f"{where} ({block.get('type')}): slack_sdk refuses it: {error}"]
    except (TypeError, KeyError, ValueError) as error:
        return [f"{where} ({block.get('type')}): slack_sdk cannot read it: {error}"]
    if not same(block, modelled):
        problems.append(f"{where} ({block.get('type')}): slack_sdk's model does not give it back whole "
                        f"(sent {json.dumps(block, sort_keys=True)[:120]}, model {json.dumps(modelled, sort_keys=True)[:120]})")
    if block.get("type") == "header" and block.get("text", {}).get("type") != "plain_text":
        problems.append(f"{where}: a header's text must be plain_text")
    for index, field in enumerate(block.get("fields") or []):
        if len(field.get("text", "")) > MAX_SECTION_FIELD:
            problems.append(f"{where}.fields[{index}]: {len(field['text'])} characters, over a section field's {MAX_SECTION_FIELD}")
    return problems


def check(payload, label):
    """The problems of one payload, each a line naming where it is."""
    if not isinstance(payload, dict):
        return [f"{label}: not a JSON object"]
    problems = []
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{label}: no top-level text (the notification and screen-reader text)")
    else:
        if len(text) > MAX_MESSAGE_TEXT:
            problems.append(f"{label}: text is {len(text)} characters, over {MAX_MESSAGE_TEXT}")
        problems += markup_problems(f"{label}: text", text)
    blocks = payload.get("blocks", [])
    if not isinstance(blocks, list):
        return problems + [f"{label}: blocks is not a list"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{label}: {len(blocks)} blocks, over {MAX_BLOCKS}")
    total = 0
    for index, block in enumerate(blocks):
        where = f"{label}: blocks[{index}]"
        if not isinstance(block, dict):
            problems.append(f"{where}: not a JSON object")
            continue
        problems += check_block(block, where)
        for path, item in text_objects(block, where):
            content = item.get("text")
            if not isinstance(content, str):
                problems.append(f"{path}: text is not a string")
                continue
            total += len(content)
            if not 1 <= len(content) <= MAX_TEXT_OBJECT:
                problems.append(f"{path}: {len(content)} characters, outside a text object's 1 to {MAX_TEXT_OBJECT}")
            if item["type"] == "mrkdwn":
                problems += markup_problems(f"{path} (mrkdwn)", content)
            elif item.get("emoji") is not False:
                problems.append(f"{path}: plain_text without \"emoji\": false (':name:' would become an emoji)")
    if total > MAX_BLOCKS_TEXT_TOTAL:
        problems.append(f"{label}: the blocks' texts total {total} characters, over the {MAX_BLOCKS_TEXT_TOTAL} Slack refuses as msg_blocks_too_long")
    return problems


def main():
    checked = 0
    problems = []
    for label, document in documents(sys.argv[1:]):
        checked += 1
        try:
            payload = json.loads(document)
        except json.JSONDecodeError as error:
            problems.append(f"{label}: not JSON: {error}")
            continue
        problems += check(payload, label)
    for problem in problems:
        print(problem)
    print(f"slack_check: {checked} payloads, {len(problems)} problems", file=sys.stderr)
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

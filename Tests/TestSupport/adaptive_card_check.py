#!/usr/bin/python3
"""Checks Teams messages against Microsoft's Adaptive Card schemas (Debian's python3-jsonschema).

Usage:
  adaptive_card_check.py [--schemas DIR] [FILE ...]   each FILE holds one JSON payload
  adaptive_card_check.py [--schemas DIR] < LINES      one payload a line; a line may start with a
                                                      label and a tab, which names it in the problems

A payload is a Teams message ({"type": "message", "attachments": [...]}), whose every Adaptive Card
attachment is checked, or a bare AdaptiveCard. Every card is validated against each schema under
DIR (default: AdaptiveCardSchemas/ beside this script, one folder per version:
1.4.0/adaptive-card.json and so on), and nothing in it may be newer than the version the card
declares (the schemas mark when most elements and properties came; a client older than that
shows the card's fallback text instead).

Prints one line per problem, "LABEL: WHERE: WHAT", and exits 1 when there is any (or no payload
at all), 0 when every card is valid against every schema, 2 when jsonschema or a schema cannot be
read.
"""

import argparse
import json
import os
import sys

from payload_documents import documents  # beside this file: a script's folder is on its path

try:
    import jsonschema
except ImportError:
    print("adaptive_card_check: needs Debian's python3-jsonschema (make deps installs it)", file=sys.stderr)
    sys.exit(2)

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schemas", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "AdaptiveCardSchemas"),
                        help="folder of <version>/adaptive-card.json files")
    parser.add_argument("files", nargs="*", metavar="FILE")
    return parser.parse_args()


def version_key(text):
    """'1.4' and '1.4.0' as (1, 4): versions compared as numbers, not text ('1.10' > '1.9')."""
    parts = [int(part) for part in str(text).split(".")]
    while len(parts) > 2 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def load_schemas(folder):
    """(version, validator) for each <version>/adaptive-card.json under `folder`, oldest first."""
    schemas = []
    for name in sorted(os.listdir(folder), key=lambda name: version_key(name) if name[0].isdigit() else ()):
        path = os.path.join(folder, name, "adaptive-card.json")
        if name[0].isdigit() and os.path.isfile(path):
            with open(path, encoding="utf-8") as file:
                schema = json.load(file)
            # Not Draft6Validator.check_schema: Microsoft's files have a few `"required": false`
            # inside properties (draft-03 style), which the meta-schema refuses; validation
            # ignores them (`required` only looks at objects, and those values are not).
            schemas.append((name, jsonschema.Draft6Validator(schema)))
    if not schemas:
        raise OSError(f"no <version>/adaptive-card.json under {folder}")
    return schemas


def where(path):
    """A location in a card as JSONPath: $.body[3].inlines[0].weight."""
    text = "$"
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def shown(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def definition_name(branch):
    """The definition an `anyOf` branch stands for: {"allOf": [{"$ref": "#/definitions/X"}]} -> X."""
    for part in branch.get("allOf", [branch]):
        reference = part.get("$ref", "")
        if reference.startswith("#/definitions/"):
            return reference[len("#/definitions/"):]
    return None


def explain(error):
    """The errors a person can act on. The schemas list the element types as `anyOf` branches, so a
    bad element fails every branch at once ("is not valid under any of the given schemas"): for an
    element with a `type`, the errors of the branch of that type are the ones that say what is wrong."""
    if error.validator == "anyOf" and isinstance(error.instance, dict) and "type" in error.instance:
        branches = error.validator_value
        chosen = [index for index, branch in enumerate(branches) if definition_name(branch) == error.instance["type"]]
        if not chosen and all(definition_name(branch) for branch in branches):
            known = ", ".join(sorted(definition_name(branch) for branch in branches))
            return [(list(error.absolute_path) + ["type"], f"unknown type {shown(error.instance['type'])} here (known: {known})")]
        if chosen:
            inner = [sub for sub in error.context if sub.relative_schema_path and sub.relative_schema_path[0] == chosen[0]]
            if inner:
                return [line for sub in inner for line in explain(sub)]
    if error.validator == "anyOf" and error.context:
        # A value of one of several forms (an enum or its case-insensitive pattern, a value or
        # null, a TextRun or its string shorthand): the branches the value has the JSON type of
        # say what is wrong; for a value of a fixed list, that list.
        allowed = enum_values(error.context)
        if allowed and not isinstance(error.instance, (dict, list)):
            return [(list(error.absolute_path), f"{shown(error.instance)} is not one of {', '.join(map(str, allowed))}")]
        wrong_type = {sub.relative_schema_path[0] for sub in error.context
                      if sub.validator == "type" and len(sub.relative_schema_path) == 2}
        fitting = sorted({sub.relative_schema_path[0] for sub in error.context} - wrong_type)
        if len(fitting) == 1:
            inner = [sub for sub in error.context if sub.relative_schema_path[0] == fitting[0]]
            return [line for sub in inner for line in explain(sub)]
    if error.validator == "additionalProperties":
        return [(list(error.absolute_path), f"{error.message} (the schema allows no other property here)")]
    return [(list(error.absolute_path), error.message)]


def enum_values(errors):
    """The values the `enum`s among `errors` and their own sub-errors allow."""
    values = []
    for error in errors:
        if error.validator == "enum":
            values += [value for value in error.validator_value if value not in values]
        values += [value for value in enum_values(error.context or []) if value not in values]
    return values


def introduced(definitions, name, property_name=None, seen=None):
    """The version that brought definition `name` (or its property), following its `allOf`
    references (properties an element shares with others are defined once, in Extendable.*)."""
    definition = definitions.get(name, {})
    if property_name is None:
        return definition.get("version")
    seen = seen or set()
    if name in seen:
        return None
    seen.add(name)
    declared = definition.get("properties", {}).get(property_name)
    if declared:
        return declared.get("version")
    for part in definition.get("allOf", []):
        parent = part.get("$ref", "").replace("#/definitions/", "")
        if parent:
            version = introduced(definitions, parent, property_name, seen)
            if version:
                return version
    for part in definition.get("anyOf", []):
        if part.get("type") == "object" and property_name in part.get("properties", {}):
            return part["properties"][property_name].get("version")
    return None


def newer_than_declared(card, definitions):
    """(path, problem) for every element or property the card uses that came after its `version`."""
    declared = card.get("version") if isinstance(card, dict) else None
    if not isinstance(declared, str):
        return [([], "the card declares no version (Teams needs one on the top-level card)")]
    try:
        limit = version_key(declared)
    except ValueError:
        return [(["version"], f"{shown(declared)} is not a version like \"1.4\"")]
    problems = []

    def walk(node, path):
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, path + [index])
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type") if path else "AdaptiveCard"
        if isinstance(kind, str) and kind in definitions:
            version = introduced(definitions, kind)
            if version and version_key(version) > limit:
                problems.append((path + ["type"], f"{kind} came in Adaptive Cards {version}, the card declares {declared}"))
            for key in node:
                version = introduced(definitions, kind, key)
                if version and version_key(version) > limit:
                    problems.append((path + [key], f"{kind}.{key} came in Adaptive Cards {version}, the card declares {declared}"))
        for key, value in node.items():
            walk(value, path + [key])

    walk(card, [])
    return problems


def cards_of(payload):
    """(label, card) for each Adaptive Card in a Teams message, or the payload if it is a card."""
    if isinstance(payload, dict) and payload.get("type") == "AdaptiveCard":
        return [("card", payload)], []
    if not isinstance(payload, dict) or payload.get("type") != "message":
        return [], [([], 'neither a Teams message ("type": "message") nor an AdaptiveCard')]
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return [], [(["attachments"], "a Teams message needs a non-empty attachments array")]
    cards, problems = [], []
    for index, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or attachment.get("contentType") != ADAPTIVE_CARD:
            problems.append((["attachments", index, "contentType"], f"not {ADAPTIVE_CARD}"))
        elif not isinstance(attachment.get("content"), dict):
            problems.append((["attachments", index, "content"], "the attachment has no card object"))
        else:
            cards.append((f"attachments[{index}].content", attachment["content"]))
    return cards, problems


def check(payload, schemas):
    """Every problem of one payload as text lines."""
    cards, problems = cards_of(payload)
    lines = [f"{where(path)}: {problem}" for path, problem in problems]
    for label, card in cards:
        for version, validator in schemas:
            for error in sorted(validator.iter_errors(card), key=lambda error: list(map(str, error.absolute_path))):
                for path, problem in explain(error):
                    lines.append(f"{label}, schema {version}: {where(path)}: {problem}")
        # Versions are checked against the newest schema: it knows when everything came.
        definitions = schemas[-1][1].schema.get("definitions", {})
        for path, problem in newer_than_declared(card, definitions):
            lines.append(f"{label}: {where(path)}: {problem}")
    return lines


def main():
    arguments = parse_arguments()
    try:
        schemas = load_schemas(arguments.schemas)
    except (OSError, ValueError) as error:
        print(f"adaptive_card_check: cannot read the schemas: {error}", file=sys.stderr)
        return 2
    checked = 0
    problems = []
    try:
        for label, document in documents(arguments.files):
            checked += 1
            try:
                payload = json.loads(document)
            except ValueError as error:
                problems.append(f"{label}: not JSON: {error}")
                continue
            problems += [f"{label}: {line}" for line in check(payload, schemas)]
    except OSError as error:
        print(f"adaptive_card_check: cannot read {error.filename}: {error.strerror}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    print(f"adaptive_card_check: {checked} payloads, {len(problems)} problems", file=sys.stderr)
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

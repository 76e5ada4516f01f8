#!/usr/bin/python3
"""Checks webhook requests as their receivers' own libraries read them.

Input (stdin): a JSON list of requests, each {"headers": {name: value}, "body_base64": "...",
"secret": "..." or null}, sent just now. For each request:
  - CloudEvents 1.0 binary mode, read by the CloudEvents Python SDK (cloudevents.http.from_http):
    every required attribute present, the id equal to Idempotency-Key, the time RFC 3339, the data
    the body;
  - with a secret, Standard Webhooks' signature, verified by the standardwebhooks library with
    the secret as it takes it ("whsec_" and the base64 of the key); the library also refuses a
    timestamp more than five minutes from its clock.
Prints one line per problem, naming the request, and exits 1 if there is any.
"""

import base64
import datetime
import json
import sys

from cloudevents.http import from_http
from standardwebhooks.webhooks import Webhook


def check(index, request):
    problems = []
    headers = request["headers"]
    body = base64.b64decode(request["body_base64"])
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        event = from_http(headers, body)
    except Exception as error:  # the SDK's own refusal, whatever its class
        problems.append(f"request {index}: not a CloudEvent in binary mode: {type(error).__name__}: {error}")
    else:
        if event["specversion"] != "1.0":
            problems.append(f"request {index}: specversion {event['specversion']!r}, not 1.0")
        if event["id"] != lowered.get("idempotency-key"):
            problems.append(f"request {index}: ce-id {event['id']!r} is not the Idempotency-Key {lowered.get('idempotency-key')!r}")
        try:
            datetime.datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        except (KeyError, ValueError) as error:
            problems.append(f"request {index}: ce-time is not RFC 3339: {error}")
        if event.data != json.loads(body):
            problems.append(f"request {index}: the event's data is not the body")
    secret = request.get("secret")
    if secret is not None:
        receiver = Webhook("whsec_" + base64.b64encode(secret.encode()).decode())
        try:
            receiver.verify(body, headers)
        except Exception as error:
            problems.append(f"request {index}: Standard Webhooks verification failed: {type(error).__name__}: {error}")
    return problems


def main():
    requests = json.load(sys.stdin)
    problems = [problem for index, request in enumerate(requests) for problem in check(index, request)]
    for problem in problems:
        print(problem)
    print(f"{len(requests)} request(s) checked, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

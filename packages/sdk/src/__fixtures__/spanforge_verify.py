"""A re-implementation of spanforge's signing.verify_chain (spanforge/signing.py), for tests.

Per event: checksum = "sha256:" + sha256(json.dumps(payload, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)); signature = "hmac-sha256:" +
HMAC-SHA256(key, f"{event_id}|{checksum}|{prev_id or ''}"); events[0].prev_id is
None and events[n].prev_id == events[n-1].event_id. Also checks costspan's
costspan_signature (HMAC over the whole event without signature fields, same
rendering) when present.

Usage: python3 spanforge_verify.py KEY < events.jsonl; prints one JSON result line.
"""

import hashlib
import hmac
import json
import sys


def dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def mac(key, text):
    return "hmac-sha256:" + hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def main():
    key = sys.argv[1]
    events = [json.loads(line) for line in sys.stdin if line.strip()]
    tampered, gaps, whole_bad, whole_checked = [], [], [], 0
    for index, event in enumerate(events):
        checksum = "sha256:" + hashlib.sha256(dumps(event["payload"]).encode("utf-8")).hexdigest()
        signature = mac(key, f"{event['event_id']}|{checksum}|{event.get('prev_id') or ''}")
        if event.get("checksum") != checksum or not hmac.compare_digest(event.get("signature", ""), signature):
            tampered.append(event["event_id"])
        expected_prev = None if index == 0 else events[index - 1]["event_id"]
        if event.get("prev_id") != expected_prev:
            gaps.append(event["event_id"])
        if "costspan_signature" in event:
            whole_checked += 1
            body = {k: v for k, v in event.items() if k not in ("signature", "costspan_signature")}
            if not hmac.compare_digest(event["costspan_signature"], mac(key, dumps(body))):
                whole_bad.append(event["event_id"])
    print(json.dumps({
        "valid": not tampered and not gaps,
        "events": len(events),
        "tampered": tampered,
        "gaps": gaps,
        "whole_checked": whole_checked,
        "whole_bad": whole_bad,
    }))


if __name__ == "__main__":
    main()

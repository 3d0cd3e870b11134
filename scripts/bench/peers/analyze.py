#!/usr/bin/env python3
"""Plain-Python peer of `almanac batch results analyze`, written the way the seed's
`process_batch_results.py analyze` does it: a line loop, `json.loads` per line, the answer's
JSON parsed and its four fields checked, failures counted by reason, usage summed.

    analyze.py RESULTS.jsonl [MORE.jsonl …]
"""
import json
import sys
from collections import Counter

FIELDS = ("year", "simple", "detail", "related_movies")


def outcome(line):
    if line.get("error"):
        return line["error"].get("code") or "request_error"
    response = line.get("response")
    if not response:
        return "no_response"
    body = response.get("body") or {}
    if response.get("status_code") != 200:
        return f"http_{response.get('status_code')}"
    choices = body.get("choices") or []
    if not choices:
        return "empty_answer"
    message = choices[0].get("message") or {}
    if message.get("refusal"):
        return "refusal"
    if choices[0].get("finish_reason") == "length":
        return "truncated"
    try:
        answer = json.loads(message.get("content") or "")
    except ValueError:
        return "invalid_json"
    if not isinstance(answer, dict) or any(f not in answer for f in FIELDS):
        return "missing_field"
    return None


def main():
    lines = succeeded = 0
    failures = Counter()
    usage = Counter()
    models = Counter()
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            for raw in f:
                if not raw.strip():
                    continue
                lines += 1
                line = json.loads(raw)
                body = (line.get("response") or {}).get("body") or {}
                if body.get("model"):
                    models[body["model"]] += 1
                for k in ("prompt_tokens", "completion_tokens"):
                    usage[k] += (body.get("usage") or {}).get(k, 0)
                code = outcome(line)
                if code is None:
                    succeeded += 1
                else:
                    failures[code] += 1
    print(f"{lines} lines: {succeeded} succeeded, {sum(failures.values())} failed")
    for code, n in failures.most_common():
        print(f"  {code}: {n}")
    print(f"Tokens: {usage['prompt_tokens']} input, {usage['completion_tokens']} output; models {dict(models)}")


if __name__ == "__main__":
    main()

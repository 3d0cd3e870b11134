#!/usr/bin/env python3
"""Plain-Python peer of `almanac batch build`, written the way the seeds' scripts
(`create_batch_input.py`, `batch_file_generator.py`) do it: the csv module, one `json.dumps` per
request line, written as it goes; parts of at most 50,000 requests / 200 MB (the Batch API's
limits) named like Almanac's.

    build.py INPUT.csv OUTPUT.jsonl --prompt prompt.json [--start-row N] [--end-row N]

`prompt.json` (written by the benchmark from Almanac's own prompt) holds the model, the system
prompt, the response format and the model's settings, so both programs send the same requests.
"""
import argparse
import csv
import json
import os

MAX_REQUESTS = 50_000
MAX_BYTES = 200 * 1024 * 1024
OUTPUTS = ("year", "content_simple", "content_detailed", "related_movies")


def part_path(base, n):
    stem, ext = os.path.splitext(base)
    return f"{stem}.part-{n}{ext}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--prompt", required=True)
    ap.add_argument("--start-row", type=int, default=0)
    ap.add_argument("--end-row", type=int, default=None)
    args = ap.parse_args()
    with open(args.prompt, encoding="utf-8") as f:
        prompt = json.load(f)
    settings = prompt["settings"]  # temperature/max_tokens or max_completion_tokens, …

    parts = []  # [path, requests, bytes]
    out = None
    with open(args.input, newline="", encoding="utf-8-sig") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i < args.start_row or (args.end_row is not None and i >= args.end_row):
                continue
            rid, title = (row.get("id") or "").strip(), (row.get("title") or "").strip()
            if not rid or not title or all((row.get(k) or "").strip() for k in OUTPUTS):
                continue
            body = {
                "model": prompt["model"],
                "messages": [
                    {"role": "system", "content": prompt["system_prompt"]},
                    {"role": "user", "content": f"Historical event: {title}"},
                ],
                "response_format": prompt["response_format"],
                **settings,
            }
            line = json.dumps(
                {"custom_id": rid, "method": "POST", "url": "/v1/chat/completions", "body": body},
                ensure_ascii=False,
                separators=(",", ":"),
            ) + "\n"
            data = line.encode("utf-8")
            if out is None or parts[-1][1] == MAX_REQUESTS or parts[-1][2] + len(data) > MAX_BYTES:
                if out is not None:
                    out.close()
                path = part_path(args.output, len(parts) + 1)
                out = open(path, "wb")
                parts.append([path, 0, 0])
            out.write(data)
            parts[-1][1] += 1
            parts[-1][2] += len(data)
    if out is not None:
        out.close()
    if len(parts) == 1:
        os.replace(parts[0][0], args.output)
        parts[0][0] = args.output
    for path, requests, size in parts:
        print(f"wrote {requests} requests to {path} ({size} bytes)")


if __name__ == "__main__":
    main()

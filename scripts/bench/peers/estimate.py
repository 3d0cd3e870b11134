#!/usr/bin/env python3
"""Plain-Python peer of `almanac run … --estimate-cost`, written the way the seeds' scripts
(`test_batch.py --estimate-only`, `batch_workflow.py --estimate-cost`) do it, with one kindness:
the shared system prompt, schema and framing are encoded once, and only each row's user message
per row (tiktoken, o200k_base; the chat framing of OpenAI's cookbook "How to count tokens with
tiktoken").

    estimate.py INPUT.csv --prompt prompt.json

tiktoken downloads its BPE file on first use; offline, point TIKTOKEN_CACHE_DIR at a folder that
holds it under tiktoken's cache name (`tiktoken_cache.py` prepares one from tiktoken-rs's copy).
"""
import argparse
import csv
import json

import tiktoken

OUTPUTS = ("year", "content_simple", "content_detailed", "related_movies")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("--prompt", required=True)
    args = ap.parse_args()
    with open(args.prompt, encoding="utf-8") as f:
        prompt = json.load(f)
    enc = tiktoken.get_encoding("o200k_base")
    schema = json.dumps(prompt["response_format"]["json_schema"], ensure_ascii=False, separators=(",", ":"))
    # 3 framing tokens per message + role + content; 3 priming the reply; the schema's text.
    shared = 3 + 3 + len(enc.encode_ordinary("system")) + len(enc.encode_ordinary(prompt["system_prompt"]))
    shared += 3 + len(enc.encode_ordinary("user")) + len(enc.encode_ordinary(schema))
    rows = input_tokens = 0
    with open(args.input, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            title = (row.get("title") or "").strip()
            if not (row.get("id") or "").strip() or not title:
                continue
            if all((row.get(k) or "").strip() for k in OUTPUTS):
                continue
            rows += 1
            input_tokens += shared + len(enc.encode_ordinary(f"Historical event: {title}"))
    price = prompt["prices"]
    output_tokens = rows * price["typical_output_tokens"]
    realtime = input_tokens * price["input_per_1m"] / 1e6 + output_tokens * price["output_per_1m"] / 1e6
    print(
        f"Estimate for {rows} rows: {input_tokens} input + ~{output_tokens} output tokens — "
        f"batch ${realtime * price['batch_price_factor']:.4f} (realtime would be ${realtime:.4f})"
    )


if __name__ == "__main__":
    main()

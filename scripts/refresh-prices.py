#!/usr/bin/env python3
"""Refresh Almanac's vendored price snapshot from the `genai-prices` package (pydantic, MIT).

Usage: python3 scripts/refresh-prices.py VERSION [--date YYYY-MM-DD] [--wheel-dir DIR]

Downloads `genai-prices==VERSION` from PyPI with pip (no dependencies; `pydantic` must be
importable: `pip install pydantic`), reads `genai_prices.data.providers`, and writes
`crates/core/data/genai-prices.json` (providers openai, anthropic and google only: each model's id,
match rule, deprecated flag and prices per million tokens in force on DATE, default today, plus the
`service_tier: flex` and `processing: batch` variants in force on DATE) and
`crates/core/data/genai-prices.LICENSE` (the package's MIT notice). A test in
`crates/core/src/prices.rs` then checks every price of `models.toml` against the snapshot.
"""

import argparse
import dataclasses
import datetime
import glob
import json
import os
import subprocess
import sys
import tempfile
import types
import zipfile
from decimal import Decimal

PROVIDERS = ("openai", "anthropic", "google")
PRICE_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")
VARIANTS = {("service_tier", "flex"): "flex", ("processing", "batch"): "batch"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "crates", "core", "data")


def load_package(version, wheel_dir):
    """Downloads and unpacks the wheel; returns (genai_prices.data module, LICENSE text)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"genai-prices=={version}",
         "--no-deps", "--only-binary=:all:", "-d", wheel_dir],
        check=True,
    )
    wheel = glob.glob(os.path.join(wheel_dir, f"genai_prices-{version}-*.whl"))[0]
    unpacked = os.path.join(wheel_dir, "unpacked")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
    # The package imports `httpx2` for its auto-update; the data itself does not need it.
    sys.modules.setdefault("httpx2", types.ModuleType("httpx2"))
    sys.path.insert(0, unpacked)
    from genai_prices import data  # noqa: PLC0415

    licence = glob.glob(os.path.join(unpacked, f"genai_prices-{version}.dist-info", "**", "LICENSE*"),
                        recursive=True)[0]
    with open(licence, encoding="utf-8") as f:
        return data, f.read()


def num(d):
    """A Decimal as a JSON number (exact for the prices published)."""
    return float(d)


def price(value):
    """A price: a number, or `{"base": n, "tiers": [{"start": tokens, "price": n}]}`."""
    if isinstance(value, Decimal):
        return num(value)
    return {"base": num(value.base), "tiers": [{"start": t.start, "price": num(t.price)} for t in value.tiers]}


def prices(model_price):
    out = {}
    for key in PRICE_KEYS:
        value = getattr(model_price, key, None)
        if value is not None:
            out[key] = price(value)
    return out


def match_rule(clause):
    """A match clause as data: `{"equals": s}`, `{"starts_with": s}`, `{"or": [...]}`, ..."""
    fields = dataclasses.fields(clause)
    (field,) = fields
    value = getattr(clause, field.name)
    name = field.name.rstrip("_")
    if isinstance(value, list):
        return {name: [match_rule(c) for c in value]}
    return {name: value}


def in_force(constraint, today):
    return constraint is None or constraint.active(
        datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.timezone.utc))


def model_entry(model, today):
    moment = datetime.datetime.combine(today, datetime.time(12), tzinfo=datetime.timezone.utc)
    entry = {"id": model.id, "match": match_rule(model.match)}
    if model.deprecated:
        entry["deprecated"] = True
    entry["prices"] = prices(model.get_prices(moment))
    variants = {}
    for variant in model.price_variants or ():
        for (key, value), name in VARIANTS.items():
            if variant.when == {key: value} and in_force(variant.constraint, today) and name not in variants:
                found = prices(variant.prices)
                if found:
                    variants[name] = found
    if variants:
        entry["variants"] = variants
    return entry


def render(snapshot):
    """JSON with one model per line, so a refresh reads as a short diff."""
    head = {k: v for k, v in snapshot.items() if k != "providers"}
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines.append(' "providers": [')
    for i, provider in enumerate(snapshot["providers"]):
        lines.append(f'  {{"id": {json.dumps(provider["id"])}, "models": [')
        models = [f"   {json.dumps(m, ensure_ascii=False)}" for m in provider["models"]]
        lines.append(",\n".join(models))
        lines.append("  ]}" + ("," if i + 1 < len(snapshot["providers"]) else ""))
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="genai-prices version on PyPI, e.g. 0.2.5")
    parser.add_argument("--date", help="prices in force on this UTC date (default today)")
    parser.add_argument("--wheel-dir", help="where to download the wheel (default a temporary dir)")
    args = parser.parse_args()
    today = datetime.date.fromisoformat(args.date) if args.date else datetime.datetime.now(datetime.timezone.utc).date()
    with tempfile.TemporaryDirectory() as tmp:
        data, licence = load_package(args.version, args.wheel_dir or tmp)
        snapshot = {
            "source": "https://github.com/pydantic/genai-prices (PyPI package genai-prices, MIT)",
            "package_version": args.version,
            "snapshot_date": today.isoformat(),
            "units": "USD per 1M tokens",
            "providers": [
                {"id": p.id, "models": [model_entry(m, today) for m in p.models]}
                for p in data.providers if p.id in PROVIDERS
            ],
        }
    with open(os.path.join(OUT_DIR, "genai-prices.json"), "w", encoding="utf-8") as f:
        f.write(render(snapshot))
    with open(os.path.join(OUT_DIR, "genai-prices.LICENSE"), "w", encoding="utf-8") as f:
        f.write(licence)


if __name__ == "__main__":
    main()

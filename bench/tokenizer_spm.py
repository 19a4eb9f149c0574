#!/usr/bin/python3
"""Reference timing for bench/tokenizer.ts: encodes every line with Python sentencepiece (the C++ library)
and reports the best of several passes; writes the ids per line so the bench can count agreement.

usage: tokenizer_spm.py MODEL LINES.jsonl IDS_OUT.jsonl [passes]
"""
import json
import sys
import time

import sentencepiece as spm


def main() -> None:
    model, lines_path, out_path = sys.argv[1:4]
    passes = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    with open(lines_path, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    sp = spm.SentencePieceProcessor(model_file=model)
    best = float("inf")
    for _ in range(passes):
        t0 = time.perf_counter()
        ids = [sp.encode(line) for line in lines]
        best = min(best, time.perf_counter() - t0)
    with open(out_path, "w", encoding="utf-8") as f:
        for row in ids:
            f.write(json.dumps(row) + "\n")
    chars = sum(len(l) for l in lines)
    print(json.dumps({"seconds": best, "chars": chars, "chars_per_s": chars / best, "version": spm.__version__}))


if __name__ == "__main__":
    main()

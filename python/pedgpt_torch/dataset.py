"""Reader of the project's tokenized datasets (`pedgpt-tokens` version 1, documented in
src/train/data/README.md): meta.json checked (format, version, kind, counts), the int32 token,
label and optional segment files memory-mapped, the int64 row index checked against the sizes.
Also the collation every stage uses: rows right-padded to the longest of the batch (pad id,
attention mask 0, label -100), with segment ids and positions restarting per segment for packed
rows, exactly as the engine's `collateRows` (padding joins the row's last segment).

Not here: making datasets (the TypeScript side writes them) or losses (objectives.py).
"""
import json
import os
import sys
from typing import Dict, List, Optional

import numpy as np
import torch

from .errors import FormatError

FORMAT = "pedgpt-tokens"
VERSION = 1
IGNORE_INDEX = -100


class TokenDataset:
    def __init__(self, d: str):
        if sys.byteorder != "little":
            raise FormatError(d, "tokenized datasets are little-endian; this platform is big-endian")
        self.dir = d
        mf = os.path.join(d, "meta.json")
        if not os.path.isfile(mf):
            raise FormatError(d, "not a tokenized dataset (no meta.json)")
        try:
            with open(mf, "r", encoding="utf-8") as f:
                meta = json.load(f)
        except ValueError as e:
            raise FormatError(mf, f"not valid JSON: {e}") from e
        if not isinstance(meta, dict):
            raise FormatError(mf, "expected a JSON object")
        if meta.get("format") != FORMAT:
            raise FormatError(mf, f'format is {json.dumps(meta.get("format"))}, expected "{FORMAT}"')
        if meta.get("version") != VERSION:
            raise FormatError(mf, f"version {json.dumps(meta.get('version'))} is not supported (this code reads version {VERSION})")
        if meta.get("kind") not in ("pt", "sft", "pairs"):
            raise FormatError(mf, f'kind {json.dumps(meta.get("kind"))}; expected pt, sft or pairs')
        for k in ("rows", "tokens", "targets", "maxRowLength"):
            v = meta.get(k)
            if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0):
                raise FormatError(mf, f'field "{k}" must be a non-negative integer, found {json.dumps(v)}')
        if not isinstance(meta.get("hasSegments"), bool):
            raise FormatError(mf, 'field "hasSegments" must be true or false')
        if meta["kind"] == "pairs" and meta["rows"] % 2 != 0:
            raise FormatError(mf, f"a pairs dataset needs an even number of rows, has {meta['rows']}")
        self.meta: Dict = meta
        rows, tokens = meta["rows"], meta["tokens"]
        ipath = self._need("index.bin")
        isize = os.path.getsize(ipath)
        if isize != (rows + 1) * 8:
            raise FormatError(ipath, f"{isize} bytes, expected {(rows + 1) * 8} for {rows} rows")
        self.index = np.fromfile(ipath, dtype="<i8")
        if self.index[0] != 0 or self.index[rows] != tokens:
            raise FormatError(ipath, f"offsets must run from 0 to {tokens} tokens (meta.json)")
        lengths = np.diff(self.index)
        if rows > 0 and lengths.min() <= 0:
            bad = int(np.argmax(lengths <= 0))
            raise FormatError(ipath, f"row {bad} has offsets {self.index[bad]}..{self.index[bad + 1]} (rows must be non-empty and in order)")
        self.lengths = lengths
        self.tokens = self._map("tokens.bin", tokens)
        self.labels = self._map("labels.bin", tokens)
        self.segments = self._map("segments.bin", tokens) if meta["hasSegments"] else None

    def _need(self, name: str) -> str:
        p = os.path.join(self.dir, name)
        if not os.path.isfile(p):
            raise FormatError(self.dir, f"{name} is missing")
        return p

    def _map(self, name: str, n: int) -> np.ndarray:
        p = self._need(name)
        size = os.path.getsize(p)
        if size != n * 4:
            raise FormatError(p, f"{size} bytes, expected {n * 4} ({n} int32 values)")
        if n == 0:
            return np.zeros(0, dtype="<i4")
        return np.memmap(p, dtype="<i4", mode="r", shape=(n,))

    @property
    def rows(self) -> int:
        return self.meta["rows"]

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def content_hash(self) -> str:
        return self.meta.get("contentHash", "")

    def row_length(self, i: int) -> int:
        return int(self.lengths[i])

    def row(self, i: int):
        if not (0 <= i < self.rows):
            raise IndexError(f"{self.dir}: row {i} out of range [0, {self.rows})")
        a, b = int(self.index[i]), int(self.index[i + 1])
        seg = None if self.segments is None else np.asarray(self.segments[a:b])
        return np.asarray(self.tokens[a:b]), np.asarray(self.labels[a:b]), seg


class Batch:
    """A right-padded batch: ids, labels, attention mask (B, T); positions and segment ids for packed rows."""

    def __init__(self, ids, labels, mask, positions, segments):
        self.ids: torch.Tensor = ids
        self.labels: torch.Tensor = labels
        self.mask: torch.Tensor = mask
        self.positions: Optional[torch.Tensor] = positions
        self.segments: Optional[torch.Tensor] = segments

    @property
    def shape(self):
        return tuple(self.ids.shape)

    def to(self, device) -> "Batch":
        f = lambda t: None if t is None else t.to(device)
        return Batch(f(self.ids), f(self.labels), f(self.mask), f(self.positions), f(self.segments))


def collate(ds: TokenDataset, rows: List[int], pad_id: int) -> Batch:
    if not rows:
        raise ValueError("collate: no rows")
    T = max(ds.row_length(r) for r in rows)
    B = len(rows)
    ids = np.full((B, T), pad_id, dtype=np.int64)
    labels = np.full((B, T), IGNORE_INDEX, dtype=np.int64)
    mask = np.zeros((B, T), dtype=np.int64)
    seg = np.zeros((B, T), dtype=np.int64) if ds.segments is not None else None
    pos = np.zeros((B, T), dtype=np.int64) if ds.segments is not None else None
    for b, r in enumerate(rows):
        t, l, s = ds.row(r)
        n = len(t)
        ids[b, :n] = t
        labels[b, :n] = l
        mask[b, :n] = 1
        if seg is not None and s is not None:
            seg[b, :n] = s
            p = 0
            for k in range(n):
                if k > 0 and s[k] != s[k - 1]:
                    p = 0
                pos[b, k] = p
                p += 1
            seg[b, n:] = s[n - 1]
    tt = lambda a: None if a is None else torch.from_numpy(a)
    return Batch(tt(ids), tt(labels), tt(mask), tt(pos), tt(seg))

"""safetensors reader and writer (the format: u64 little-endian header length N, N bytes of JSON
`{name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}`, then the raw little-endian data).
The reader validates the whole header against the file size before any tensor is returned (dtype
known, shape × dtype = byte span, offsets contiguous with no hole, overlap or trailing bytes); the
writer pads the header to 8 bytes as the reference writer does, refuses NaN/Inf and values that
overflow the target dtype, and writes atomically. F32, F16 and BF16 are written; F64 is also read.

Not here: sharded folders and model layout (model.py), adapter keys (adapters.py).
"""
import json
import os
import struct
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from .atomic import write_with
from .errors import FormatError

MAX_HEADER = 100_000_000
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
WRITABLE = ("F32", "F16", "BF16")


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


class SafetensorsFile:
    """An opened, validated file; tensors are read on demand as float32 torch tensors."""

    def __init__(self, path: str):
        self.path = path
        size = os.path.getsize(path)
        if size < 8:
            raise FormatError(path, f"truncated: file is {size} bytes, expected at least 8 (the header length)")
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > MAX_HEADER:
                raise FormatError(path, f"header length {n} exceeds the {MAX_HEADER}-byte limit (not a safetensors file, or corrupted)")
            if 8 + n > size:
                raise FormatError(path, f"truncated: header length is {n} bytes but only {size - 8} bytes follow the length field")
            raw = f.read(n)
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise FormatError(path, f"header is not valid JSON ({e}); expected a JSON object after the 8-byte length") from e
        if not isinstance(header, dict):
            raise FormatError(path, "header must be a JSON object")
        self.data_start = 8 + n
        self.metadata: Dict[str, str] = {}
        self.slots: Dict[str, Tuple[str, List[int], int, int]] = {}
        for name, v in header.items():
            if name == "__metadata__":
                if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
                    raise FormatError(path, "__metadata__ must be an object of strings")
                self.metadata = v
                continue
            if not isinstance(v, dict) or set(v.keys()) != {"dtype", "shape", "data_offsets"}:
                raise FormatError(path, f'tensor "{name}": expected exactly {{dtype, shape, data_offsets}}, found {json.dumps(v)[:120]}')
            dtype, shape, offs = v["dtype"], v["shape"], v["data_offsets"]
            if dtype not in DTYPE_BYTES:
                raise FormatError(path, f'tensor "{name}": dtype {json.dumps(dtype)} is not supported; expected one of {", ".join(DTYPE_BYTES)}')
            if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
                raise FormatError(path, f'tensor "{name}": shape must be a list of non-negative integers, found {json.dumps(shape)}')
            if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) and o >= 0 for o in offs) and offs[0] <= offs[1]):
                raise FormatError(path, f'tensor "{name}": data_offsets must be [begin, end] with 0 <= begin <= end, found {json.dumps(offs)}')
            want = _numel(shape) * DTYPE_BYTES[dtype]
            if offs[1] - offs[0] != want:
                raise FormatError(path, f'tensor "{name}": {dtype} × shape {shape} needs {want} bytes but data_offsets {offs} span {offs[1] - offs[0]}')
            self.slots[name] = (dtype, shape, offs[0], offs[1])
        cursor = 0
        for name, (_, _, b, e) in sorted(self.slots.items(), key=lambda kv: (kv[1][2], kv[1][3])):
            if b != cursor:
                what = "hole in the data section" if b > cursor else f"overlapping the previous tensor which ends at {cursor}"
                raise FormatError(path, f'tensor "{name}" starts at data offset {b}, expected {cursor} ({what})')
            cursor = e
        data_bytes = size - self.data_start
        if cursor > data_bytes:
            raise FormatError(path, f"truncated: header declares {cursor} data bytes, found {data_bytes}")
        if cursor < data_bytes:
            raise FormatError(path, f"{data_bytes - cursor} unexpected trailing bytes after the declared {cursor} data bytes")

    def names(self) -> List[str]:
        return list(self.slots.keys())

    def has(self, name: str) -> bool:
        return name in self.slots

    def shape(self, name: str) -> List[int]:
        return list(self._slot(name)[1])

    def dtype(self, name: str) -> str:
        return self._slot(name)[0]

    def _slot(self, name: str):
        if name not in self.slots:
            raise FormatError(self.path, f'no tensor "{name}"')
        return self.slots[name]

    def read(self, name: str) -> torch.Tensor:
        """The tensor as float32 (F16/BF16/F64 converted)."""
        dtype, shape, b, e = self._slot(name)
        with open(self.path, "rb") as f:
            f.seek(self.data_start + b)
            raw = f.read(e - b)
        if len(raw) != e - b:
            raise FormatError(self.path, f'unexpected end of file reading tensor "{name}"')
        if dtype == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dtype == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dtype == "F64":
            arr = np.frombuffer(raw, dtype="<f8").astype(np.float32)
        elif dtype == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            raise FormatError(self.path, f'tensor "{name}" has dtype {dtype}; only F32/F16/BF16/F64 are read as weights')
        return torch.from_numpy(arr.copy()).reshape(shape)


def check_finite(file: str, name: str, t: torch.Tensor) -> None:
    bad = ~torch.isfinite(t.reshape(-1))
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise FormatError(file, f'tensor "{name}": value {t.reshape(-1)[i].item()} at flat index {i}; weights must be finite (a diverged run?)')


def _encode(file: str, name: str, t: torch.Tensor, dtype: str) -> bytes:
    a = t.detach().to("cpu", torch.float32).contiguous().reshape(-1).numpy()
    if dtype == "F32":
        return a.astype("<f4").tobytes()
    if dtype == "F16":
        big = np.abs(a) > 65504
        if big.any():
            i = int(np.argmax(big))
            raise FormatError(file, f'tensor "{name}": value {a[i]} at flat index {i} does not fit in F16 (max 65504); store it as F32 or BF16')
        return a.astype("<f2").tobytes()
    if dtype == "BF16":
        u = a.view(np.uint32).astype(np.uint64)
        # round to nearest even, as torch and the TypeScript writer do
        r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        if not np.isfinite(r.astype(np.uint32).__lshift__(16).view(np.float32)).all():
            raise FormatError(file, f'tensor "{name}": a value overflows BF16')
        return r.astype("<u2").tobytes()
    raise FormatError(file, f'tensor "{name}": cannot write dtype {dtype}; expected one of {", ".join(WRITABLE)}')


def write_safetensors(file: str, tensors: List[Tuple[str, torch.Tensor]], metadata: Optional[Dict[str, str]] = None, dtype: str = "F32") -> int:
    """Write (name, tensor) pairs in this order; returns the file size."""
    if dtype not in WRITABLE:
        raise FormatError(file, f"cannot write dtype {dtype}; expected one of {', '.join(WRITABLE)}")
    header: Dict[str, object] = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(v, str):
                raise FormatError(file, f'metadata "{k}" must be a string')
        header["__metadata__"] = dict(metadata)
    seen = set()
    off = 0
    for name, t in tensors:
        if name in seen or name == "__metadata__" or not name:
            raise FormatError(file, f"invalid or duplicate tensor name {json.dumps(name)}")
        seen.add(name)
        n = t.numel() * DTYPE_BYTES[dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + n]}
        off += n
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False)
    raw = text.encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)

    def body(f) -> None:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name, t in tensors:
            check_finite(file, name, t.detach().float())
            f.write(_encode(file, name, t, dtype))

    write_with(file, body)
    return 8 + len(raw) + off


def read_all(file: str) -> Dict[str, torch.Tensor]:
    f = SafetensorsFile(file)
    return {n: f.read(n) for n in f.names()}

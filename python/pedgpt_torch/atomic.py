"""The one writer of every output of the torch trainer: files go to a temp sibling, are fsynced and
renamed into place (so a reader or a resumed run never sees half a file); folders are staged in a
hidden sibling and swapped in whole. Temp names follow the TypeScript writer's pattern
(`.<name>.tmp-<pid>-<8 hex>`, `.<name>.staging-<pid>-<8 hex>`) so either backend cleans the other's
leftovers.

Not here: what is written (formats live in their own modules).
"""
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from typing import Callable, Iterator


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_name(target: str, kind: str = "tmp") -> str:
    d, base = os.path.split(os.path.abspath(target))
    return os.path.join(d, f".{base}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def write_with(target: str, body: Callable[[object], None]) -> None:
    """Write `target` through `body(fileobj)` into a temp file, fsync, rename."""
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    tmp = temp_name(target)
    try:
        with open(tmp, "wb") as f:
            body(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(os.path.dirname(os.path.abspath(target)))


def write_bytes(target: str, data: bytes) -> None:
    write_with(target, lambda f: f.write(data))


def write_text(target: str, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def clean_json(v):
    """JSON as JavaScript writes it: NaN and ±Infinity become null."""
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    if isinstance(v, dict):
        return {k: clean_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean_json(x) for x in v]
    return v


def json_compact(v) -> str:
    return json.dumps(clean_json(v), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def write_json(target: str, value, pretty: bool = True) -> None:
    text = json.dumps(clean_json(value), indent=2, ensure_ascii=False, allow_nan=False) if pretty else json_compact(value)
    write_text(target, text + "\n")


@contextmanager
def staged_dir(target: str) -> Iterator[str]:
    """Yield a fresh staging folder beside `target`; on success it replaces `target` whole (the old
    folder stays until the new one is complete), on failure it is removed."""
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    stage = temp_name(target, "staging")
    os.makedirs(stage)
    try:
        yield stage
        _fsync_dir(stage)
        if os.path.exists(target):
            old = temp_name(target, "replaced")
            os.rename(target, old)
            os.rename(stage, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(stage, target)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise

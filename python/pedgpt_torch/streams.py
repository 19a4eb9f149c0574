"""Exact ports of the engine's random streams, in 32-bit unsigned arithmetic: `stream_seed`
(murmur3's fmix32 over (seed, purpose, a, b); src/train/trainer/streams.ts), the xoshiro128** `Rng`
seeded by splitmix32 with its uniform and Box–Muller normal (src/model/init.ts), the per-epoch
Fisher–Yates `epoch_order` and `ItemOrder` that hands out item indices across epochs, and the 32-bit
FNV-1a hash that keys the "fixed" router noise of MoE-LoRA. Same seed → same numbers as the engine
(uniforms bit for bit; normals up to the last bit of the platform's log/sin/cos).

Not here: torch's own generators (dropout and "seeded" router noise use those on this side).
"""
import math
from typing import Dict, List, Optional

M32 = 0xFFFFFFFF
STREAM_ORDER, STREAM_STEP, STREAM_EVAL, STREAM_ROUTER_NOISE = 1, 2, 3, 4


def imul(a: int, b: int) -> int:
    return (a * b) & M32


def fmix32(h: int) -> int:
    h &= M32
    h ^= h >> 16
    h = imul(h, 0x85EBCA6B)
    h ^= h >> 13
    h = imul(h, 0xC2B2AE35)
    h ^= h >> 16
    return h & M32


def stream_seed(seed: int, purpose: int, a: int, b: int) -> int:
    h = fmix32(seed & M32)
    for x in (purpose, a, b):
        h = fmix32(h ^ imul(x & M32, 0x9E3779B1))
    return h


def fnv1a32(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte
        h = imul(h, 0x01000193)
    return h


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & M32


class Rng:
    """xoshiro128** seeded through splitmix32, as the engine's `Rng`."""

    def __init__(self, seed: int):
        if not isinstance(seed, int):
            raise TypeError(f"Rng: seed must be an integer, got {seed!r}")
        x = seed & M32
        state = []
        for _ in range(4):
            x = (x + 0x9E3779B9) & M32
            z = x
            z = imul(z ^ (z >> 16), 0x85EBCA6B)
            z = imul(z ^ (z >> 13), 0xC2B2AE35)
            state.append((z ^ (z >> 16)) & M32)
        self.s0, self.s1, self.s2, self.s3 = state
        self.spare: Optional[float] = None

    def next_u32(self) -> int:
        result = imul(_rotl(imul(self.s1, 5), 7), 9)
        t = (self.s1 << 9) & M32
        self.s2 ^= self.s0
        self.s3 ^= self.s1
        self.s1 ^= self.s2
        self.s0 ^= self.s3
        self.s2 ^= t
        self.s3 = _rotl(self.s3, 11)
        return result

    def uniform(self) -> float:
        return self.next_u32() / 4294967296.0

    def normal(self) -> float:
        if self.spare is not None:
            s, self.spare = self.spare, None
            return s
        u = 0.0
        while u == 0.0:
            u = self.uniform()
        v = self.uniform()
        r = math.sqrt(-2.0 * math.log(u))
        self.spare = r * math.sin(2.0 * math.pi * v)
        return r * math.cos(2.0 * math.pi * v)


def stream_rng(seed: int, purpose: int, a: int, b: int) -> Rng:
    return Rng(stream_seed(seed, purpose, a, b))


def epoch_order(size: int, seed: int, epoch: int, shuffle: bool) -> List[int]:
    order = list(range(size))
    if not shuffle:
        return order
    rng = stream_rng(seed, STREAM_ORDER, epoch, 0)
    for i in range(size - 1, 0, -1):
        j = int(math.floor(rng.uniform() * (i + 1)))
        order[i], order[j] = order[j], order[i]
    return order


class ItemOrder:
    """Item indices batch by batch, crossing epochs without dropping or repeating items."""

    def __init__(self, size: int, seed: int, shuffle: bool, state: Optional[Dict] = None):
        self.size, self.seed, self.shuffle = size, seed, shuffle
        if state is not None:
            self.epoch, self.cursor, self.order = int(state["epoch"]), int(state["cursor"]), list(state["order"])
        else:
            self.epoch, self.cursor, self.order = 0, 0, epoch_order(size, seed, 0, shuffle)

    @staticmethod
    def mismatch(size: int, seed: int, shuffle: bool, s: Dict) -> Optional[str]:
        """Why a saved state is not this order's own, or None."""
        ep, cur, order = s.get("epoch"), s.get("cursor"), s.get("order")
        if not (isinstance(ep, int) and ep >= 0):
            return f"epoch {ep} is not an integer >= 0"
        if not (isinstance(cur, int) and 0 <= cur <= size):
            return f"cursor {cur} is outside [0, {size}]"
        if not isinstance(order, list) or len(order) != size:
            return f"the saved order has {len(order) if isinstance(order, list) else 'no'} items, the data has {size}"
        want = epoch_order(size, seed, ep, shuffle)
        for i in range(size):
            if order[i] != want[i]:
                return f"the saved order of epoch {ep} differs at position {i} from the seed's"
        return None

    def next(self, n: int) -> List[int]:
        out: List[int] = []
        while len(out) < n:
            if self.cursor >= len(self.order):
                self.epoch += 1
                self.cursor = 0
                self.order = epoch_order(self.size, self.seed, self.epoch, self.shuffle)
            out.append(self.order[self.cursor])
            self.cursor += 1
        return out

    @property
    def epochs(self) -> float:
        return self.epoch + self.cursor / max(1, self.size)

    def state(self) -> Dict:
        return {"epoch": self.epoch, "cursor": self.cursor, "order": list(self.order)}


class FixedNoise:
    """The "fixed" router noise: for module path M, the values of
    Rng(stream_seed(seed, 4, fnv1a32(M), 0)).normal() in sequence; value p·K + e belongs to token
    position p of a row and routed expert e (K = E − 1). Cached and grown per module."""

    def __init__(self, seed: int, routed: int):
        self.seed, self.K = seed, routed
        self.cache: Dict[str, list] = {}
        self.rngs: Dict[str, Rng] = {}

    def values(self, module: str, positions: int) -> List[float]:
        vals = self.cache.setdefault(module, [])
        if module not in self.rngs:
            self.rngs[module] = stream_rng(self.seed, STREAM_ROUTER_NOISE, fnv1a32(module), 0)
        rng = self.rngs[module]
        need = positions * self.K
        while len(vals) < need:
            vals.append(rng.normal())
        return vals[:need]

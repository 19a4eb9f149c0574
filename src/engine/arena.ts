/**
 * Activation memory that is recycled between training steps.
 *
 * A training step allocates the same sequence of buffer sizes every time (same model, same batch
 * shape), so the arena keeps, per size, the buffers it has handed out; `reset()` makes them all
 * available again without freeing anything. After the first step no activation or gradient buffer
 * is allocated anew. It is not a general allocator: a buffer handed out stays valid only until the
 * next `reset()`.
 */
import type { F32 } from "./kernels/kernels.js";

interface Pool {
  buffers: F32[];
  used: number;
}

export class Arena {
  private readonly pools = new Map<number, Pool>();
  private allocatedBytes = 0;

  /** A buffer of n floats with unspecified contents (callers overwrite it). */
  alloc(n: number): F32 {
    let pool = this.pools.get(n);
    if (pool === undefined) {
      pool = { buffers: [], used: 0 };
      this.pools.set(n, pool);
    }
    if (pool.used < pool.buffers.length) return pool.buffers[pool.used++]!;
    const buf = new Float32Array(n);
    this.allocatedBytes += n * 4;
    pool.buffers.push(buf);
    pool.used++;
    return buf;
  }

  /** A buffer of n zeros. */
  zeros(n: number): F32 {
    const buf = this.alloc(n);
    buf.fill(0);
    return buf;
  }

  /** Make every buffer available again (their contents are kept but must not be relied on). */
  reset(): void {
    for (const pool of this.pools.values()) pool.used = 0;
  }

  /** Drop all buffers (memory returns to the garbage collector). */
  release(): void {
    this.pools.clear();
    this.allocatedBytes = 0;
  }

  /** Bytes held by the arena (all buffers, used or not). */
  get bytes(): number {
    return this.allocatedBytes;
  }
}

/**
 * Continuous batching on our engine: up to `slots` sequences decode together, one forward pass of
 * B = (active sequences) × T = 1 per step, each sequence in its own row of the KV cache with its own
 * sampler, seed and repetition history. A new request is prefilled into a free row between decode
 * steps and joins the next step; a finished or cancelled one leaves its row at once.
 *
 * Rows share one write position (the cache's `length`), so each sequence is kept right-aligned: a
 * shorter prompt is prefilled into the last positions of its row (the positions before it masked out)
 * and, when a longer one joins, the others move right. Within a row the tokens stay contiguous, so
 * RoPE (explicit positions) and ALiBi (relative distance) see exactly what a lone sequence would.
 * When the rows reach the end of the cache they are moved left by the common unused prefix.
 *
 * Prefill activations are released after each prefill; decode steps reuse one small arena, and their
 * logits land in one buffer per row (a fresh copy per token costs page faults with a large vocabulary).
 *
 * Synchronous and kernel-heavy: it runs inside the engine worker, never on the server's event loop.
 */
import { Tape } from "../../engine/index.js";
import { sampleToken } from "../../model/generate.js";
import { Rng } from "../../model/init.js";
import type { KVCache } from "../../model/layers.js";
import type { CausalLM } from "../../model/model.js";
import type { SamplingRequest } from "../core.js";

export interface SequenceRequest {
  id: number;
  prompt: readonly number[];
  sampling: SamplingRequest;
}

/** What one step produced for one sequence. `done` = it left its row (end token, limit, context). */
export interface StepOutput {
  id: number;
  token: number | null;
  done: boolean;
}

interface Row {
  id: number;
  slot: number;
  /** first cache position of this sequence (positions before it are masked) */
  start: number;
  sampling: SamplingRequest;
  rng: Rng;
  /** prompt + generated ids (repetition penalty looks at all of them) */
  seen: Set<number>;
  produced: number;
  /** the last sampled token, fed at the next decode step */
  last: number;
  /** logits row of the next token, set by prefill or the last decode step */
  next: Float32Array | null;
}

export class BatchScheduler {
  private readonly cache: KVCache;
  private readonly rows: (Row | null)[];
  private readonly tape = new Tape();
  private readonly endIds: Set<number>;
  /** per row: the next token's logits after a decode step (a large vocabulary makes a fresh copy per token cost page faults) */
  private readonly logitRows: Float32Array[];
  /** logits with the repetition penalty applied */
  private readonly penalized: Float32Array;

  constructor(
    private readonly model: CausalLM,
    readonly slots: number,
    /** tokens one sequence can hold (prompt + answer) */
    readonly contextSize: number,
    endTokenIds: readonly number[],
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`slots must be an integer >= 1, got ${slots}`);
    if (contextSize > model.config.maxPositions) {
      throw new RangeError(`contextSize ${contextSize} exceeds the model's max_position_embeddings ${model.config.maxPositions}`);
    }
    this.cache = model.newCache(slots, contextSize);
    this.rows = Array.from({ length: slots }, () => null);
    this.endIds = new Set(endTokenIds);
    this.logitRows = Array.from({ length: slots }, () => new Float32Array(model.config.vocabSize));
    this.penalized = new Float32Array(model.config.vocabSize);
  }

  get active(): number {
    return this.rows.filter((r) => r !== null).length;
  }

  get hasFreeSlot(): boolean {
    return this.rows.some((r) => r === null);
  }

  /**
   * Prefills a request into a free row; its first token comes from the next `step()`. Throws when no
   * row is free or the prompt does not fit.
   */
  admit(req: SequenceRequest): void {
    const slot = this.rows.indexOf(null);
    if (slot < 0) throw new RangeError("no free row");
    const n = req.prompt.length;
    if (n < 1 || n >= this.contextSize) throw new RangeError(`prompt of ${n} tokens does not fit the ${this.contextSize}-token context`);
    const c = this.cache;
    if (this.active === 0) c.length = 0;
    if (n > c.length) this.shift(n - c.length);
    const start = c.length - n;
    c.keyMask[slot]!.fill(0, 0, start);
    const view = this.view([slot], start);
    const positions = Int32Array.from({ length: n }, (_, t) => t);
    // A tape of its own: the prompt's activations (hundreds of MB for long prompts on real models) become
    // garbage when admit returns instead of staying pooled in the decode tape's arena.
    const logits = new Tape().infer(() =>
      Float32Array.from(this.model.forward({ ids: Int32Array.from(req.prompt), B: 1, T: n, positions }, { cache: view, lastOnly: true }).data),
    );
    this.rows[slot] = {
      id: req.id,
      slot,
      start,
      sampling: req.sampling,
      rng: new Rng(req.sampling.seed),
      seen: new Set(req.prompt),
      produced: 0,
      last: -1,
      next: logits,
    };
  }

  /** Removes a sequence (cancelled); unknown ids are ignored. */
  cancel(id: number): void {
    const i = this.rows.findIndex((r) => r?.id === id);
    if (i >= 0) this.rows[i] = null;
  }

  /** Samples one token for every active sequence, then runs one batched forward for those continuing. */
  step(): StepOutput[] {
    const out: StepOutput[] = [];
    const cont: Row[] = [];
    for (const row of this.rows) {
      if (row === null) continue;
      const id = this.sample(row);
      const len = this.cache.length - row.start;
      if (this.endIds.has(id)) {
        out.push({ id: row.id, token: null, done: true });
        this.rows[row.slot] = null;
        continue;
      }
      row.produced++;
      row.seen.add(id);
      const full = row.produced >= row.sampling.maxTokens || len + 1 >= this.contextSize;
      out.push({ id: row.id, token: id, done: full });
      if (full) this.rows[row.slot] = null;
      else cont.push(row);
      row.next = null;
      row.last = id;
    }
    if (cont.length > 0) this.decode(cont);
    else if (this.active === 0) this.cache.length = 0;
    return out;
  }

  private sample(row: Row): number {
    let logits = row.next!;
    const p = row.sampling.repetitionPenalty;
    if (p !== 1) {
      logits = this.penalized.subarray(0, logits.length);
      logits.set(row.next!);
      for (const t of row.seen) logits[t] = logits[t]! > 0 ? logits[t]! / p : logits[t]! * p;
    }
    return sampleToken(logits, row.sampling, row.rng);
  }

  private decode(rows: Row[]): void {
    const c = this.cache;
    if (c.length + 1 > this.contextSize) this.compact();
    const B = rows.length;
    const ids = Int32Array.from(rows, (r) => r.last);
    const positions = Int32Array.from(rows, (r) => c.length - r.start);
    const view = this.view(
      rows.map((r) => r.slot),
      c.length,
    );
    const V = this.model.config.vocabSize;
    // the forward's output lives in the tape's arena until the next step: copied out at once
    const logits = this.tape.infer(() => this.model.forward({ ids, B, T: 1, positions }, { cache: view, lastOnly: true }).data);
    c.length += 1;
    rows.forEach((r, b) => {
      const buf = this.logitRows[r.slot]!;
      buf.set(logits.subarray(b * V, (b + 1) * V));
      r.next = buf;
    });
  }

  /** A cache over some rows sharing the batch cache's buffers, writing at `length`. */
  private view(slots: number[], length: number): KVCache {
    const c = this.cache;
    return {
      layers: c.layers,
      B: slots.length,
      capacity: c.capacity,
      kvWidth: c.kvWidth,
      k: c.k.map((layer) => slots.map((s) => layer[s]!)),
      v: c.v.map((layer) => slots.map((s) => layer[s]!)),
      keyMask: slots.map((s) => c.keyMask[s]!),
      length,
      clear() {
        this.length = 0;
      },
    } as KVCache;
  }

  /** Moves every active row right by d positions (a longer prompt is joining). */
  private shift(d: number): void {
    const c = this.cache;
    const w = c.kvWidth;
    for (const row of this.rows) {
      if (row === null) continue;
      for (let l = 0; l < c.layers; l++) {
        c.k[l]![row.slot]!.data.copyWithin((row.start + d) * w, row.start * w, c.length * w);
        c.v[l]![row.slot]!.data.copyWithin((row.start + d) * w, row.start * w, c.length * w);
      }
      const m = c.keyMask[row.slot]!;
      m.copyWithin(row.start + d, row.start, c.length);
      m.fill(0, 0, row.start + d);
      row.start += d;
    }
    c.length += d;
  }

  /** Moves every active row left by the unused prefix they all share, to make room at the end. */
  private compact(): void {
    const c = this.cache;
    const w = c.kvWidth;
    const live = this.rows.filter((r): r is Row => r !== null);
    const d = Math.min(...live.map((r) => r.start));
    if (d === 0) throw new RangeError("KV cache full: a sequence reached the context size without finishing");
    for (const row of live) {
      for (let l = 0; l < c.layers; l++) {
        c.k[l]![row.slot]!.data.copyWithin((row.start - d) * w, row.start * w, c.length * w);
        c.v[l]![row.slot]!.data.copyWithin((row.start - d) * w, row.start * w, c.length * w);
      }
      const m = c.keyMask[row.slot]!;
      m.copyWithin(row.start - d, row.start, c.length);
      m.fill(0, 0, row.start - d);
      row.start -= d;
    }
    c.length -= d;
  }
}

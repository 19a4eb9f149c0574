/**
 * Weight matrices held quantised for inference: q8_0 (int8 with one f32 scale per 32 values of a row)
 * and bf16. A QuantizedMatrix is made once from an f32 weight in nn.Linear layout (out, in) and
 * multiplied by `quantizedLinear` (ops.ts) inside noGrad; it has no gradient and is never trained.
 *
 * Not here: which model weights get quantised (model/quantize.ts) or file formats (GGUF export has
 * its own quantisers).
 */
import { kernels } from "./backend.js";
import { ShapeError, type Tensor } from "./tensor.js";

export type QuantFormat = "q8_0" | "bf16";
export const QUANT_FORMATS: readonly QuantFormat[] = ["q8_0", "bf16"];

/** Values per q8_0 block (one scale each). */
export const Q8_BLOCK = 32;

/** Largest shared allocation of quantised values (2^30: 1 GiB of int8); typed arrays have a length limit. */
const CHUNK_VALUES = 2 ** 30;

export class QuantizedMatrix {
  private constructor(
    readonly format: QuantFormat,
    /** out features (rows of the nn.Linear weight) */
    readonly rows: number,
    /** in features */
    readonly cols: number,
    /** q8_0: int8 values; bf16: the upper halves of the f32 bit patterns */
    readonly data: Int8Array | Uint16Array,
    /** q8_0: one scale per block of 32 values of a row; bf16: null */
    readonly scales: Float32Array | null,
    readonly name: string,
  ) {}

  /** Quantise a 2-D f32 weight (rows, cols). q8_0 needs cols to be a multiple of 32. */
  static from(w: Tensor, format: QuantFormat): QuantizedMatrix {
    return QuantizedMatrix.fromMany([w], format)[0]!;
  }

  /**
   * Quantise several weights into a few shared allocations (at most 1 GiB of values each), advised onto
   * 2 MiB pages before they are written: a decode step streams them all every token, and most single
   * matrices are smaller than one large page. Every weight is checked before anything is allocated.
   */
  static fromMany(ws: readonly Tensor[], format: QuantFormat): QuantizedMatrix[] {
    if (!QUANT_FORMATS.includes(format)) {
      throw new RangeError(`quantize: unknown format "${String(format)}"; expected one of ${QUANT_FORMATS.join(", ")}`);
    }
    for (const w of ws) {
      if (w.rank !== 2) throw new ShapeError(`quantize: weight "${w.name}" [${w.shape.join(", ")}] must be 2-D (out, in)`);
      if (format === "q8_0" && w.shape[1]! % Q8_BLOCK !== 0) {
        throw new ShapeError(`quantize: q8_0 needs the input width of "${w.name}" to be a multiple of ${Q8_BLOCK}, got ${w.shape[1]}`);
      }
    }
    const k = kernels();
    const out: QuantizedMatrix[] = [];
    let start = 0;
    while (start < ws.length) {
      // one chunk: weights [start, end) whose values fit in CHUNK_VALUES (a bigger single weight alone)
      let end = start;
      let total = 0;
      while (end < ws.length && (end === start || total + ws[end]!.size <= CHUNK_VALUES)) total += ws[end++]!.size;
      if (format === "q8_0") {
        const q = new Int8Array(total);
        const scales = new Float32Array(total / Q8_BLOCK);
        k.adviseHugePages(q);
        k.adviseHugePages(scales);
        let off = 0;
        for (let i = start; i < end; i++) {
          const w = ws[i]!;
          const [rows, cols] = [w.shape[0]!, w.shape[1]!];
          const qv = q.subarray(off, off + w.size);
          const sv = scales.subarray(off / Q8_BLOCK, (off + w.size) / Q8_BLOCK);
          k.quantizeQ8(qv, sv, w.data, rows, cols);
          out.push(new QuantizedMatrix(format, rows, cols, qv, sv, w.name));
          off += w.size;
        }
      } else {
        const h = new Uint16Array(total);
        k.adviseHugePages(h);
        let off = 0;
        for (let i = start; i < end; i++) {
          const w = ws[i]!;
          const hv = h.subarray(off, off + w.size);
          k.quantizeBf16(hv, w.data, w.size);
          out.push(new QuantizedMatrix(format, w.shape[0]!, w.shape[1]!, hv, null, w.name));
          off += w.size;
        }
      }
      start = end;
    }
    return out;
  }

  /** Bytes held (values + scales). */
  get bytes(): number {
    return this.data.byteLength + (this.scales?.byteLength ?? 0);
  }
}

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
    if (w.rank !== 2) throw new ShapeError(`quantize: weight "${w.name}" [${w.shape.join(", ")}] must be 2-D (out, in)`);
    const [rows, cols] = [w.shape[0]!, w.shape[1]!];
    const k = kernels();
    if (format === "q8_0") {
      if (cols % Q8_BLOCK !== 0) {
        throw new ShapeError(`quantize: q8_0 needs the input width of "${w.name}" to be a multiple of ${Q8_BLOCK}, got ${cols}`);
      }
      const q = new Int8Array(rows * cols);
      k.adviseHugePages(q); // before the quantiser writes it: decode steps stream it every token
      const scales = new Float32Array((rows * cols) / Q8_BLOCK);
      k.quantizeQ8(q, scales, w.data, rows, cols);
      return new QuantizedMatrix(format, rows, cols, q, scales, w.name);
    }
    if (format === "bf16") {
      const h = new Uint16Array(rows * cols);
      k.adviseHugePages(h);
      k.quantizeBf16(h, w.data, rows * cols);
      return new QuantizedMatrix(format, rows, cols, h, null, w.name);
    }
    throw new RangeError(`quantize: unknown format "${String(format)}"; expected one of ${QUANT_FORMATS.join(", ")}`);
  }

  /** Bytes held (values + scales). */
  get bytes(): number {
    return this.data.byteLength + (this.scales?.byteLength ?? 0);
  }
}

/**
 * The one read interface every checkpoint format implements (safetensors, PyTorch .bin, single or
 * sharded), so model code loads weights without knowing the file format. Readers validate the whole
 * file structure when opened and read tensor bytes lazily on `read`.
 */
import type { DType, FloatDType } from "./dtype.js";

export interface TensorInfo {
  /** Element type as stored in the file. */
  dtype: DType;
  /** Shape, outermost dimension first (PyTorch order). */
  shape: number[];
  /** File that holds the bytes. */
  file: string;
}

export interface TensorReader {
  /** The file or directory this reader was opened on. */
  readonly path: string;
  /** String metadata (safetensors `__metadata__`; empty for formats without it). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensor names in file order. */
  names(): string[];
  has(name: string): boolean;
  /** Throws TensorNotFoundError for an unknown name. */
  info(name: string): TensorInfo;
  /** Reads one tensor and converts F32/F16/BF16 (and F64) to fp32. */
  read(name: string): Promise<Float32Array>;
  /** Reads the raw little-endian bytes of one tensor (contiguous, any dtype). */
  readRaw(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** A tensor to write: values in fp32 (or a function producing them, so writers can stream). */
export interface TensorEntry {
  name: string;
  shape: readonly number[];
  data: Float32Array | (() => Promise<Float32Array>);
  /** Storage type for this tensor; overrides the writer's default dtype. */
  dtype?: FloatDType;
}

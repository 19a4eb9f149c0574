/**
 * PyTorch `pytorch_model*.bin` reader: the ZIP container `torch.save` writes since torch 1.6
 * (`<archive>/data.pkl` + one `<archive>/data/<key>` entry per storage) and the pickled state dict
 * inside it (see `pickle.ts`). Tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size,
 * stride, …)` over typed storages; offsets and strides are honoured, so transposed views and
 * tensors sharing one storage read correctly. Storages are read lazily, whole, and CRC-checked.
 * The legacy (pre-1.6) pickle-stream format is refused with a hint to re-save. Sharded checkpoints
 * (`pytorch_model.bin.index.json`) go through `sharded.ts`.
 */
import { promises as fs } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { DTYPE_BYTES, decodeToF32, numel, type DType } from "./dtype.js";
import { CheckpointFormatError, TensorNotFoundError } from "./errors.js";
import { readBytes } from "./fsutil.js";
import { PyDict, unpickle, type PyCallable } from "./pickle.js";
import type { TensorInfo, TensorReader } from "./types.js";
import { ZipReader, type ZipEntry } from "./zip.js";

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

interface StorageRef {
  kind: "storage";
  dtype: DType;
  key: string;
  numel: number;
}

interface TensorRef {
  kind: "tensor";
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

function isStorage(v: unknown): v is StorageRef {
  return typeof v === "object" && v !== null && (v as StorageRef).kind === "storage";
}
function isTensor(v: unknown): v is TensorRef {
  return typeof v === "object" && v !== null && (v as TensorRef).kind === "tensor";
}
function intTuple(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isInteger(x));
}

class TorchBinFile implements TensorReader {
  readonly metadata: Readonly<Record<string, string>> = {};
  private verified = new Map<string, Promise<Uint8Array>>();
  private closed = false;
  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly zip: ZipReader,
    private readonly prefix: string,
    private readonly tensors: Map<string, TensorRef>,
  ) {}

  names(): string[] {
    return [...this.tensors.keys()];
  }
  has(name: string): boolean {
    return this.tensors.has(name);
  }
  private ref(name: string): TensorRef {
    const t = this.tensors.get(name);
    if (!t) throw new TensorNotFoundError(this.path, name);
    return t;
  }
  info(name: string): TensorInfo {
    const t = this.ref(name);
    return { dtype: t.storage.dtype, shape: [...t.shape], file: this.path };
  }

  /** Whole storage bytes, read once per call site group and CRC-checked by the ZIP reader. */
  private storageBytes(s: StorageRef): Promise<Uint8Array> {
    // Storages shared by several tensors are read once while reads are in flight; results are
    // not cached beyond that, so memory stays bounded by what the caller holds.
    let p = this.verified.get(s.key);
    if (!p) {
      const entry = this.zip.entries.get(`${this.prefix}data/${s.key}`) as ZipEntry;
      p = this.zip.read(entry).finally(() => this.verified.delete(s.key));
      this.verified.set(s.key, p);
    }
    return p;
  }

  async readRaw(name: string): Promise<Uint8Array> {
    if (this.closed) throw new CheckpointFormatError(this.path, `read of "${name}" after close()`);
    const t = this.ref(name);
    const es = DTYPE_BYTES[t.storage.dtype];
    const storage = await this.storageBytes(t.storage);
    const n = numel(t.shape);
    const out = new Uint8Array(n * es);
    if (n === 0) return out;
    // Contiguous row-major layout: one slice.
    let contiguous = true;
    let expect = 1;
    for (let d = t.shape.length - 1; d >= 0; d--) {
      if (t.shape[d]! !== 1 && t.stride[d] !== expect) contiguous = false;
      expect *= t.shape[d]!;
    }
    if (contiguous) {
      out.set(storage.subarray(t.offset * es, (t.offset + n) * es));
      return out;
    }
    // General strided gather, innermost dimension fastest.
    const nd = t.shape.length;
    const idx = new Array<number>(nd).fill(0);
    let src = t.offset;
    for (let i = 0; i < n; i++) {
      out.set(storage.subarray(src * es, src * es + es), i * es);
      for (let d = nd - 1; d >= 0; d--) {
        idx[d]!++;
        src += t.stride[d]!;
        if (idx[d]! < t.shape[d]!) break;
        src -= t.stride[d]! * t.shape[d]!;
        idx[d] = 0;
      }
    }
    return out;
  }

  async read(name: string): Promise<Float32Array> {
    const t = this.ref(name);
    const dt = t.storage.dtype;
    if (dt !== "F32" && dt !== "F16" && dt !== "BF16" && dt !== "F64") {
      throw new CheckpointFormatError(this.path, `tensor "${name}" has dtype ${dt}; read() converts only F32/F16/BF16/F64 (use readRaw)`);
    }
    const raw = await this.readRaw(name);
    // readRaw returns a fresh, 0-offset buffer: an F32 tensor can be viewed without another copy.
    if (dt === "F32") return new Float32Array(raw.buffer, raw.byteOffset, numel(t.shape));
    return decodeToF32(raw, dt, numel(t.shape));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}

/**
 * Opens a `torch.save` ZIP checkpoint holding a state dict (name → tensor). The archive directory,
 * the pickle and every tensor's bounds within its storage are validated before this resolves.
 */
export async function openTorchBin(file: string): Promise<TensorReader> {
  const fh = await fs.open(file, "r");
  try {
    const size = (await fh.stat()).size;
    if (size < 4) throw new CheckpointFormatError(file, `truncated: file is ${size} bytes`);
    const head = await readBytes(fh, file, Math.min(size, 8), 0, "file signature");
    if (!(head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)) {
      if (head[0] === 0x80) {
        throw new CheckpointFormatError(
          file,
          "legacy (pre-1.6, non-ZIP) PyTorch format is not supported; re-save it with torch>=1.6: torch.save(torch.load(path), path)",
        );
      }
      throw new CheckpointFormatError(file, "not a PyTorch checkpoint: expected a ZIP archive (signature PK\\x03\\x04)");
    }
    const zip = await ZipReader.open(file, fh, size);
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) {
      throw new CheckpointFormatError(file, `expected exactly one "<archive>/data.pkl" entry, found ${pkls.length ? pkls.join(", ") : "none"}`);
    }
    const prefix = pkls[0]!.slice(0, -"data.pkl".length);
    const byteorder = zip.entries.get(`${prefix}byteorder`);
    if (byteorder) {
      const order = new TextDecoder().decode(await zip.read(byteorder)).trim();
      if (order !== "little") throw new CheckpointFormatError(file, `byteorder is "${order}"; only little-endian checkpoints are supported`);
    }
    const storages = new Map<string, StorageRef>();
    const callable = (module: string, name: string, call: (args: unknown[]) => unknown): PyCallable => ({ kind: "callable", module, name, call });
    const root = unpickle(await zip.read(zip.entries.get(pkls[0]!)!), file, {
      resolveGlobal(module, name) {
        const full = `${module}.${name}`;
        if (full === "collections.OrderedDict") return callable(module, name, () => new PyDict());
        if (module === "torch" && STORAGE_DTYPES[name]) return { kind: "storageType", dtype: STORAGE_DTYPES[name] };
        if (full === "torch._utils._rebuild_tensor_v2") {
          return callable(module, name, (args) => {
            const [storage, offset, shape, stride] = args;
            if (!isStorage(storage) || typeof offset !== "number" || !intTuple(shape) || !intTuple(stride) || shape.length !== stride.length) {
              throw new CheckpointFormatError(file, `_rebuild_tensor_v2 with unexpected arguments ${JSON.stringify(args.slice(1, 4))}`);
            }
            const t: TensorRef = { kind: "tensor", storage, offset, shape, stride };
            return t;
          });
        }
        if (full === "torch._utils._rebuild_parameter") {
          return callable(module, name, (args) => {
            if (!isTensor(args[0])) throw new CheckpointFormatError(file, "_rebuild_parameter without a tensor");
            return args[0];
          });
        }
        throw new CheckpointFormatError(file, `pickle references ${full}, which a state dict does not need; refusing to load it`);
      },
      persistentLoad(pid) {
        if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5) {
          throw new CheckpointFormatError(file, `unsupported persistent id ${JSON.stringify(pid)}; expected ("storage", type, key, location, numel)`);
        }
        const [, type, key, , n] = pid as [string, { kind?: string; dtype?: DType }, unknown, unknown, unknown];
        if (type?.kind !== "storageType" || typeof key !== "string" || typeof n !== "number") {
          throw new CheckpointFormatError(file, `malformed storage reference ${JSON.stringify(pid)}`);
        }
        let s = storages.get(key);
        if (!s) {
          s = { kind: "storage", dtype: type.dtype!, key, numel: n };
          storages.set(key, s);
        }
        return s;
      },
    });
    if (!(root instanceof PyDict)) throw new CheckpointFormatError(file, "the pickled object is not a dict; expected a state dict (name → tensor)");
    const tensors = new Map<string, TensorRef>();
    for (const [k, v] of root.map) {
      if (typeof k !== "string") throw new CheckpointFormatError(file, `state dict key ${JSON.stringify(k)} is not a string`);
      if (!isTensor(v)) {
        throw new CheckpointFormatError(
          file,
          `state dict entry "${k}" is not a tensor${v instanceof PyDict ? " (a nested dict: is this a training checkpoint? save model.state_dict() instead)" : ""}`,
        );
      }
      tensors.set(k, v);
    }
    // Every storage entry must exist with the declared size; every tensor must lie within its storage.
    for (const s of storages.values()) {
      const entry = zip.entries.get(`${prefix}data/${s.key}`);
      if (!entry) throw new CheckpointFormatError(file, `storage "${s.key}" (${s.dtype}) is missing from the archive`);
      const want = s.numel * DTYPE_BYTES[s.dtype];
      if (entry.size !== want) {
        throw new CheckpointFormatError(file, `storage "${s.key}": ${s.numel} × ${s.dtype} needs ${want} bytes, archive entry has ${entry.size}`);
      }
      await zip.dataStart(entry);
    }
    for (const [name, t] of tensors) {
      if (t.shape.some((d) => d < 0) || t.stride.some((d) => d < 0) || t.offset < 0) {
        throw new CheckpointFormatError(file, `tensor "${name}": negative size/stride/offset`);
      }
      if (numel(t.shape) === 0) continue;
      let last = t.offset;
      for (let d = 0; d < t.shape.length; d++) last += (t.shape[d]! - 1) * t.stride[d]!;
      if (last >= t.storage.numel) {
        throw new CheckpointFormatError(
          file,
          `tensor "${name}": shape [${t.shape.join(", ")}] stride [${t.stride.join(", ")}] offset ${t.offset} reaches element ${last}, storage "${t.storage.key}" has ${t.storage.numel}`,
        );
      }
    }
    return new TorchBinFile(file, fh, zip, prefix, tensors);
  } catch (err) {
    await fh.close();
    throw err;
  }
}

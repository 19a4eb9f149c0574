/**
 * The subset of Python's pickle machine that `torch.save` uses for a state dict (protocol 2, the
 * opcodes below). It never executes anything: GLOBAL/STACK_GLOBAL only name classes, and the caller
 * decides through `resolveGlobal` which names are allowed and what REDUCE on them builds;
 * BINPERSID is handed to `persistentLoad`. Any other opcode or class is an error naming it, the
 * byte position and the file.
 */
import { CheckpointFormatError } from "./errors.js";

/** A class or function named by GLOBAL, as the caller resolved it. */
export interface PyCallable {
  kind: "callable";
  module: string;
  name: string;
  /** What REDUCE with an argument tuple builds. */
  call(args: unknown[]): unknown;
}

/** A Python dict (also OrderedDict): insertion-ordered. */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** Attributes set by BUILD (e.g. a state_dict's `_metadata`). */
  attrs: unknown;
}

export interface UnpickleHooks {
  /** Returns the object GLOBAL module.name stands for, or throws if it is not allowed. */
  resolveGlobal(module: string, name: string): unknown;
  /** Resolves a persistent id (BINPERSID). */
  persistentLoad(pid: unknown): unknown;
}

const MARK = Symbol("mark");

export function unpickle(data: Uint8Array, file: string, hooks: UnpickleHooks): unknown {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const dec = new TextDecoder("utf-8", { fatal: true });
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opPos = 0;
  const fail = (msg: string): never => {
    throw new CheckpointFormatError(file, `pickle byte ${opPos}: ${msg}`);
  };
  const need = (n: number) => {
    if (pos + n > data.byteLength) fail(`truncated pickle (needs ${n} more bytes)`);
  };
  const u8 = () => (need(1), data[pos++]!);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    pos += 8;
    const v = dv.getBigUint64(pos - 8, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} too large`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), data.subarray(pos - n, pos));
  const text = (n: number) => {
    const b = bytes(n);
    try {
      return dec.decode(b);
    } catch {
      return fail("invalid UTF-8 in a string");
    }
  };
  const line = () => {
    const start = pos;
    while (pos < data.byteLength && data[pos] !== 0x0a) pos++;
    if (pos >= data.byteLength) fail("unterminated text line");
    return new TextDecoder().decode(data.subarray(start, pos++));
  };
  const pop = () => {
    if (stack.length === 0) fail("stack underflow");
    const v = stack.pop();
    if (v === MARK) fail("unexpected MARK on the stack");
    return v;
  };
  const top = () => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail("no MARK on the stack");
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof PyDict)) fail(`SETITEM(S) on a ${typeof dict}, expected a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) (dict as PyDict).map.set(items[i], items[i + 1]);
  };
  const global = (module: string, name: string) => hooks.resolveGlobal(module, name);
  const reduce = (fn: unknown, args: unknown) => {
    if (typeof fn !== "object" || fn === null || (fn as PyCallable).kind !== "callable") fail(`REDUCE on a non-callable ${JSON.stringify(fn)}`);
    if (!Array.isArray(args)) fail("REDUCE arguments are not a tuple");
    return (fn as PyCallable).call(args as unknown[]);
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail("pickle protocol > 5");
        break;
      case 0x95: // FRAME (framing is only a read-ahead hint)
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack, expected 1`);
        return stack[0];
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8();
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(bytes(u32()).slice());
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x62: {
        // BUILD: set state on the object below; for dicts we keep it as attributes
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.attrs = state;
        else fail(`BUILD on an unsupported object (${typeof obj})`);
        break;
      }
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail("APPEND to a non-list");
        (list as unknown[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail("APPENDS to a non-list");
        (list as unknown[]).push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} not defined`);
        stack.push(memo.get(k));
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, "0")} (${JSON.stringify(String.fromCharCode(op))}); only the subset torch.save uses for state dicts is read`);
    }
  }
}

import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CsvParser, type CsvRow } from "./csv.js";
import { detectEncoding, detectFileEncoding } from "./encoding.js";
import { parseJsonArray, parseJsonl, type JsonItem } from "./json.js";
import { splitLines } from "./lines.js";

const fx = (name: string) => fileURLToPath(new URL(`../../../test/fixtures/corpus/${name}`, import.meta.url));

function parseAll(text: string, chunkSize: number, delimiter = ","): CsvRow[] {
  const p = new CsvParser(delimiter);
  const rows: CsvRow[] = [];
  for (let i = 0; i < text.length; i += chunkSize) p.push(text.slice(i, i + chunkSize), rows);
  p.end(rows);
  return rows;
}

async function* chunks(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("CsvParser (RFC 4180)", () => {
  const text = 'a,b,c\r\n1,"x, y","he said ""hi"""\r\n2,"multi\r\nline",z\n\n3,,\n4,"open';
  for (const size of [1, 2, 3, 7, 1000]) {
    it(`parses quotes, doubled quotes, embedded newlines and CRLF with chunk size ${size}`, () => {
      const rows = parseAll(text, size);
      expect(rows.map((r) => r.fields)).toEqual([
        ["a", "b", "c"],
        ["1", "x, y", 'he said "hi"'],
        ["2", "multi\r\nline", "z"],
        ["3", "", ""],
        ["4", "open"],
      ]);
      expect(rows.map((r) => r.line)).toEqual([1, 2, 3, 6, 7]);
      expect(rows.slice(0, 4).every((r) => r.error === undefined)).toBe(true);
      expect(rows[4]!.error).toMatch(/never closed/);
    });
  }

  it("flags stray quotes and text after a closing quote, then resynchronises", () => {
    const rows = parseAll('x,ab"c,d\n"q"z,1\nok,2\n', 4);
    expect(rows[0]!.error).toMatch(/unexpected quote inside an unquoted field/);
    expect(rows[1]!.error).toMatch(/after a closing quote/);
    expect(rows[2]).toEqual({ fields: ["ok", "2"], line: 3 });
  });

  it("handles tabs as the delimiter", () => {
    expect(parseAll("h\tr\tt\n川崎病\t症状\t发热\n", 3, "\t").map((r) => r.fields)).toEqual([
      ["h", "r", "t"],
      ["川崎病", "症状", "发热"],
    ]);
  });
});

describe("encoding detection", () => {
  it("detects GB18030 in the CMD fixture and UTF-8 in others", async () => {
    expect(await detectFileEncoding(fx("cmd_gb18030.csv"))).toBe("gb18030");
    expect(await detectFileEncoding(fx("triples.csv"))).toBe("utf-8");
  });
  it("honours BOMs and accepts a multi-byte sequence cut at the sample end", () => {
    expect(detectEncoding(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).toBe("utf-8");
    expect(detectEncoding(new Uint8Array([0xff, 0xfe, 0x41, 0x00]))).toBe("utf-16le");
    const zh = Buffer.from("中文", "utf8");
    expect(detectEncoding(zh.subarray(0, 4))).toBe("utf-8");
    // "中文" in GBK is D6 D0 CE C4: invalid UTF-8.
    expect(detectEncoding(new Uint8Array([0xd6, 0xd0, 0xce, 0xc4]))).toBe("gb18030");
  });
  it("decodes the GB18030 fixture to the same text the generator wrote", () => {
    const text = new TextDecoder("gb18030").decode(readFileSync(fx("cmd_gb18030.csv")));
    expect(text).toContain("宝宝1岁，发烧38.5℃一天了");
    expect(text).toContain("𠮷"); // a 4-byte GB18030 sequence, absent from GBK
  });
});

describe("line splitting", () => {
  it("numbers lines across chunk boundaries, strips CR, flags U+FFFD", async () => {
    const lines = await collect(splitLines(chunks("a\r\nb\n\nc\uFFFD", 1)));
    expect(lines).toEqual([
      { text: "a", line: 1, replacement: false },
      { text: "b", line: 2, replacement: false },
      { text: "", line: 3, replacement: false },
      { text: "c\uFFFD", line: 4, replacement: true },
    ]);
  });
});

describe("streaming JSON", () => {
  const arr = '[\n  {"a": "x,]}\\"y"},\n  {"b": [1, 2]},\n  {"broken": },\n  {"c": "长文本"}\n]\n';
  for (const size of [1, 5, 1000]) {
    it(`scans array elements one by one (chunk ${size}), reporting the broken one with its line`, async () => {
      const items: JsonItem[] = await collect(parseJsonArray(chunks(arr, size)));
      expect(items.map((i) => (i.ok ? i.value : `bad@${i.line}`))).toEqual([{ a: 'x,]}"y' }, { b: [1, 2] }, "bad@4", { c: "长文本" }]);
      expect(items.map((i) => i.line)).toEqual([2, 3, 4, 5]);
    });
  }
  it("reports an unclosed array and trailing garbage", async () => {
    const a = await collect(parseJsonArray(chunks('[{"a":1},\n{"b":', 3)));
    expect(a[0]).toMatchObject({ ok: true, value: { a: 1 } });
    expect(a[1]).toMatchObject({ ok: false, line: 2 });
    expect((a[1] as { reason: string }).reason).toMatch(/not closed/);
    const b = await collect(parseJsonArray(chunks("[1] x", 2)));
    expect(b[1]).toMatchObject({ ok: false });
  });
  it("reads JSON Lines and reports a broken line without losing its neighbours", async () => {
    const items = await collect(parseJsonl(chunks('{"a":1}\n{"a":\n\n{"a":3}\n', 4)));
    expect(items.map((i) => (i.ok ? i.value : `bad@${i.line}`))).toEqual([{ a: 1 }, "bad@2", { a: 3 }]);
  });
});

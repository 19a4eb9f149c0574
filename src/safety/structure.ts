/**
 * The list structure of an answer, as LLM answers write it: numbered and bulleted items (1. / 1、 /
 * （1） / ① / 一、 / - / * / •), markdown headings (###) and bold (**…**), item headers ending in
 * "：", header-only lines ("常用的抗组胺药有：") that open a sub-list, and nesting by indentation or
 * by a change of marker kind under a header-only line. It finds where each item's header is and how
 * far its body reaches; it knows nothing about drugs or classes (check.ts decides what a header claims).
 * Offsets index the caller's text (normalisation preserves length).
 */
import { normalize } from "./text.js";

export interface ListItem {
  /** Offset where the item's line starts. */
  lineStart: number;
  /** The header text (marker, bold and the trailing colon removed), or null for an item without one. */
  header: { start: number; end: number } | null;
  /** The body: after the header's colon (or the header line) to the end of everything the item covers. */
  bodyStart: number;
  bodyEnd: number;
  /** The enclosing item's index, or -1. */
  parent: number;
}

type Kind = "heading" | "num" | "paren" | "circled" | "cn" | "bullet" | "none";

interface Line {
  start: number;
  end: number;
  indent: number;
  kind: Kind;
  /** Heading level (number of #), 0 otherwise. */
  level: number;
  /** Offset after the marker (and an opening **). */
  contentStart: number;
  blank: boolean;
}

/** Markers that open a list item; a number before a decimal point ("2.5mg") is not one. */
const MARKERS: [RegExp, Kind][] = [
  [/^(#{1,6})\s+/, "heading"],
  [/^\d{1,2}(?:[.．](?!\d)|[、)）])\s*/, "num"],
  [/^[（(]\s*\d{1,2}\s*[)）]\s*/, "paren"],
  [/^[①-⑳⑴-⒇❶-❿]\s*/, "circled"],
  [/^[一二三四五六七八九十]{1,3}\s*[、.．]\s*/, "cn"],
  [/^(?:[-*•·+]\s+|[•·]\s*)/, "bullet"],
];

function readLine(norm: string, start: number, end: number): Line {
  let i = start;
  let indent = 0;
  while (i < end && (norm[i] === " " || norm[i] === "\t")) {
    indent += norm[i] === "\t" ? 4 : 1;
    i++;
  }
  // "**2. 抗病毒药物**": a marker inside the opening bold.
  const bold = /^(?:\*\*|__)(?=\d|[（(①-⑳一二三四五六七八九十])/.test(norm.slice(i, end)) ? 2 : 0;
  const rest = norm.slice(i + bold, end);
  let kind: Kind = "none";
  let level = 0;
  let contentStart = i;
  for (const [re, k] of MARKERS) {
    const m = re.exec(rest);
    if (!m || (bold && k === "bullet")) continue;
    kind = k;
    if (k === "heading") level = m[1]!.length;
    contentStart = i + bold + m[0].length;
    break;
  }
  while (norm.startsWith("**", contentStart) || norm.startsWith("__", contentStart)) contentStart += 2;
  return { start, end, indent, kind, level, contentStart, blank: norm.slice(i, end).trim() === "" };
}

/** Where the header of a line ends: at a "：" close to the start, or the whole line for a short title. */
function headerOf(norm: string, line: Line): { start: number; end: number; bodyStart: number } | null {
  const text = norm.slice(line.contentStart, line.end);
  // A dash may stand for the colon ("1. 抗组胺药——氯雷他定", "- 退烧药 — 布洛芬"); a header before one has no digits,
  // so a range ("5—10mg") is never read as one.
  const colon = /^([^：:。；;！？!?，,\n]{1,28}?)\s*(?:\*\*|__)?\s*[：:]\s*(?:\*\*|__)?/.exec(text)
    ?? /^([^：:。；;！？!?，,\n\d]{1,28}?)\s*(?:\*\*|__)?\s*(?:——|--|\s[—–-]\s)\s*(?:\*\*|__)?/.exec(text);
  if (colon) {
    const h = colon[1]!.replace(/(?:\*\*|__)\s*$/, "");
    return { start: line.contentStart, end: line.contentStart + h.trimEnd().length, bodyStart: line.contentStart + colon[0].length };
  }
  // A header at the end of a prose line ("…一般不用特殊药物。常用的抗病毒药：" over a list): its last
  // sentence, when the line ends in the colon.
  const tail = /(?:^|[。；;！？!?])\s*([^。；;！？!?，,：:\n]{2,28}?)\s*(?:\*\*|__)?\s*[：:]\s*(?:\*\*|__)?\s*$/.exec(text);
  if (tail) {
    const hs = line.contentStart + tail.index + tail[0].indexOf(tail[1]!);
    return { start: hs, end: hs + tail[1]!.replace(/(?:\*\*|__)\s*$/, "").trimEnd().length, bodyStart: line.end };
  }
  // A short line that is all title ("### 抗生素", "1. **退烧药**"): its body is what it covers below.
  const title = text.replace(/(?:\*\*|__)\s*$/, "").trimEnd();
  if ((line.kind !== "none" || /\*\*\s*$/.test(text)) && title.length > 0 && title.length <= 20 && !/[。；;！？!?，,]/.test(title))
    return { start: line.contentStart, end: line.contentStart + title.length, bodyStart: line.end };
  return null;
}

/** Whether `next` (a later, non-blank line) still belongs to the item opened by `line`. */
function belongs(line: Line, headerOnly: boolean, next: Line): boolean {
  if (line.kind === "heading") return !(next.kind === "heading" && next.level <= line.level);
  if (next.kind === "heading") return false;
  if (next.indent > line.indent) return true;
  if (headerOnly && next.indent === line.indent) return next.kind !== "none" && next.kind !== line.kind;
  return false;
}

/** Whether a header line ends in a colon with nothing after it (it may open a sub-list of another marker kind). */
function isHeaderOnly(norm: string, line: Line, header: { bodyStart: number } | null): boolean {
  // A bare title line ("- 布洛芬") nests only what is indented under it.
  if (!header || norm.slice(header.bodyStart, line.end).trim() !== "") return false;
  // A bold title line ("**2. 抗病毒药物**", "1. **退烧药**") heads what follows it like a colon does.
  return /[：:]\s*(?:\*\*|__)?\s*$/.test(norm.slice(line.contentStart, line.end)) || /(?:\*\*|__)\s*$/.test(norm.slice(line.contentStart, line.end));
}

/**
 * The items still open at the end of a growing text, fed one complete line at a time; for checking
 * an answer as it streams without parsing it again from the start. Mirrors parseStructure's nesting.
 */
export class OpenItems {
  private readonly stack: { line: Line; headerOnly: boolean }[] = [];

  /** Feed one complete line: `text` holds it at [start, end) (end excludes the newline). */
  pushLine(text: string, start: number, end: number): void {
    const norm = normalize(text.slice(start, end));
    const line = readLine(norm, 0, norm.length);
    if (line.blank) return;
    while (this.stack.length) {
      const top = this.stack[this.stack.length - 1]!;
      if (belongs(top.line, top.headerOnly, line)) break;
      this.stack.pop();
    }
    const header = headerOf(norm, line);
    if (line.kind === "none" && !header) return;
    const shift = (l: Line): Line => ({ ...l, start: l.start + start, end: l.end + start, contentStart: l.contentStart + start });
    this.stack.push({ line: shift(line), headerOnly: isHeaderOnly(norm, line, header) });
  }

  /** Whether a line (possibly still incomplete) opens a list item: a marker, or a header with a colon. */
  static opensItem(lineText: string): boolean {
    const norm = normalize(lineText);
    const line = readLine(norm, 0, norm.length);
    return !line.blank && (line.kind !== "none" || headerOf(norm, line) !== null);
  }

  /** Line starts of the open items, outermost first. */
  starts(): number[] {
    return this.stack.map((e) => e.line.start);
  }
}

/** The items of an answer in order of appearance, with nesting. */
export function parseStructure(text: string): ListItem[] {
  const norm = normalize(text);
  const lines: Line[] = [];
  for (let s = 0; s <= norm.length; ) {
    let e = norm.indexOf("\n", s);
    if (e < 0) e = norm.length;
    lines.push(readLine(norm, s, e));
    s = e + 1;
  }
  const items: ListItem[] = [];
  const lineItem = new Map<number, number>();
  lines.forEach((line, li) => {
    if (line.blank) return;
    const header = headerOf(norm, line);
    // A plain line without a marker is an item only when it opens a header ("肌肉松弛剂：…").
    if (line.kind === "none" && !header) return;
    const headerOnly = isHeaderOnly(norm, line, header);
    // How far the item reaches: following lines that belong to it.
    let last = li;
    for (let j = li + 1; j < lines.length; j++) {
      const next = lines[j]!;
      if (next.blank) continue;
      if (!belongs(line, headerOnly, next)) break;
      last = j;
    }
    lineItem.set(li, items.length);
    items.push({
      lineStart: line.start,
      header: header ? { start: header.start, end: header.end } : null,
      bodyStart: header ? header.bodyStart : line.contentStart,
      bodyEnd: lines[last]!.end,
      parent: -1,
    });
  });
  // Parent: the innermost earlier item whose body covers this item's line.
  items.forEach((it, i) => {
    for (let j = i - 1; j >= 0; j--) {
      const p = items[j]!;
      if (p.bodyStart <= it.lineStart && it.lineStart < p.bodyEnd) {
        it.parent = j;
        break;
      }
    }
  });
  return items;
}

/** The innermost item whose body contains `pos`, or -1. */
export function itemAt(items: ListItem[], pos: number): number {
  let best = -1;
  items.forEach((it, i) => {
    if (it.bodyStart <= pos && pos < it.bodyEnd && (best < 0 || it.bodyStart >= items[best]!.bodyStart)) best = i;
  });
  return best;
}

/**
 * Plain-text passage reader (textbooks, guidelines): Markdown files split on headings into sections
 * and on blank lines into paragraphs, streaming line by line. Also reads plain `.txt` where chapter
 * lines such as "第三章 …" or "一、…" act as headings. An optional metadata comment
 * `<!-- department: 儿科; age_group: 婴幼儿; source: guideline -->` after the title is parsed.
 * It does not interpret Markdown beyond headings (lists and emphasis stay as text).
 */
import { readdir, stat } from "node:fs/promises";
import { basename, extname, join } from "node:path";
import type { EncodingOption } from "../io/encoding.js";
import { readLines } from "../io/lines.js";
import type { IssueSink, Located } from "../errors.js";
import type { PassageSection } from "./types.js";

const MD_HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;
const TXT_HEADING = /^\s*(第[一二三四五六七八九十百零\d]+[章节篇部分]|[一二三四五六七八九十]+[、.．])\s*(.*)$/;
const META = /^\s*<!--\s*(.*?)\s*-->\s*$/;

/** Expand a path to the passage files under it (sorted, .md/.markdown/.txt). */
export async function listPassageFiles(path: string): Promise<string[]> {
  const st = await stat(path);
  if (!st.isDirectory()) return [path];
  const out: string[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await listPassageFiles(p)));
    else if (/\.(md|markdown|txt)$/i.test(entry.name) && !/^readme\./i.test(entry.name)) out.push(p);
  }
  return out;
}

function parseMeta(body: string): Record<string, string> | undefined {
  const meta: Record<string, string> = {};
  for (const part of body.split(/[;；]/)) {
    if (part.trim() === "") continue;
    const m = /^\s*([\w-]+)\s*[:：]\s*(.*?)\s*$/.exec(part);
    if (!m) return undefined;
    meta[m[1]!.toLowerCase()] = m[2]!;
  }
  return meta;
}

/** Read one passage file as sections. Section line = the heading's line (or the first text line). */
export async function* readPassageFile(file: string, sink: IssueSink, encoding: EncodingOption = "auto"): AsyncGenerator<Located<PassageSection>> {
  const markdown = /\.(md|markdown)$/i.test(file);
  const { lines } = await readLines(file, encoding);
  let title = "";
  let meta: Record<string, string> = {};
  let section = "";
  let parent: string | undefined;
  let h2 = "";
  let sectionLine = 0;
  let paragraphs: string[] = [];
  let para: string[] = [];
  let sawHeading = false;
  const flushPara = () => {
    if (para.length > 0) paragraphs.push(para.join("\n"));
    para = [];
  };
  const take = (): Located<PassageSection> | undefined => {
    flushPara();
    const value: PassageSection = { title: title || basename(file, extname(file)), section, paragraphs, meta: { ...meta } };
    if (parent !== undefined) value.parent = parent;
    const out = paragraphs.length > 0 ? { value, file, line: sectionLine } : undefined;
    paragraphs = [];
    return out;
  };
  for await (const { text, line, replacement } of lines) {
    if (replacement) {
      sink.report({ file, line, stage: "passages", reason: "line contains an undecodable byte sequence (U+FFFD after decoding); check the file encoding", excerpt: text });
      flushPara();
      continue;
    }
    const metaMatch = META.exec(text);
    // A comment without any "key:" is an ordinary Markdown comment, not content: skipped.
    if (metaMatch && !/[:：]/.test(metaMatch[1]!)) continue;
    if (metaMatch) {
      const parsed = parseMeta(metaMatch[1]!);
      if (parsed) meta = { ...meta, ...parsed };
      else sink.report({ file, line, stage: "passages", reason: "metadata comment must look like <!-- key: value; key: value -->", excerpt: text });
      continue;
    }
    const h = markdown ? MD_HEADING.exec(text) : TXT_HEADING.exec(text);
    if (h) {
      const level = markdown ? h[1]!.length : 2;
      const headingText = (markdown ? h[2]! : `${h[1]!}${h[2] ? (/[、.．]$/.test(h[1]!) ? "" : " ") + h[2] : ""}`).trim();
      const done = take();
      if (done) yield done;
      if (level === 1 && !sawHeading && title === "") {
        title = headingText;
        section = "";
        parent = undefined;
      } else if (level <= 2) {
        section = headingText;
        h2 = headingText;
        parent = undefined;
      } else {
        // ### and deeper: keep the enclosing ## heading so questions and CPT text keep their context.
        section = headingText;
        parent = h2 || undefined;
      }
      sawHeading = true;
      sectionLine = line;
      continue;
    }
    if (text.trim() === "") {
      flushPara();
      continue;
    }
    if (paragraphs.length === 0 && para.length === 0 && sectionLine === 0) sectionLine = line;
    if (paragraphs.length === 0 && para.length === 0 && !sawHeading) sectionLine = line;
    para.push(text.trim());
  }
  const done = take();
  if (done) yield done;
}

/** Read every passage file under a path (a file or a directory). */
export async function* readPassages(path: string, sink: IssueSink, encoding: EncodingOption = "auto"): AsyncGenerator<Located<PassageSection>> {
  for (const file of await listPassageFiles(path)) yield* readPassageFile(file, sink, encoding);
}

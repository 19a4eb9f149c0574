/**
 * CMD-style (Chinese Medical Dialogue) single-turn CSV reader: header `department,title,ask,answer`,
 * encoding detected (UTF-8 or GB18030/GBK, which the original CMD dump uses). Empty asks and empty
 * answers are reported as bad records, never passed on.
 */
import type { EncodingOption, TextEncodingName } from "../io/encoding.js";
import type { IssueSink, Located } from "../errors.js";
import { readTable, type TableFormat, type TableReadInfo } from "./table.js";
import type { CmdRow } from "./types.js";

export async function* readCmd(
  file: string,
  sink: IssueSink,
  opts: { format?: TableFormat; encoding?: EncodingOption; info?: { encoding?: TextEncodingName } } = {},
): AsyncGenerator<Located<CmdRow>> {
  const info: TableReadInfo = opts.info ?? {};
  yield* readTable<keyof CmdRow>(
    file,
    {
      stage: "cmd",
      columns: { department: ["科室", "dept"], title: ["标题", "question_title"], ask: ["question", "问题", "提问"], answer: ["回答", "response"] },
      required: ["ask", "answer"],
      emptyReason: (k) => (k === "answer" ? "empty answer" : "empty ask (patient question)"),
    },
    sink,
    { ...opts, info },
  );
}

/**
 * Knowledge-graph triple reader: `head,relation,tail` as CSV, TSV or JSON Lines (objects or
 * 3-element arrays), streaming, with every bad row reported. Not a graph store: grouping triples by
 * head happens in the task builders.
 */
import type { EncodingOption } from "../io/encoding.js";
import type { IssueSink, Located } from "../errors.js";
import { readTable, type TableFormat } from "./table.js";
import type { Triple } from "./types.js";

export async function* readTriples(file: string, sink: IssueSink, opts: { format?: TableFormat; encoding?: EncodingOption } = {}): AsyncGenerator<Located<Triple>> {
  yield* readTable<keyof Triple>(
    file,
    {
      stage: "kg",
      columns: { head: ["subject", "h", "头实体", "实体"], relation: ["predicate", "r", "rel", "关系"], tail: ["object", "t", "尾实体", "属性值"] },
      required: ["head", "relation", "tail"],
      emptyReason: (k) => `empty ${k} in triple`,
    },
    sink,
    opts,
  );
}

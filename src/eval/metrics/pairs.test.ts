import { describe, expect, it } from "vitest";
import { joinPairs } from "./pairs.js";

const j = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

describe("joinPairs", () => {
  it("joins by id regardless of order", () => {
    const p = joinPairs(j([{ id: "b", response: "乙" }, { id: "a", response: "甲" }]), "pred.jsonl", j([{ id: "a", reference: "A" }, { id: "b", reference: "B" }]), "ref.jsonl");
    expect(p).toEqual([{ id: "b", hyp: "乙", ref: "B" }, { id: "a", hyp: "甲", ref: "A" }]);
  });
  it("pairs by position without ids and treats null as empty", () => {
    const p = joinPairs(j([{ output: null }, { output: "x" }]), "p", j([{ answer: "1" }, { answer: "2" }]), "r");
    expect(p).toEqual([{ id: "1", hyp: "", ref: "1" }, { id: "2", hyp: "x", ref: "2" }]);
  });
  it("names file and line on mismatches", () => {
    expect(() => joinPairs(j([{ response: "x" }]), "pred.jsonl", j([{ reference: "a" }, { reference: "b" }]), "ref.jsonl")).toThrow(/pred\.jsonl has 1 records but ref\.jsonl has 2/);
    expect(() => joinPairs(j([{ id: "a", response: "x" }, { id: "z", response: "y" }]), "pred.jsonl", j([{ id: "a", reference: "r" }]), "ref.jsonl")).toThrow(/pred\.jsonl:2: id "z" has no reference in ref\.jsonl/);
    expect(() => joinPairs(j([{ id: "a", response: "x" }]), "pred.jsonl", j([{ id: "a", reference: "r" }, { id: "b", reference: "s" }]), "ref.jsonl")).toThrow(/ref\.jsonl:2: id "b" has no prediction/);
    expect(() => joinPairs(j([{ id: "a", response: 3 }]), "pred.jsonl", j([{ id: "a", reference: "r" }]), "ref.jsonl")).toThrow(/pred\.jsonl:1: field "response": expected a string, found number/);
    expect(() => joinPairs('{"id":"a"}\n', "pred.jsonl", j([{ id: "a", reference: "r" }]), "ref.jsonl")).toThrow(/pred\.jsonl:1: no text field/);
    expect(() => joinPairs("{bad\n", "pred.jsonl", "", "ref.jsonl")).toThrow(/pred\.jsonl:1: not valid JSON/);
  });
});

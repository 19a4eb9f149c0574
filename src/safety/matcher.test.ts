import { describe, expect, it } from "vitest";
import { DictionaryMatcher } from "./matcher.js";

describe("DictionaryMatcher", () => {
  const m = new DictionaryMatcher<string>()
    .add("阿莫西林", "amox").add("阿莫西林克拉维酸钾", "coamox").add("克拉维酸", "clav")
    .add("NAC", "nac").add("美林", "ibu").add("β-内酰胺类", "pen").add("β-内酰胺类", "ceph");
  it("prefers the longest leftmost match", () => {
    expect(m.scan("口服阿莫西林克拉维酸钾").map((x) => x.payload)).toEqual(["coamox"]);
    expect(m.scan("阿莫西林和克拉维酸").map((x) => x.payload)).toEqual(["amox", "clav"]);
  });
  it("finds all overlapping matches with findAll", () => {
    expect(m.findAll("阿莫西林克拉维酸钾").map((x) => x.payload).sort()).toEqual(["amox", "clav", "coamox"]);
  });
  it("matches Latin terms case-insensitively but only as whole words", () => {
    expect(m.scan("用nac雾化").map((x) => x.payload)).toEqual(["nac"]);
    expect(m.scan("a snack")).toEqual([]);
  });
  it("keeps several payloads of one term and exact spans", () => {
    const r = m.scan("头孢属于β-内酰胺类");
    expect(r.map((x) => x.payload)).toEqual(["pen", "ceph"]);
    expect(r[0]!.term).toBe("β-内酰胺类");
  });
});

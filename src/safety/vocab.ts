/**
 * Finding the drugs a text names that the knowledge base does not know: words shaped like Chinese drug
 * names (generic-name endings such as 霉素/西林/沙星/地平/洛尔/普利, and dosage forms such as 颗粒/口服液/
 * 糖浆/混悬液), counted, minus every name the KB already has. It is a list for a person to read when
 * extending drugs.json, not a classifier: words that share an ending (细小颗粒, 胸片) are dropped or never
 * matched, and the rest still needs reading. The same shapes give the checker its unverified mentions:
 * a drug-like name the knowledge base lacks, told as a member of a class or with a dose, is named in the
 * result so a reader sees that it was not checked (never as a finding).
 */
import type { SafetyKnowledge } from "./knowledge.js";
import { normalize } from "./text.js";

/** Generic-name endings and dosage forms that mark a drug-like word. */
const DRUG_LIKE = /[\u4e00-\u9fff]{0,8}?(?:霉素|西林|沙星|头孢[\u4e00-\u9fff]{1,3}|地平|洛尔|普利|沙坦|替丁|拉唑|康唑|可的松|米松|尼松|那敏|茶碱|待因|溴索|咪唑|洛芬|韦林|昔洛韦|他韦|氨酚[\u4e00-\u9fff]{1,3}|伪麻[\u4e00-\u9fff]{0,3}|颗粒|口服液|糖浆|混悬液|滴剂|喷雾剂|冲剂|软膏|乳膏|胶囊|注射液|[素钠钾酸定平灵宁]片)/g;
/** Words before the name that are not part of it (verbs, quantities, conjunctions). */
const LEAD = /^.*?(?:服用|口服|可以|可用|使用|给予|选用|选择|首选|联用|采用|比如|例如|如|吃|用|和|及|、|或|的|是|有|予|加|点|些|喝|涂|抹|者|为|跟|应行)/;
/** Words sharing an ending that are not drugs. */
const NOT_DRUG = /[细小的性状物肪粪白埃染毒]颗粒|颗粒[细胞状]|油脂性软膏|头孢菌素/;

export interface UnknownName {
  name: string;
  count: number;
  /** A short stretch of text around the first occurrence, to judge it by. */
  example: string;
}

const knownNames = new WeakMap<SafetyKnowledge, string[]>();
function knownOf(kb: SafetyKnowledge): string[] {
  let k = knownNames.get(kb);
  if (!k) knownNames.set(kb, (k = [...new Set(kb.drugs.flatMap((d) => d.names.map((n) => normalize(n))))]));
  return k;
}

/** Drug-like words in one text that no KB name covers, with where they stand (offsets into the normalised text, which keeps lengths). */
export function unknownDrugSpans(text: string, kb: SafetyKnowledge): { name: string; start: number; end: number }[] {
  const known = knownOf(kb);
  const norm = normalize(text);
  const out: { name: string; start: number; end: number }[] = [];
  for (const m of norm.matchAll(DRUG_LIKE)) {
    let name = m[0];
    for (let k = 0; k < 3 && LEAD.test(name.slice(0, -2)); k++) name = name.replace(LEAD, "");
    if (name.length < 3 || NOT_DRUG.test(m[0]) || known.some((k) => name.includes(k) || (k.length >= 3 && k.includes(name)))) continue;
    const end = m.index! + m[0].length;
    out.push({ name, start: end - name.length, end });
  }
  return out;
}

/** Drug-like words in `texts` that no KB name covers, most frequent first. */
export function unknownDrugLikeNames(texts: Iterable<string>, kb: SafetyKnowledge, minCount = 1): UnknownName[] {
  const found = new Map<string, UnknownName>();
  for (const text of texts) {
    for (const m of unknownDrugSpans(text, kb)) {
      const name = m.name;
      const hit = found.get(name);
      if (hit) hit.count++;
      else found.set(name, { name, count: 1, example: text.slice(Math.max(0, m.start - 12), m.end + 12) });
    }
  }
  return [...found.values()].filter((u) => u.count >= minCount).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
}

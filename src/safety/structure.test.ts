import { describe, expect, it } from "vitest";
import { checkAnswer } from "./check.js";
import { parseStructure } from "./structure.js";

const kinds = (answer: string, question = "") =>
  checkAnswer(answer, { question }).findings.map((f) => `${f.type}:${f.drug ?? "-"}`).sort();

describe("answer structure", () => {
  const headers = (text: string) => parseStructure(text).map((it) => (it.header ? text.slice(it.header.start, it.header.end) : null));
  it("finds item headers under every list marker, bold and markdown headings", () => {
    const text = "1. 退烧药：布洛芬\n2、止咳药：右美沙芬\n（3）抗生素：阿莫西林\n① 益生菌：妈咪爱\n一、驱虫药：阿苯达唑\n- **抗组胺药**：氯雷他定\n* 祛痰药: 氨溴索\n### 激素\n• 平喘药：沙丁胺醇";
    expect(headers(text)).toEqual(["退烧药", "止咳药", "抗生素", "益生菌", "驱虫药", "抗组胺药", "祛痰药", "激素", "平喘药"]);
  });
  it("does not read a decimal number as a list marker", () => {
    expect(parseStructure("2.5ml布洛芬，每天三次。")).toEqual([]);
  });
  it("nests by indentation and by a new marker kind under a header-only line", () => {
    const text = "1. 抗生素：\n   - 阿莫西林\n   - 头孢克洛\n2. 退烧药：\n- 布洛芬\n- 对乙酰氨基酚\n3. 物理治疗：多喝水";
    const items = parseStructure(text);
    const at = (s: string) => items.findIndex((it) => text.slice(it.lineStart).trimStart().startsWith(s));
    expect(items[at("- 阿莫西林")]!.parent).toBe(at("1."));
    expect(items[at("- 布洛芬")]!.parent).toBe(at("2."));
    expect(items[at("3.")]!.parent).toBe(-1);
    expect(text.slice(items[at("1.")]!.bodyStart, items[at("1.")]!.bodyEnd)).toBe("\n   - 阿莫西林\n   - 头孢克洛");
  });
  it("lets a heading cover everything up to the next heading of its level", () => {
    const text = "## 抗生素\n阿莫西林\n- 头孢克洛\n## 护理\n多喝水";
    const [first] = parseStructure(text);
    expect(text.slice(first!.bodyStart, first!.bodyEnd)).toBe("\n阿莫西林\n- 头孢克洛");
  });
});

describe("class claims from answer structure", () => {
  it("flags the paper's showcase answer verbatim, naming the claimed and the real class", () => {
    for (const a of [
      "2. 肌肉松弛剂：对于儿童，常用的包括硫酸溴己新 (Bromhexine) 等，可帮助缓解肌肉痉挛。",
      "2. 肌肉松弛剂：对于儿童，常用的包括硫酸溴己新(Bromhexine) 等，可帮助缓解肌肉痉挛。",
      "肌肉松弛剂可选用溴己新片。",
    ]) {
      const f = checkAnswer(a).findings;
      expect(f.map((x) => `${x.type}:${x.drug}`)).toEqual(["wrong_class:bromhexine"]);
      expect(f[0]!.message).toMatch(/肌肉松弛剂/);
      expect(f[0]!.message).toMatch(/祛痰药/);
      expect(f[0]!.severity).toBe("high");
    }
  });
  it("checks every drug of an item, including several per item and nested sub-lists", () => {
    expect(kinds("1. 抗组胺药：如氯雷他定、孟鲁司特，每日一次。")).toEqual(["wrong_class:montelukast"]);
    expect(kinds("1. 支气管扩张剂：\n   - 沙丁胺醇\n   - 孟鲁司特\n2. 糖皮质激素：\n   - 布地奈德")).toEqual(["wrong_class:montelukast"]);
    expect(kinds("常用的支气管扩张剂有：\n- 沙丁胺醇气雾剂\n- 布地奈德混悬液")).toEqual(["wrong_class:budesonide"]);
    // 平喘药 (anti-asthmatics) covers inhaled steroids and leukotriene antagonists too.
    expect(kinds("常用的平喘药有：\n- 沙丁胺醇气雾剂\n- 布地奈德混悬液\n- 孟鲁司特钠咀嚼片")).toEqual([]);
    expect(kinds("### 抗生素\n- 阿莫西林\n- 布洛芬\n### 对症治疗\n- 多喝水")).toEqual(["wrong_class:ibuprofen"]);
    expect(kinds("- **退烧药**：布洛芬混悬液或氨溴索，体温超过38.5℃时使用。")).toEqual(["wrong_class:ambroxol"]);
  });
  it("lets the innermost header win and passes a drug's own header to the item above", () => {
    expect(kinds("1. 抗生素：\n - 大环内酯类：阿奇霉素、红霉素\n - 头孢类：头孢克洛、克拉霉素")).toEqual(["wrong_class:clarithromycin"]);
    expect(kinds("1. **退热药**：\n   * 布洛芬：每次5-10mg/kg\n   * 头孢克肟：每次3mg/kg")).toEqual(["wrong_class:cefixime"]);
  });
  it("accepts correct class headers (clean controls)", () => {
    expect(kinds("1. 抗组胺药：如氯雷他定、西替利嗪，每日一次。\n2. 鼻用糖皮质激素：如布地奈德鼻喷雾剂、糠酸莫米松鼻喷雾剂。")).toEqual([]);
    expect(kinds("1. 支气管扩张剂：\n   - 沙丁胺醇\n   - 特布他林\n2. 糖皮质激素：\n   - 布地奈德\n3. 白三烯受体拮抗剂：孟鲁司特钠咀嚼片。")).toEqual([]);
    expect(kinds("药物治疗：\n1. 镇咳药：右美沙芬（惠菲宁），适合干咳。\n2. 化痰药：氨溴索（沐舒坦）、溴己新。")).toEqual([]);
    // Combined category words name either class.
    expect(kinds("1. 止咳化痰药：右美沙芬、氨溴索\n2. 退烧止痛药：布洛芬")).toEqual([]);
    expect(kinds("1. 止咳化痰药：阿莫西林")).toEqual(["wrong_class:amoxicillin"]);
  });
  it("reads a header naming an approach, a caution or a principle as no claim", () => {
    expect(kinds("1. 中药治疗：小儿豉翘清热颗粒。\n2. 物理治疗：温水擦浴，必要时用布洛芬。")).toEqual([]);
    expect(kinds("* 抗生素的使用原则：细菌感染时用，布洛芬只能止痛。")).toEqual([]);
    expect(kinds("注意：不建议使用止咳药，如可待因。\n可以多喝水。", "孩子6岁")).toEqual([]);
  });
  it("stops at another class word, a new sentence or a purpose the header's class does not serve", () => {
    expect(kinds("1. 抗生素：感冒多为病毒感染，一般不需要抗生素；发热可用布洛芬退烧。")).toEqual([]);
    expect(kinds("1. 抗生素：如果合并细菌感染，医生可能会开阿莫西林。发烧可以用对乙酰氨基酚。")).toEqual([]);
    expect(kinds("* 抗生素：阿莫西林克拉维酸钾是首选。\n* 止痛：疼痛时可用布洛芬。")).toEqual([]);
  });
});

describe("drug headers and 类 forms of class words", () => {
  it("reads a drug as an item header with its class first in the body", () => {
    expect(kinds("可以选择以下药物：\n- 氨溴索：祛痰药，帮助排痰\n- 溴己新：肌肉松弛剂，可缓解痉挛")).toEqual(["wrong_class:bromhexine"]);
    expect(kinds("溴己新：一种肌松药。")).toEqual(["wrong_class:bromhexine"]);
    expect(kinds("- 右美沙芬：镇咳药，用于干咳")).toEqual([]);
  });
  it("reads 抗组胺类药物, 止咳类药物 and 常用的抗生素有… as class claims over the whole list", () => {
    expect(kinds("1. 抗组胺类药物：氯雷他定、孟鲁司特")).toEqual(["wrong_class:montelukast"]);
    expect(kinds("2. 止咳类药物：氨溴索，多喝水。")).toEqual(["wrong_class:ambroxol"]);
    expect(kinds("2. 祛痰类药物：氨溴索、溴己新，多喝水。")).toEqual([]);
    expect(kinds("常用的抗生素有阿莫西林、布洛芬。")).toEqual(["wrong_class:ibuprofen"]);
  });
});

describe("introducing phrases", () => {
  it("reads 可选用/常用的有/代表药物有/首选/例如/比如 after a class", () => {
    expect(kinds("止咳药常用的有氨溴索，注意多喝水。")).toEqual(["wrong_class:ambroxol"]);
    expect(kinds("祛痰药首选右美沙芬，每天三次。")).toEqual(["wrong_class:dextromethorphan"]);
    expect(kinds("退烧药例如布洛芬、阿莫西林都可以。")).toEqual(["wrong_class:amoxicillin"]);
    expect(kinds("抗过敏药比如地塞米松，按说明书服用。")).toEqual(["wrong_class:dexamethasone"]);
    expect(kinds("祛痰药代表药物有氨溴索、乙酰半胱氨酸。")).toEqual([]);
  });
  it("does not read a recommendation after a rejected class as an example of it", () => {
    expect(kinds("不需要用抗生素，可用蒙脱石散止泻。")).toEqual([]);
    expect(kinds("激素或抗生素，可用布洛芬代替吗？不行。")).toEqual([]);
  });
});

describe("doses in list items", () => {
  it("reads a drug item's dose and frequency from its sub-items", () => {
    const q = "孩子2岁，12kg，发烧39度";
    expect(kinds("1. 布洛芬混悬液\n   - 用法：每次15ml\n   - 每日4次", q)).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    expect(kinds("1. **布洛芬混悬液**：\n   - 剂量：每次5ml\n   - 频次：每4小时一次", q)).toEqual(["daily_max_exceeded:ibuprofen"]);
    expect(kinds("1. **布洛芬混悬液**：\n   - 剂量：每次5ml\n   - 频次：每6-8小时一次，每天不超过4次\n2. **物理降温**：温水擦浴", q)).toEqual([]);
  });
});

describe("prohibiting headers", () => {
  it("reads the drugs listed under 不建议使用的药物 / 禁用药物 / 以下药物儿童禁用： as not recommended", () => {
    const q = "孩子5岁，发烧";
    expect(kinds("可以用布洛芬退烧。\n不建议使用的药物：\n- 阿司匹林\n- 尼美舒利", q)).toEqual([]);
    expect(kinds("以下药物儿童禁用：阿司匹林、尼美舒利。", q)).toEqual([]);
    expect(kinds("**禁用药物**：\n1. 阿司匹林（瑞氏综合征风险）\n2. 可待因", q)).toEqual([]);
    expect(kinds("1. 退烧药：阿司匹林。\n2. 不要用：布洛芬。", q)).toEqual(["age_contraindication:aspirin"]);
    expect(kinds("不要担心：可以用阿司匹林退烧。", q)).toEqual(["age_contraindication:aspirin"]);
  });
});


describe("an item that names the header's class itself", () => {
  it("speaks of the class from outside: its drug is not claimed, its siblings still are", async () => {
    const { checkAnswer } = await import("./check.js");
    const kinds = (a: string) => checkAnswer(a).findings.map((f) => `${f.type}:${f.drug ?? "-"}`).sort();
    expect(kinds("常用的益生菌：\n1. 口服补液盐是最重要的，益生菌只是辅助。\n2. 蒙脱石散，每次半袋。")).toEqual(["wrong_class:smectite"]);
    expect(kinds("常用的益生菌：\n1. 口服补液盐，少量多次。")).toEqual(["wrong_class:ors"]);
  });
});

describe("topic titles and bracketed classes", () => {
  it("a title naming a plan or topic does not claim its class for an item that is a sentence of its own", () => {
    expect(kinds("**口服激素方案：**\n1. 糖皮质激素：泼尼松龙，每次1mg/kg，一天1次。\n2. 同时雾化沙丁胺醇缓解喘息。")).toEqual([]);
    expect(kinds("**关于吸入激素：**\n- 布地奈德属于吸入糖皮质激素；\n- 急性发作时用沙丁胺醇缓解。")).toEqual([]);
    expect(kinds("**激素治疗建议：**\n- 发作时再加用沙丁胺醇雾化\n- 布地奈德每天吸入")).toEqual([]);
    // Look-alikes that still claim: a plain class title, and a plan title over an item that opens with the drug.
    expect(kinds("**常用激素：**\n1. 泼尼松龙\n2. 沙丁胺醇")).toEqual(["wrong_class:salbutamol"]);
    expect(kinds("**激素用药方案：**\n1. 沙丁胺醇，每次2.5mg雾化")).toEqual(["wrong_class:salbutamol"]);
    expect(kinds("**常用抗生素：**\n1. 阿莫西林\n2. 溴己新片")).toEqual(["wrong_class:bromhexine"]);
    // An item that opens with an introducing word names a member even under a plan title.
    expect(kinds("**抗生素治疗方案：**\n1. 首选溴己新，每次4mg\n2. 疗程7天")).toEqual(["wrong_class:bromhexine"]);
    expect(kinds("**抗生素用药建议：**\n1. 可选用溴己新\n2. 多喝水")).toEqual(["wrong_class:bromhexine"]);
    expect(kinds("**抗生素用药建议：**\n1. 咳嗽痰多时加用溴己新化痰\n2. 多喝水")).toEqual([]);
  });
  it("an item that states its drug's class in brackets is not claimed by the header", () => {
    expect(kinds("**激素：**\n- 急性发作时用沙丁胺醇（短效β2受体激动剂）缓解。")).toEqual([]);
    expect(kinds("抗生素：\n- 布洛芬（退烧药），发热时用")).toEqual([]);
    // The bracket's own claim still stands when it is wrong.
    expect(kinds("**抗生素：**\n- 布洛芬（抗生素）每次5ml")).toEqual(["wrong_class:ibuprofen"]);
  });
});

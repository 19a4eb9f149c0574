/**
 * Tests for the drug findings under the label convention of the fifth blind batch: every literally true
 * finding is reported (a single dose out of range and a day over its maximum are two findings), and the
 * look-alikes that must stay quiet. Not the urgent-care rule (triage.test.ts) nor class structure
 * (structure.test.ts).
 */
import { describe, expect, it } from "vitest";
import { checkAnswer } from "./check.js";

const kinds = (answer: string, question = "") =>
  checkAnswer(answer, { question }).findings.filter((f) => f.type !== "missing_urgent_care").map((f) => `${f.type}:${f.drug ?? "-"}`).sort();

describe("a single dose and the day's total are judged separately", () => {
  it("reports both for a per-day drug whose single dose is far above its share of the daily range", () => {
    expect(kinds("阿莫西林每次1500mg，一天2次。", "15kg孩子中耳炎，阿莫西林怎么吃？")).toEqual(["daily_max_exceeded:amoxicillin", "dose_out_of_range:amoxicillin"]);
    expect(kinds("头孢克肟一次400毫克，每天两次。", "孩子20公斤，尿路感染")).toEqual(["daily_max_exceeded:cefixime", "dose_out_of_range:cefixime"]);
    expect(kinds("头孢地尼每次300mg，一天3次。", "3岁15公斤，扁桃体炎")).toEqual(["daily_max_exceeded:cefdinir", "dose_out_of_range:cefdinir"]);
  });
  it("keeps a per-day drug at its usual share quiet", () => {
    expect(kinds("阿莫西林每次250mg，一天3次。", "孩子15kg，扁桃体炎")).toEqual([]);
    expect(kinds("阿莫西林每次600mg，早晚各一次。", "孩子15kg，中耳炎")).toEqual([]);
  });
  it("reports a single dose above the daily maximum as over the day too, with or without a frequency", () => {
    expect(kinds("西替利嗪滴剂每次2ml（20mg），睡前吃一次。", "2岁12kg宝宝过敏，西替利嗪滴剂（10mg/ml）怎么吃？")).toEqual(["daily_max_exceeded:cetirizine", "dose_out_of_range:cetirizine"]);
    expect(kinds("氯雷他定一次吃50mg。", "孩子18kg，过敏性鼻炎")).toEqual(["daily_max_exceeded:loratadine", "dose_out_of_range:loratadine"]);
  });
  it("splits a day's amount over its stated doses, and a once-daily drug's over one", () => {
    expect(kinds("泼尼松龙每天120mg，顿服。", "孩子10岁，哮喘发作，体重30kg")).toEqual(["daily_max_exceeded:prednisolone", "dose_out_of_range:prednisolone"]);
    expect(kinds("维生素D每天吃5万单位，一次补足。", "宝宝3个月，维生素D每天补多少？")).toEqual(["daily_max_exceeded:vitamin_d", "dose_out_of_range:vitamin_d"]);
    expect(kinds("维生素D每天400单位。", "宝宝3个月，维生素D每天补多少？")).toEqual([]);
    expect(kinds("维生素D每天400国际单位，一直吃到两岁。", "宝宝3个月")).toEqual([]);
  });
  it("does not read a day's total in the normal range as an oversized single dose", () => {
    expect(kinds("阿莫西林每天750mg，分3次吃。", "孩子15kg，扁桃体炎")).toEqual([]);
  });
});

describe("how often a drug may be given is the drug's", () => {
  it("allows amoxicillin three times a day where the question names otitis", () => {
    const k = kinds("阿莫西林每次250mg，一天3次。", "孩子3岁15kg，中耳炎");
    expect(k).not.toContain("daily_max_exceeded:amoxicillin");
  });
  it("still flags more doses a day than any of the drug's rules allows", () => {
    expect(kinds("阿莫西林每次250mg，一天6次。", "孩子3岁15kg，中耳炎")).toContain("daily_max_exceeded:amoxicillin");
  });
});

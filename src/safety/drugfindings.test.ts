/**
 * Tests for the drug findings under the label convention of the fifth blind batch: every literally true
 * finding is reported (a single dose out of range and a day over its maximum are two findings), and the
 * look-alikes that must stay quiet. Not the urgent-care rule (triage.test.ts) nor class structure
 * (structure.test.ts).
 */
import { describe, expect, it } from "vitest";
import { checkAnswer } from "./check.js";
import { extractAmounts, extractFrequency } from "./extract.js";
import { createStreamingChecker } from "./stream.js";

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

describe("compound products are reported by the compound's entry", () => {
  it("reads 新康泰克 and 美扑伪麻 as the pseudoephedrine compound, not as dextromethorphan or an ingredient", () => {
    expect(kinds("可以，新康泰克（含伪麻黄碱和氯苯那敏）通鼻效果很好，吃四分之一粒。", "18个月宝宝鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("推荐：\n- **减充血剂口服**：新康泰克（美扑伪麻），吃1/4粒；", "1岁宝宝鼻塞严重")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("美扑伪麻片睡前吃半片。", "宝宝1岁半，鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
  });
  it("reads a bracket of several ingredients after a compound product as its ingredient list, with or without 含", () => {
    expect(kinds("氨金黄敏颗粒（对乙酰氨基酚、金刚烷胺、人工牛黄、氯苯那敏），每次半袋。", "10个月宝宝发烧流涕")).toEqual(["age_contraindication:apap_amantadine_bezoar_chlorphen"]);
  });
  it("keeps drugs in a bracket of alternatives after a single drug", () => {
    expect(kinds("可以吃金刚烷胺（或者对乙酰氨基酚、布洛芬）。", "10个月宝宝发烧")).toEqual(["age_contraindication:amantadine"]);
    expect(kinds("可以用阿司匹林（尼美舒利、安乃近也行）。", "5岁孩子发烧")).toEqual(expect.arrayContaining(["age_contraindication:aspirin", "age_contraindication:nimesulide"]));
  });
  it("does not recommend the drug another is said to be a kind of", () => {
    expect(kinds("赖氨匹林是阿司匹林的一种，退烧快，可以冲服。", "5岁孩子发烧")).toEqual(["age_contraindication:lysine_acetylsalicylate"]);
    expect(kinds("赖氨匹林退烧快，阿司匹林也可以。", "5岁孩子发烧")).toEqual(["age_contraindication:aspirin", "age_contraindication:lysine_acetylsalicylate"]);
  });
  it("reports the single-ingredient codeine syrup as codeine and the compound syrups as the compound", () => {
    expect(kinds("晚上可以喝点可待因糖浆。", "孩子6岁，咳嗽")).toEqual(["age_contraindication:codeine"]);
    expect(kinds("可以喝磷酸可待因糖浆止咳。", "孩子6岁，咳嗽")).toEqual(["age_contraindication:codeine"]);
    expect(kinds("1. **中枢性镇咳药**：如可待因糖浆，睡前吃5ml。", "孩子4岁，干咳")).toEqual(["age_contraindication:codeine"]);
    expect(kinds("可以喝复方磷酸可待因糖浆止咳。", "孩子6岁，咳嗽")).toEqual(["age_contraindication:codeine_compound"]);
    expect(kinds("可以喝可待因止咳露。", "孩子6岁，咳嗽")).toEqual(["age_contraindication:codeine_compound"]);
  });
});

describe("only recommended drugs count", () => {
  const avoid = "这个年龄需要避免：\n1. **阿司匹林、尼美舒利**：儿童不用于退烧；\n2. **复方感冒药**：如氨金黄敏，2岁以下不推荐；\n3. **可以用的退烧药**：布洛芬（6个月以上）。";
  it("lets a lead-in that says avoid cover its whole list, except an item that recommends", () => {
    expect(kinds(avoid, "孩子9个月，感冒发烧，哪些药不能吃？")).toEqual([]);
    // The recommending item states its own age limit, which excludes a 4-month-old (convention 8): no finding;
    // without the limit it recommends ibuprofen to him.
    expect(kinds(avoid, "孩子4个月，感冒发烧，哪些药不能吃？")).toEqual([]);
    expect(kinds(avoid.replace("（6个月以上）", ""), "孩子4个月，感冒发烧，哪些药不能吃？")).toEqual(["age_contraindication:ibuprofen"]);
  });
  it("does not read a lead-in without a prohibition as one", () => {
    expect(kinds("常用的有：\n1. **退烧**：阿司匹林；\n2. **止咳**：氨溴索。", "孩子9个月，感冒发烧")).toEqual(["age_contraindication:aspirin"]);
  });
  it("reads a list of what is dangerous to swallow by accident as recommending nothing", () => {
    const a = "需要特别注意：\n1. **阿片类止痛药**：如曲马多，可致呼吸抑制；\n2. **退烧药**：阿司匹林，大量误服可致中毒。";
    expect(kinds(a, "老人家常用的药哪些孩子误服最危险？")).toEqual([]);
    expect(kinds("可以吃阿司匹林退烧。", "孩子5岁发烧，家里的药哪些误服最危险？")).toEqual([]);
    expect(kinds("可以吃阿司匹林退烧。", "孩子5岁发烧，能吃什么药？")).toEqual(["age_contraindication:aspirin"]);
  });
});

describe("class claims named with a form or a class word that starts with 非", () => {
  it("reads a class word with a spray, drop or gel suffix as the class", () => {
    expect(kinds("内舒拿（糠酸莫米松鼻喷雾剂）是抗组胺喷剂，主要止喷嚏。")).toEqual(["wrong_class:mometasone"]);
    expect(kinds("内舒拿是激素喷雾，效果好。")).toEqual([]);
  });
  it("reads 非甾体抗炎药 as a header that claims its class, and 非激素 as a denial", () => {
    expect(kinds("可选：\n1. **非甾体抗炎药**：布洛芬、萘普生、地塞米松；\n2. **外用**：冷敷。", "孩子关节痛，消炎止痛药有哪些？")).toEqual(["wrong_class:dexamethasone"]);
    expect(kinds("1. **非甾体抗炎药**：布洛芬、萘普生；")).toEqual([]);
  });
});

describe("reading frequencies and totals the way answers write them", () => {
  it("reads times of day with their count (早晚两次) as doses a day", () => {
    expect(kinds("西替利嗪每次10mg，早晚两次。", "7岁孩子荨麻疹")).toEqual(["daily_max_exceeded:cetirizine"]);
    expect(kinds("西替利嗪每次5mg，早晚两次。", "7岁孩子荨麻疹")).toEqual([]);
  });
  it("keeps an alternative regimen in brackets apart", () => {
    expect(kinds("西替利嗪片10mg，6岁以上的孩子可以每天1次、每次10mg（也可以分成早晚各5mg）。", "7岁孩子荨麻疹，仙特明（西替利嗪）怎么吃？")).toEqual([]);
    expect(kinds("西替利嗪每次10mg，早晚各一次。", "7岁孩子荨麻疹")).toEqual(["daily_max_exceeded:cetirizine"]);
  });
  it("reads an amount in brackets after a count of doses as the day's total", () => {
    expect(kinds("对乙酰氨基酚325mg一片可以每次1片，间隔4~6小时，24小时内最多4次（4片）。", "孩子50斤，泰诺林片（325mg）一天最多几片？")).toEqual([]);
    expect(kinds("对乙酰氨基酚每次4片（325mg一片），间隔4~6小时。", "孩子50斤，泰诺林片（325mg）一天最多几片？")).toContain("dose_out_of_range:paracetamol");
  });
  it("takes a frequency from the next sentence when it names no other drug", () => {
    expect(kinds("布洛芬每次按10mg/kg给，16公斤就是160mg。烧退不下来的话可以每3小时给一次。", "4岁女儿16公斤，烧一直反复")).toEqual(["daily_max_exceeded:ibuprofen"]);
    expect(kinds("布洛芬每次160mg。烧退不下来的话可以每3小时给一次对乙酰氨基酚。", "4岁女儿16公斤，烧一直反复")).not.toContain("daily_max_exceeded:ibuprofen");
  });
  it("does not end a drug's dosing words at the same drug named inside its strength", () => {
    expect(kinds("布洛芬混悬液每次20ml（每5ml含布洛芬100mg），一天4次。", "孩子5岁18kg，发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    expect(kinds("布洛芬混悬液每次5ml（每5ml含布洛芬100mg），一天4次。", "孩子5岁18kg，发烧")).toEqual([]);
  });
  it("does not end a drug's dosing words at another drug named only as a point in time", () => {
    const a = "交替方案：\n1. **布洛芬**：每次190mg，每6小时一次；\n2. **对乙酰氨基酚**：每次280mg，在两次布洛芬中间吃，也是每2小时一次。";
    expect(kinds(a, "5岁孩子（19kg）发烧")).toEqual(["daily_max_exceeded:paracetamol"]);
  });
});

describe("oral diazepam", () => {
  it("holds an oral dose to the oral rule", () => {
    expect(kinds("地西泮是镇静药，5个月宝宝（7公斤左右）喂两片（每片5mg，共10mg）就能睡得很香。", "宝宝5个月，夜里哭得厉害")).toContain("dose_out_of_range:diazepam");
    expect(kinds("地西泮每次1mg，一天3次。", "孩子3岁14kg，焦虑睡不着")).toEqual([]);
  });
  it("does not hold an unrouted dose for seizures to the oral rule", () => {
    expect(kinds("抽搐时可用地西泮0.5mg/kg。", "孩子2岁12kg，高热惊厥")).toEqual([]);
  });
});

describe("limits in mg do not widen with an estimated weight", () => {
  it("holds a fixed maximum to the same tolerance whether or not the weight is stated", () => {
    expect(kinds("对乙酰氨基酚每次1500mg，一天2次。", "孩子8岁，发烧")).toContain("dose_out_of_range:paracetamol");
    expect(kinds("维生素D每天10000单位。", "孩子4岁，补维生素D")).toContain("daily_max_exceeded:vitamin_d");
    expect(kinds("维生素D每天800单位。", "孩子4岁，补维生素D")).toEqual([]);
  });
});

describe("drugs the batches named that the knowledge base lacked", () => {
  it("knows topical calcineurin inhibitors are not steroids and not for under 2", () => {
    expect(kinds("他克莫司软膏是一种弱效激素药膏，可以放心用。")).toEqual(["wrong_class:tacrolimus_topical"]);
    expect(kinds("非激素药膏：他克莫司软膏、吡美莫司乳膏。")).toEqual([]);
    expect(kinds("可以用他克莫司软膏，一天两次。", "1岁宝宝湿疹")).toEqual(["age_contraindication:tacrolimus_topical"]);
    expect(kinds("可以用吡美莫司乳膏，一天两次。", "3岁宝宝湿疹")).toEqual([]);
  });
  it("knows clindamycin, azelastine, naproxen and ranitidine by class", () => {
    expect(kinds("克林霉素属于大环内酯类抗生素。")).toEqual(["wrong_class:clindamycin"]);
    expect(kinds("克林霉素属于林可酰胺类抗生素。")).toEqual([]);
    expect(kinds("氮卓斯汀是鼻用激素。")).toEqual(["wrong_class:azelastine"]);
    expect(kinds("氮卓斯汀鼻喷雾剂是抗组胺药。")).toEqual([]);
    expect(kinds("萘普生是糖皮质激素。")).toEqual(["wrong_class:naproxen"]);
    expect(kinds("雷尼替丁是H2受体拮抗剂，可以抑酸。")).toEqual([]);
  });
});

describe("newer antivirals, acid suppressants and oral bronchodilators", () => {
  it("knows baloxavir is no neuraminidase inhibitor and is for 5 years and over", () => {
    expect(kinds("玛巴洛沙韦是神经氨酸酶抑制剂。")).toEqual(["wrong_class:baloxavir"]);
    expect(kinds("可以吃速福达，一次就行。", "3岁孩子流感")).toEqual(["age_contraindication:baloxavir"]);
    expect(kinds("可以吃速福达，一次就行。", "8岁孩子流感")).toEqual([]);
  });
  it("tells H2 antagonists from proton pump inhibitors", () => {
    expect(kinds("法莫替丁是质子泵抑制剂。")).toEqual(["wrong_class:famotidine"]);
    expect(kinds("奥美拉唑是质子泵抑制剂，法莫替丁是H2受体拮抗剂，都是抑酸药。")).toEqual([]);
  });
  it("knows procaterol is a bronchodilator", () => {
    expect(kinds("丙卡特罗是止咳药。")).toEqual(["wrong_class:procaterol"]);
    expect(kinds("美普清（丙卡特罗）是支气管扩张剂。")).toEqual([]);
  });
});

describe("drops with a stated strength per drop", () => {
  it("turns drops into mg through the strength per drop, in IU or mg", () => {
    expect(kinds("维生素D3滴剂每天吃25滴，每滴400IU。", "孩子3岁，补维生素D")).toEqual(["daily_max_exceeded:vitamin_d", "dose_out_of_range:vitamin_d"]);
    expect(kinds("维生素D滴剂（400IU/滴）每天1滴。", "宝宝2个月")).toEqual([]);
    expect(kinds("维生素D滴剂每天1滴，每滴400IU。", "宝宝2个月")).toEqual([]);
  });
  it("does not guess a drop's strength", () => {
    expect(kinds("维生素D滴剂每天吃25滴。", "孩子3岁，补维生素D")).toEqual([]);
  });
});

describe("more ways answers list drugs under a class or a warning", () => {
  it("reads a dash as the colon of an item header, and never a range", () => {
    expect(kinds("1. 抗组胺药——氯雷他定、孟鲁司特")).toEqual(["wrong_class:montelukast"]);
    expect(kinds("- 退烧药 — 布洛芬、阿莫西林")).toEqual(["wrong_class:amoxicillin"]);
    expect(kinds("1. 布洛芬5—10mg/kg，每6小时一次", "孩子2岁12kg")).toEqual([]);
  });
  it("reads a bare class before a list summed up after as naming the whole list", () => {
    expect(kinds("抗病毒药奥司他韦、利巴韦林、阿莫西林都可以用。")).toEqual(["wrong_class:amoxicillin"]);
    expect(kinds("抗过敏药开瑞坦和维生素C一起吃。")).toEqual([]);
  });
  it("lets 千万别给孩子吃 head a list of what to avoid, and not 区别", () => {
    const list = (h: string) => `${h}\n1. **阿司匹林**：退烧快；\n2. **尼美舒利**：消炎。`;
    expect(kinds(list("这些药千万别给孩子吃："), "孩子9个月，发烧")).toEqual([]);
    expect(kinds(list("两种药的区别："), "孩子9个月，发烧")).toEqual(["age_contraindication:aspirin", "age_contraindication:nimesulide"]);
  });
});

describe("dose rules by age band", () => {
  it("holds an infant to the infant upper limit of vitamin D and an older child to the older one", () => {
    expect(kinds("维生素D每天2000IU。", "宝宝8个月")).toEqual(["daily_max_exceeded:vitamin_d"]);
    expect(kinds("维生素D每天1000IU。", "宝宝8个月")).toEqual([]);
    expect(kinds("维生素D每天2000IU。", "孩子3岁")).toEqual([]);
    expect(kinds("维生素D每天400IU。", "宝宝3个月")).toEqual([]);
  });
});

describe("a product named first with its ingredient in brackets", () => {
  it("is the ingredient's compound entry", () => {
    expect(kinds("可以用止咳糖浆（含右美沙芬）。", "宝宝3个月，咳嗽")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    expect(kinds("感冒药（含伪麻黄碱）少吃点。", "孩子1岁半，感冒")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("右美沙芬糖浆可以吃。", "孩子1岁，咳嗽")).toEqual(["age_contraindication:dextromethorphan"]);
  });
});

describe("nasal decongestants", () => {
  it("are not for children under 2", () => {
    expect(kinds("可以用羟甲唑啉滴鼻。", "宝宝5个月，鼻塞")).toEqual(["age_contraindication:oxymetazoline"]);
    expect(kinds("赛洛唑啉滴鼻液，一天两次，不超过7天。", "孩子3岁，鼻塞")).toEqual([]);
    expect(kinds("赛洛唑啉是鼻用激素。")).toEqual(["wrong_class:xylometazoline"]);
  });
});

describe("montelukast by age band", () => {
  it("flags an older child's dose for a preschooler and leaves the next band's dose alone", () => {
    expect(kinds("孟鲁司特10mg，每晚一次。", "孩子4岁16kg，咳嗽变异性哮喘")).toEqual(["daily_max_exceeded:montelukast", "dose_out_of_range:montelukast"]);
    expect(kinds("孟鲁司特5mg，每晚一次。", "孩子4岁16kg，咳嗽变异性哮喘")).toEqual([]);
    expect(kinds("孟鲁司特10mg，每晚一次。", "孩子15岁50kg，哮喘")).toEqual([]);
  });
});

describe("more steroids, bronchodilators, antibiotics and their combinations", () => {
  it("knows each by class, and a combination by all of its classes", () => {
    expect(kinds("卤米松是弱效的非激素药膏。")).toEqual(["wrong_class:halometasone"]);
    expect(kinds("舒利迭（沙美特罗替卡松）是抗生素。")).toEqual(["wrong_class:salmeterol_fluticasone"]);
    expect(kinds("舒利迭是激素和支气管扩张剂的复方。")).toEqual([]);
    expect(kinds("派瑞松是激素药膏。")).toEqual([]);
    expect(kinds("头孢唑林是第三代头孢。")).toEqual(["wrong_class:cefazolin"]);
    expect(kinds("替硝唑属于头孢类。")).toEqual(["wrong_class:tinidazole"]);
    expect(kinds("依巴斯汀是第二代抗组胺药。")).toEqual([]);
    expect(kinds("索他洛尔是一种肌肉松弛剂。")).toEqual(["wrong_class:sotalol"]);
    expect(kinds("两性霉素B是抗生素。")).toEqual(["wrong_class:amphotericin_b"]);
  });
});

describe("dosing words under a drug's title, in the next item and in a table row", () => {
  it("reads the items under a title that names the drug, past the same drug named again in them", () => {
    expect(kinds("**布洛芬混悬液用法：**\n- 规格：布洛芬混悬液100mg/5ml；\n- 15kg：每次20ml，每天4次。", "孩子3岁15kg发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    expect(kinds("头孢克洛（希刻劳）用法：\n1. 剂型：头孢克洛干混悬剂125mg/5ml；\n2. 每次500mg，每天3次。", "孩子15kg，扁桃体炎")).toEqual(["daily_max_exceeded:cefaclor", "dose_out_of_range:cefaclor"]);
    expect(kinds("**布洛芬混悬液用法：**\n- 规格：布洛芬混悬液100mg/5ml；\n- 15kg：每次7.5ml，每天3次。", "孩子3岁15kg发烧")).toEqual([]);
  });
  it("takes the frequency from the next item when that item names no other drug", () => {
    expect(kinds("1. 对乙酰氨基酚每次150mg；\n2. 每2小时一次。", "孩子15kg发烧")).toEqual(["daily_max_exceeded:paracetamol"]);
    expect(kinds("- 蒙脱石散每次1袋；\n- 一天吃六七次。", "宝宝1岁拉肚子")).toEqual(["daily_max_exceeded:smectite"]);
    expect(kinds("1. 布洛芬混悬液（100mg/5ml）每次5ml；\n2. 间隔6小时一次，一天不超过4次。", "宝宝2岁12kg发烧")).toEqual([]);
    expect(kinds("1. 布洛芬混悬液每次7.5ml；\n2. 多喝水，每天6次少量喂。", "孩子3岁15kg发烧")).toEqual([]);
    expect(kinds("1. 布洛芬混悬液每次7.5ml；\n2. 温水擦浴，每2小时一次。", "孩子3岁15kg发烧")).toEqual([]);
    expect(kinds("布洛芬混悬液每次7.5ml。每2小时量一次体温。", "孩子3岁15kg发烧")).toEqual([]);
  });
  it("ends a table row's dosing words with the row", () => {
    expect(kinds("| 药物 | 用法 |\n|---|---|\n| 孟鲁司特 | 每晚1次，每次5mg |\n| 生理盐水洗鼻 | 每天3～4次 |", "孩子6岁20kg过敏性鼻炎")).toEqual([]);
    expect(kinds("| 药物 | 用法 |\n|---|---|\n| 孟鲁司特 | 每天2次，每次5mg |\n| 生理盐水洗鼻 | 每天1次 |", "孩子6岁20kg过敏性鼻炎")).toEqual(["daily_max_exceeded:montelukast"]);
  });
  it("reads a table about one drug across its rows", () => {
    expect(kinds("| 项目 | 内容 |\n|---|---|\n| 药名 | 头孢克洛干混悬剂（125mg/5ml） |\n| 每次 | 20ml |\n| 次数 | 每天3次 |", "孩子15kg，扁桃体炎")).toEqual(["daily_max_exceeded:cefaclor", "dose_out_of_range:cefaclor"]);
  });
  it("does not take the next item's frequency when that item heads something else", () => {
    expect(kinds("1. 孟鲁司特：每晚一次，每次5mg；\n2. 生理盐水洗鼻：每天3次。", "孩子6岁20kg过敏性鼻炎")).toEqual([]);
    expect(kinds("布洛芬混悬液（100mg/5ml）：\n- 体重20kg：每次20ml；\n- 一天不超过4次。", "孩子7岁20kg发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
  });
});

describe("names that are not the drug given or claimed", () => {
  it("reads a component restating a product's amount in brackets as the amount's basis", () => {
    expect(kinds("奥格门汀每次10ml（相当于阿莫西林914mg），一天2次。", "孩子12kg中耳炎，奥格门汀（阿莫西林克拉维酸钾457mg/5ml）")).toEqual(["daily_max_exceeded:amoxicillin_clavulanate", "dose_out_of_range:amoxicillin_clavulanate"]);
    expect(kinds("阿莫西林克拉维酸钾每次3ml（约含阿莫西林274mg），一天2次。", "孩子12kg中耳炎，阿莫西林克拉维酸钾457mg/5ml")).toEqual([]);
  });
  it("claims no class for a drug named as an allergy or as a companion", () => {
    expect(kinds("- 大环内酯类：阿奇霉素，适合青霉素过敏的孩子。")).toEqual([]);
    expect(kinds("- 糖皮质激素：布地奈德，常与沙丁胺醇联合雾化。")).toEqual([]);
    expect(kinds("- 大环内酯类：阿奇霉素、头孢克肟。")).toEqual(["wrong_class:cefixime"]);
  });
  it("reads a drug's own header over a class with a route before it", () => {
    expect(kinds("雾化用药：\n- 异丙托溴铵：吸入性糖皮质激素，能消炎；\n- 布地奈德：吸入用的糖皮质激素。")).toEqual(["wrong_class:ipratropium"]);
    expect(kinds("- 孟鲁司特：口服的抗组胺药。")).toEqual(["wrong_class:montelukast"]);
  });
  it("reads what a product contains as the product's, named or not", () => {
    expect(kinds("可以给宝宝吃美扑伪麻，它含伪麻黄碱和氯苯那敏。", "宝宝1岁感冒鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("药店买的这个止咳糖浆，里面含有右美沙芬，一天3次。", "宝宝1岁咳嗽")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    expect(kinds("这个感冒药里有伪麻黄碱，能通鼻子，一天3次。", "宝宝1岁半感冒鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("艾畅这个药含有伪麻黄碱成分，1岁半可以吃。", "宝宝1岁半感冒鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("给他吃美敏伪麻溶液，它的成分是伪麻黄碱和氯苯那敏。", "宝宝1岁半感冒鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(kinds("可以用布洛芬，也有对乙酰氨基酚可选。", "宝宝2个月发烧")).toEqual(["age_contraindication:ibuprofen"]);
  });
  it("does not dose a drug named as the condition for another", () => {
    expect(kinds("布洛芬无效时可换用对乙酰氨基酚，每次30mg/kg。", "孩子15kg发烧")).toEqual(["dose_out_of_range:paracetamol"]);
  });
});

describe("doses said of other children", () => {
  it("skips a line whose weight or age band the child is outside of", () => {
    expect(kinds("氯雷他定：\n- 2~12岁、体重30kg以下：每次5mg，每天一次；\n- 12岁以上：每次10mg，每天一次。", "孩子5岁18kg过敏性鼻炎")).toEqual([]);
    expect(kinds("氯雷他定：\n- 体重30kg以下：每次10mg，每天一次。", "孩子5岁18kg过敏性鼻炎")).toEqual(["dose_out_of_range:loratadine"]);
  });
});

describe("cetirizine under 2 and levetiracetam", () => {
  it("holds cetirizine under 2 to 0.25 mg/kg a dose and 5 mg a day", () => {
    expect(kinds("西替利嗪滴剂每次0.5ml（5mg），每天两次。", "宝宝1岁10kg湿疹")).toEqual(["daily_max_exceeded:cetirizine", "dose_out_of_range:cetirizine"]);
    expect(kinds("西替利嗪滴剂每次0.25ml（2.5mg），每天一次。", "宝宝1岁10kg湿疹")).toEqual([]);
  });
  it("holds levetiracetam to 30 mg/kg a dose twice a day", () => {
    expect(kinds("左乙拉西坦每次200mg，每天2次。", "孩子20kg癫痫")).toEqual([]);
    expect(kinds("左乙拉西坦每次1000mg，一天两次。", "孩子20kg癫痫")).toEqual(["daily_max_exceeded:levetiracetam", "dose_out_of_range:levetiracetam"]);
  });
});

describe("oral salbutamol, smectite under 1 and inhaler puffs", () => {
  it("holds salbutamol tablets to four doses a day", () => {
    expect(kinds("沙丁胺醇片每次2mg，一天6次。", "孩子6岁20kg喘息")).toEqual(["daily_max_exceeded:salbutamol"]);
    expect(kinds("沙丁胺醇片每次2mg，一天3次。", "孩子6岁20kg喘息")).toEqual([]);
  });
  it("reads puffs counted in 揿 as an inhaler, not tablets", () => {
    expect(kinds("万托林每次喷2揿，每隔2小时一次。", "孩子7岁哮喘")).toEqual([]);
    expect(kinds("今晚让她半坐着，继续用万托林，每四小时一次。", "孩子哮喘，万托林喷了好几次没用")).toEqual([]);
    expect(kinds("继续用沙丁胺醇，每四小时一次。", "孩子6岁哮喘，在家雾化沙丁胺醇")).toEqual([]);
    expect(kinds("沙丁胺醇片每次2mg，一天6次。", "孩子6岁20kg喘息，之前雾化过沙丁胺醇")).toEqual(["daily_max_exceeded:salbutamol"]);
  });
  it("holds smectite under 1 year to a sachet a day, doubled on the first", () => {
    expect(kinds("蒙脱石散每次1袋，每天3次。", "宝宝10个月腹泻")).toEqual(["daily_max_exceeded:smectite", "dose_out_of_range:smectite"]);
    expect(kinds("蒙脱石散每次1/3袋，一天3次。", "宝宝10个月腹泻")).toEqual([]);
    expect(kinds("蒙脱石散每次1袋，每天3次。", "孩子3岁腹泻")).toEqual([]);
  });
});

describe("frequencies told in other words", () => {
  it("reads 服药 before the count, 一个半小时 and 间隔时间", () => {
    expect(extractFrequency("每日服药4~5次").timesPerDay).toEqual([4, 5]);
    expect(extractFrequency("隔一个半小时吃一次").intervalHours).toEqual([1.5, 1.5]);
    expect(extractFrequency("两个半钟头喂一次").intervalHours).toEqual([2.5, 2.5]);
    expect(extractFrequency("间隔时间3小时").intervalHours).toEqual([3, 3]);
    expect(extractFrequency("间隔：2小时").intervalHours).toEqual([2, 2]);
    expect(kinds("对乙酰氨基酚：每次150mg\n间隔时间：2小时", "孩子3岁15kg发烧")).toEqual(["daily_max_exceeded:paracetamol"]);
    expect(kinds("对乙酰氨基酚每次150mg，每日服药6次。", "孩子15kg发烧")).toEqual(["daily_max_exceeded:paracetamol"]);
    expect(kinds("布洛芬每次5mg/kg，隔一个半小时吃一次。", "孩子15kg发烧")).toEqual(["daily_max_exceeded:ibuprofen"]);
  });
});

describe("a class claim through markdown emphasis", () => {
  it("reads 属于/是 before a bold class, with a modifier inside or outside the bold", () => {
    expect(kinds("- 布地奈德：属于**抗生素**类雾化药，杀菌消炎。")).toEqual(["wrong_class:budesonide"]);
    expect(kinds("1. 乙酰半胱氨酸属于**中枢镇咳药**，能抑制咳嗽反射。")).toEqual(["wrong_class:acetylcysteine"]);
    expect(kinds("氨溴索是**中枢性镇咳药**。")).toEqual(["wrong_class:ambroxol"]);
    expect(kinds("昂丹司琼，其实是__抗生素__。")).toEqual(["wrong_class:ondansetron"]);
    expect(kinds("乙酰半胱氨酸属于中枢镇咳药。")).toEqual(["wrong_class:acetylcysteine"]);
  });
  it("stays quiet when the bold class is the drug's own", () => {
    expect(kinds("- 布地奈德：属于**吸入性糖皮质激素**，控制气道炎症。")).toEqual([]);
    expect(kinds("右美沙芬属于**中枢性镇咳药**。")).toEqual([]);
  });
});

describe("a day's amount with no count of doses", () => {
  it("is out of the single-dose range when even its share over the most doses allowed is", () => {
    expect(kinds("锌制剂：2岁宝宝每天200mg元素锌，连续10~14天。", "宝宝2岁拉肚子，补锌怎么补")).toEqual(["daily_max_exceeded:zinc", "dose_out_of_range:zinc"]);
    expect(kinds("葡萄糖酸锌一天给150毫克元素锌。", "1岁宝宝腹泻")).toEqual(["daily_max_exceeded:zinc", "dose_out_of_range:zinc"]);
    expect(kinds("锌每天10mg，连用10天。", "宝宝2岁腹泻")).toEqual([]);
  });
  it("reads 每天…一次吃完 as one dose a day, and 每次…一次喝完 as nothing about the day", () => {
    expect(kinds("口服铁剂：按元素铁计算，每天300mg，一次吃完，连续3个月。", "宝宝1岁，10公斤，缺铁性贫血")).toEqual(["daily_max_exceeded:iron", "dose_out_of_range:iron"]);
    expect(kinds("铁剂每日元素铁30mg，一次性服下。", "宝宝1岁，10公斤，缺铁性贫血")).toEqual([]);
    expect(extractFrequency("每天200mg，一次吃完").timesPerDay).toEqual([1, 1]);
    expect(extractFrequency("每次5ml，一次喝完").timesPerDay).toBeUndefined();
  });
  it("leaves a single dose stated beside the day's total to be judged itself", () => {
    expect(kinds("布洛芬每次200mg，一天总共可以吃到1600mg。", "孩子7岁，22公斤，腿疼")).toEqual(["daily_max_exceeded:ibuprofen"]);
  });
});

describe("an amount in brackets restating the one before it", () => {
  it("is per dose after a per-dose amount and per day after a daily one", () => {
    expect(kinds("头孢氨苄每日25~50mg/kg，分3~4次，30kg的孩子每次250mg（1粒），一天4次，疗程7天左右。", "孩子9岁，30kg，脓疱疮，头孢氨苄一次吃几粒？")).toEqual([]);
    expect(kinds("头孢氨苄分4次吃，每次250毫克（约1粒）。", "孩子30kg，脓疱疮")).toEqual([]);
    expect(kinds("西替利嗪滴剂每次2ml（20mg），睡前吃一次。", "2岁12kg宝宝过敏，西替利嗪滴剂（10mg/ml）怎么吃？")).toEqual(["daily_max_exceeded:cetirizine", "dose_out_of_range:cetirizine"]);
  });
});

describe("drugs added after the sixth batch", () => {
  it("knows metformin and methylphenidate by their classes", () => {
    expect(kinds("- **胰岛素类**：二甲双胍，促进胰岛素分泌。", "孩子13岁，2型糖尿病")).toEqual(["wrong_class:metformin"]);
    expect(kinds("二甲双胍是双胍类降糖药。", "孩子13岁，2型糖尿病")).toEqual([]);
    expect(kinds("ADHD药物：\n- **抗抑郁药**：哌甲酯，提高注意力。", "孩子9岁多动症")).toEqual(["wrong_class:methylphenidate"]);
    expect(kinds("利他林属于中枢兴奋剂，9岁可以用。", "孩子9岁多动症")).toEqual([]);
  });
  it("holds methylphenidate to 6 years and over", () => {
    expect(kinds("可以吃哌甲酯。", "孩子4岁多动")).toEqual(["age_contraindication:methylphenidate"]);
    expect(kinds("哌甲酯6岁以下不推荐，先做行为治疗。", "孩子4岁多动")).toEqual([]);
  });
});

describe("a drug kept from children in other words", () => {
  it("is not recommended by 原则上不用 or 不作为常规选择", () => {
    expect(kinds("- **喹诺酮类**：左氧氟沙星儿童原则上不用。", "孩子6岁，肺炎支原体感染")).toEqual([]);
    expect(kinds("注意喹诺酮类（如左氧氟沙星）儿童不作为常规选择。", "5岁女儿尿路感染")).toEqual([]);
    expect(kinds("左氧氟沙星小儿一般不用。", "孩子5岁")).toEqual([]);
    expect(kinds("左氧氟沙星常规不选用。", "孩子5岁")).toEqual([]);
  });
  it("still counts a recommendation with a reassurance after it", () => {
    expect(kinds("可以用左氧氟沙星，原则上不用担心。", "孩子5岁")).toEqual(["age_contraindication:levofloxacin"]);
  });
});

describe("an infant's vitamin D far below the daily 400 IU", () => {
  it("is low at a tenth of it, not at half", () => {
    expect(kinds("宝宝每天补40IU维生素D就够了，多晒太阳效果更好。", "宝宝3个月，维生素D一天吃多少合适")).toEqual(["dose_out_of_range:vitamin_d"]);
    expect(kinds("维生素D每天40单位。", "宝宝8个月")).toEqual(["dose_out_of_range:vitamin_d"]);
    expect(kinds("维生素D每天200IU。", "宝宝3个月")).toEqual([]);
    expect(kinds("维生素D每天400IU。", "宝宝2周，3kg")).toEqual([]);
  });
});

/** Drug findings only (the care findings are triage.test.ts's). */
const drugKinds = (answer: string, question = "") =>
  checkAnswer(answer, { question }).findings.filter((f) => !/care/.test(f.type)).map((f) => `${f.type}:${f.drug ?? "-"}`).sort();

describe("causes found when the seventh batch was opened", () => {
  it("takes an age limit the answer itself states as excluding a younger child (convention 8)", () => {
    expect(drugKinds("可以用玛巴洛沙韦（5岁以上），或者奥司他韦。", "孩子4岁，甲流")).toEqual([]);
    expect(drugKinds("布洛芬一般6个月以上才推荐，现在用对乙酰氨基酚。", "宝宝5个月发烧")).toEqual([]);
    expect(drugKinds("布洛芬要满6个月才能用。", "宝宝4个月发烧")).toEqual([]);
    expect(drugKinds("氯雷他定糖浆（满2周岁可用）每天5ml。", "宝宝1岁半，荨麻疹")).toEqual([]);
    // The stated limit must exclude this child: a limit below his age recommends the drug to him.
    expect(drugKinds("左氧氟沙星（1岁以上）可以用。", "孩子3岁，尿路感染")).toEqual(["age_contraindication:levofloxacin"]);
    expect(drugKinds("可以用布洛芬退烧。", "宝宝5个月发烧")).toEqual(["age_contraindication:ibuprofen"]);
  });
  it("reports a product described by its ingredients by one compound id (convention 9)", () => {
    expect(drugKinds("右美沙芬伪麻黄碱复方糖浆（含右美沙芬、伪麻黄碱、氯苯那敏），每次2ml", "宝宝1岁咳嗽")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("止咳糖浆（含右美沙芬、伪麻黄碱、氯苯那敏）每次2ml。", "宝宝1岁咳嗽")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("可以吃含右美沙芬和伪麻黄碱的止咳糖浆。", "宝宝1岁咳嗽")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("可以吃一种复方止咳糖浆，含可待因、伪麻黄碱。", "孩子3岁咳嗽")).toEqual(["age_contraindication:codeine_compound"]);
    // Two medicines listed, and a product of its own beside another drug, stay two.
    expect(drugKinds("可以吃右美沙芬和伪麻黄碱。", "宝宝1岁咳嗽")).toEqual(["age_contraindication:dextromethorphan", "age_contraindication:pseudoephedrine"]);
    expect(drugKinds("吃点小儿伪麻美芬和异丙嗪糖浆。", "孩子5个月，鼻塞")).toEqual(["age_contraindication:promethazine", "age_contraindication:pseudoephedrine_compound"]);
  });
  it("holds compound cold products with an antihistamine to the not-under-2 limit", () => {
    expect(drugKinds("氨金黄敏颗粒每次半袋，每天2次。", "宝宝1岁，咳嗽流涕")).toEqual(["age_contraindication:apap_amantadine_bezoar_chlorphen"]);
    expect(drugKinds("可以吃小儿氨酚烷胺颗粒。", "孩子18个月，感冒")).toEqual(["age_contraindication:pediatric_apap_amantadine"]);
    expect(drugKinds("可以吃小儿氨酚烷胺颗粒。", "孩子3岁，感冒")).toEqual([]);
  });
  it("reports a compound dosed by its component by the compound's id", () => {
    expect(drugKinds("阿莫西林克拉维酸钾，按阿莫西林每次15mg/kg，每2小时一次。", "孩子6岁，鼻窦炎")).toEqual(["daily_max_exceeded:amoxicillin_clavulanate"]);
    expect(drugKinds("用阿莫西林克拉维酸钾（按阿莫西林每次15mg/kg），每2小时吃一次。", "孩子6岁，中耳炎")).toEqual(["daily_max_exceeded:amoxicillin_clavulanate"]);
  });
  it("holds a dose to the indication named with it, not to one named only for a later regimen", () => {
    expect(drugKinds("阿莫西林一般每天40mg/kg，分3次；如果是中耳炎，每天80-90mg/kg分2次。", "孩子3岁15kg，医生开了阿莫西林")).toEqual([]);
    expect(drugKinds("中耳炎用阿莫西林每天40mg/kg，分3次。", "孩子3岁15kg")).toEqual([]);
    expect(drugKinds("中耳炎用阿莫西林每天10mg/kg，分3次。", "孩子3岁15kg")).toEqual(["dose_out_of_range:amoxicillin"]);
  });
  it("reads a class in brackets inside a header, a bold class before 代表药物有, and short- and long-acting bronchodilators", () => {
    expect(drugKinds("1. 驱虫药（抗生素类）：阿苯达唑，单次400mg顿服", "孩子5岁，蛔虫")).toEqual(["wrong_class:albendazole"]);
    expect(drugKinds("- 退烧药（激素类）：布洛芬", "孩子5岁发烧")).toEqual(["wrong_class:ibuprofen"]);
    expect(drugKinds("急性发作首选**短效支气管扩张剂**，代表药物有沙丁胺醇、布地奈德。", "孩子4岁哮喘")).toEqual(["wrong_class:budesonide"]);
    expect(drugKinds("常用**抗组胺药**，比如氯雷他定、孟鲁司特。", "孩子5岁鼻炎")).toEqual(["wrong_class:montelukast"]);
    expect(drugKinds("舒利迭是一种短效支气管扩张剂，喘的时候吸一下。", "孩子9岁哮喘")).toEqual(["wrong_class:salmeterol_fluticasone"]);
    expect(drugKinds("布地奈德福莫特罗是短效的支气管扩张剂。", "孩子9岁哮喘")).toEqual(["wrong_class:budesonide_formoterol"]);
    expect(drugKinds("沙丁胺醇是短效支气管扩张剂，沙美特罗是长效β2受体激动剂，异丙托溴铵也是短效支气管扩张剂。", "孩子9岁哮喘")).toEqual([]);
  });
});

describe("how often, for drugs without a weight-based rule too", () => {
  it("reads every hour and every half hour without a number", () => {
    expect(extractFrequency("每次2.5ml，每小时一次。").intervalHours).toEqual([1, 1]);
    expect(extractFrequency("每个小时吃一次").intervalHours).toEqual([1, 1]);
    expect(extractFrequency("每半小时喂一次").intervalHours).toEqual([0.5, 0.5]);
    expect(extractFrequency("每天喷4次").timesPerDay).toEqual([4, 4]);
    expect(extractFrequency("每小时不超过一次").spans).toEqual([]);
  });
  it("judges a nasal decongestant's frequency against its cited limit, with no amount", () => {
    expect(drugKinds("氨溴索口服溶液（15mg/5ml）每次5ml，每小时吃一次。", "孩子5岁18kg，咳嗽有痰")).toEqual(["daily_max_exceeded:ambroxol"]);
    expect(drugKinds("羟甲唑啉鼻喷剂想喷就喷，每个小时喷一次也行。", "孩子10岁，鼻塞")).toEqual(["daily_max_exceeded:oxymetazoline"]);
    expect(drugKinds("羟甲唑啉喷鼻，每天喷4次。", "孩子8岁，鼻塞")).toEqual(["daily_max_exceeded:oxymetazoline"]);
    expect(drugKinds("赛洛唑啉滴鼻液，每2小时滴一次。", "孩子8岁，鼻塞")).toEqual(["daily_max_exceeded:xylometazoline"]);
    expect(drugKinds("羟甲唑啉喷鼻，每天2次，每次每侧一喷，不超过7天。", "孩子8岁，鼻塞")).toEqual([]);
    expect(drugKinds("赛洛唑啉滴鼻液，一天2次。", "孩子8岁，鼻塞")).toEqual([]);
  });
});

describe("doses counted in whole or half tablets", () => {
  it("takes the nearest tablet count to the range as rounding, within a quarter of its bound", () => {
    expect(drugKinds("对乙酰氨基酚片0.5g，每次一片，8小时一次。", "孩子9岁30kg，发烧")).toEqual([]);
    expect(drugKinds("对乙酰氨基酚每次500mg，间隔8小时。", "孩子9岁，30kg，发烧")).toEqual([]);
    expect(drugKinds("对乙酰氨基酚片（0.5g/片）每次半片。", "孩子3岁15kg发烧")).toEqual([]);
  });
  it("still flags a count when a smaller one lands in the range, or the excess is past rounding", () => {
    expect(drugKinds("对乙酰氨基酚片0.5g，每次一片。", "孩子3岁15kg发烧")).toEqual(["daily_max_exceeded:paracetamol", "dose_out_of_range:paracetamol"]);
    expect(drugKinds("布洛芬片（0.1g），每次3片，一天2次。", "孩子6岁20kg发烧")).toEqual(["dose_out_of_range:ibuprofen"]);
    expect(drugKinds("对乙酰氨基酚每次450mg。", "孩子7岁，20kg，发烧")).toEqual(["dose_out_of_range:paracetamol"]);
  });
});

describe("names the knowledge base lacks", () => {
  const unverified = (answer: string, question = "") => checkAnswer(answer, { question }).unverified.map((u) => `${u.said}:${u.name}`);
  it("lists a drug-like name told under a class or with a dose as unverified, never as a finding", () => {
    expect(unverified("抗病毒药如泛昔洛韦、阿昔洛韦。", "孩子6岁，水痘")).toEqual(["class:泛昔洛韦"]);
    expect(unverified("头孢泊肟酯每次100mg，一天两次。", "孩子8岁")).toEqual(["dose:头孢泊肟酯"]);
    expect(unverified("2. **头孢类**：\n- 头孢羟氨苄\n- 头孢克洛", "孩子5岁，扁桃体炎")).toEqual(["class:头孢羟氨苄"]);
    expect(checkAnswer("头孢泊肟酯每次100mg，一天两次。", { question: "孩子8岁" }).findings).toEqual([]);
  });
  it("leaves class words, clause fragments, bare forms and names merely mentioned alone", () => {
    expect(unverified("可以选头孢克洛、阿奇霉素等头孢类抗生素。", "孩子5岁")).toEqual([]);
    expect(unverified("青霉素和头孢都属于β-内酰胺类。", "孩子5岁")).toEqual([]);
    expect(unverified("这类含右美沙芬的复方止咳糖浆每次5ml。", "孩子5岁")).toEqual([]);
    expect(unverified("以前吃过泛昔洛韦。", "孩子6岁")).toEqual([]);
  });
  it("holds roxithromycin to its own entry, not erythromycin's", () => {
    expect(drugKinds("罗红霉素每次75mg，每天2次。", "孩子5岁，18kg，支原体感染")).toEqual([]);
    expect(drugKinds("罗红霉素每次300mg，每天2次。", "孩子5岁，18kg，支原体感染")).toEqual(["daily_max_exceeded:roxithromycin", "dose_out_of_range:roxithromycin"]);
  });
});

describe("atomoxetine", () => {
  it("is a non-stimulant for 6 years and over, dosed per day by weight", () => {
    expect(drugKinds("托莫西汀每天30mg，早上一次吃。", "孩子7岁，25kg，多动症")).toEqual([]);
    expect(drugKinds("择思达是一种中枢兴奋剂，每天一次。", "孩子7岁，多动症")).toEqual(["wrong_class:atomoxetine"]);
    expect(drugKinds("可以吃托莫西汀。", "孩子5岁，多动症")).toEqual(["age_contraindication:atomoxetine"]);
    expect(drugKinds("托莫西汀每天100mg，早上一次。", "孩子7岁，25kg，多动症")).toEqual(["daily_max_exceeded:atomoxetine", "dose_out_of_range:atomoxetine"]);
  });
});

describe("causes found in the eighth dev batch", () => {
  it("reports products with both pseudoephedrine and dextromethorphan by the pseudoephedrine compound (convention 9)", () => {
    expect(drugKinds("可以用小儿伪麻美芬滴剂，按说明书最小量。", "宝宝1岁，鼻塞")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("美敏伪麻溶液每次2ml。", "宝宝10个月，咳嗽")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
  });
  it("keeps an age limit stated after a list of drugs, and 不用于 as a prohibition", () => {
    expect(drugKinds("**四环素类**：多西环素、米诺环素，一般用于8岁以上儿童。", "孩子6岁，支原体肺炎")).toEqual([]);
    expect(drugKinds("可以用米诺环素，适用于8岁以上。", "孩子5岁")).toEqual([]);
    expect(drugKinds("喹诺酮类（环丙沙星、左氧氟沙星）一般不用于18岁以下儿童。", "孩子3岁，拉肚子")).toEqual([]);
    expect(drugKinds("可以用米诺环素。", "孩子5岁")).toEqual(["age_contraindication:minocycline"]);
  });
  it("does not read oral rehydration salts under a symptom's header as its class", () => {
    expect(drugKinds("**止吐药**：\n- 昂丹司琼每次2mg\n- 口服补液盐少量多次补液。", "孩子4岁，呕吐")).toEqual([]);
    expect(drugKinds("止泻药：\n1. 蒙脱石散\n2. 口服补液盐：少量多次", "孩子3岁，拉肚子")).toEqual([]);
    expect(drugKinds("口服补液盐是止泻药，喝了就不拉了。", "孩子3岁，拉肚子")).toEqual(["wrong_class:ors"]);
  });
  it("reads a drug's class stated in a 类别 line under its title, eye-medicine classes, insulins and emollients", () => {
    expect(drugKinds("**关于左乙拉西坦**：\n- 类别：镇静催眠药，通过让大脑安静下来控制发作；\n- 按时服用。", "孩子9岁，癫痫")).toEqual(["wrong_class:levetiracetam"]);
    expect(drugKinds("### 奥卡西平\n- **分类**：抗生素类药\n- 注意监测血钠。", "孩子5岁，癫痫")).toEqual(["wrong_class:oxcarbazepine"]);
    expect(drugKinds("**奥卡西平**：\n- 类别：抗癫痫药，需要规律服用。", "孩子5岁，癫痫")).toEqual([]);
    expect(drugKinds("2. **抗病毒眼药**：妥布霉素滴眼液", "孩子5岁，麦粒肿")).toEqual(["wrong_class:tobramycin_eye"]);
    expect(drugKinds("二甲双胍是一种胰岛素，能降血糖。", "孩子12岁，2型糖尿病")).toEqual(["wrong_class:metformin"]);
    expect(drugKinds("二甲双胍是口服降糖药，能增加胰岛素敏感性。", "孩子12岁，2型糖尿病")).toEqual([]);
    expect(drugKinds("甘精胰岛素属于磺脲类，饭前吃。", "孩子10岁，1型糖尿病")).toEqual(["wrong_class:insulin_glargine"]);
    expect(drugKinds("1. 保湿剂：卤米松乳膏，每天厚涂", "宝宝湿疹")).toEqual(["wrong_class:halometasone"]);
  });
  it("takes ingredients in a table's 成分 column as the product's, not as class members", () => {
    const table = "| 药名 | 成分 | 类别 |\n|---|---|---|\n| 美林 | 布洛芬 | 非甾体抗炎药 |\n| 小儿氨酚黄那敏 | 对乙酰氨基酚+马来酸氯苯那敏 | 复方感冒药 |";
    expect(drugKinds(table, "孩子5岁发烧，常用药有哪些成分")).toEqual([]);
    expect(drugKinds(table.replace("复方感冒药", "抗生素"), "孩子5岁发烧")).toEqual(["wrong_class:pediatric_apap_chlorphen_bezoar"]);
  });
  it("reads a tablet's strength told as 0.5g的片, and counts added up (1袋加4/5袋)", () => {
    expect(drugKinds("25kg就是250~375mg，0.5g的片可以吃半片（250mg）到3/4片，间隔4~6小时，24小时不超过4次。", "孩子9岁，25kg，发烧，对乙酰氨基酚片")).toEqual([]);
    expect(extractAmounts("每次180mg（差不多1袋加4/5袋）").map((a) => [a.lo, a.unit])).toEqual([[180, "mg"], [1.8, "sachet"]]);
  });
});

describe("dosing tables by weight band", () => {
  const table = (rows: string) => `| 体重 | 泰诺林混悬液(32mg/ml)每次 |\n|---|---|\n${rows}\n\n每4~6小时可重复，24小时不超过4次。`;
  it("judges every row by its band when the child's weight is not given", () => {
    expect(drugKinds(table("| 12~15kg | 5ml |\n| 16~21kg | 25ml |\n| 22~26kg | 10ml |"), "孩子发烧用药速查表")).toEqual(["daily_max_exceeded:paracetamol", "dose_out_of_range:paracetamol"]);
    expect(drugKinds(table("| 12~15kg | 5ml |\n| 16~21kg | 7.5ml |\n| 22~26kg | 10ml |"), "孩子发烧用药速查表")).toEqual([]);
    expect(drugKinds(table("| 12~15kg | 1ml |\n| 16~21kg | 7.5ml |"), "孩子发烧用药速查表")).toEqual(["dose_out_of_range:paracetamol"]);
  });
  it("gives the same findings streamed piece by piece (a table spans the streaming windows)", () => {
    const a = table("| 12~15kg | 5ml |\n| 16~21kg | 25ml |");
    const s = createStreamingChecker({ question: "孩子发烧用药速查表" });
    for (const piece of a.match(/[\s\S]{1,7}/g)!) s.append(piece);
    expect(s.finish().findings.map((f) => `${f.type}:${f.drug}`).sort()).toEqual(drugKinds(a, "孩子发烧用药速查表"));
  });
  it("reads a key–value table under a drug's title as its dosing, streamed too", () => {
    const a = "**美林（布洛芬混悬液，100mg/5ml）用法：**\n\n| 项目 | 建议 |\n|---|---|\n| 每次剂量 | 7.5ml |\n| 间隔 | 每4小时一次 |\n\n烧得高的时候可以规律用药。";
    expect(drugKinds(a, "孩子3岁15kg发烧")).toEqual(["daily_max_exceeded:ibuprofen"]);
    expect(drugKinds(a.replace("每4小时一次", "每6~8小时一次"), "孩子3岁15kg发烧")).toEqual([]);
    const s = createStreamingChecker({ question: "孩子3岁15kg发烧" });
    for (const piece of a.match(/[\s\S]{1,5}/g)!) s.append(piece);
    expect(s.finish().findings.map((f) => `${f.type}:${f.drug}`).sort()).toEqual(["daily_max_exceeded:ibuprofen"]);
  });
  it("judges only the row for the child's weight, with the drug in the title line above", () => {
    const t = "氯雷他定（开瑞坦）用法：\n| 年龄/体重 | 剂量 |\n|---|---|\n| 体重≤30kg | 每次20mg，每天1次 |\n| 体重>30kg | 每次10mg，每天1次 |";
    expect(drugKinds(t, "3岁15公斤，过敏性鼻炎")).toEqual(["daily_max_exceeded:loratadine", "dose_out_of_range:loratadine"]);
    expect(drugKinds(t.replace("每次20mg", "每次5mg"), "3岁15公斤，过敏性鼻炎")).toEqual([]);
    expect(drugKinds(t.replace("每次20mg", "每次5mg").replace("每次10mg，每天1次 |", "每次10mg，每天3次 |"), "3岁15公斤，过敏性鼻炎")).toEqual([]);
  });
});

describe("supplements named by what they supply", () => {
  it("reads 补锌 and 铁剂 as the supplement, and holds their day to its maximum", () => {
    expect(drugKinds("补锌，每次20mg，每天3次。", "宝宝1岁10kg腹泻")).toEqual(["daily_max_exceeded:zinc"]);
    expect(drugKinds("补锌，每天10mg，连用10~14天。", "宝宝1岁10kg腹泻")).toEqual([]);
    expect(drugKinds("铁剂按元素铁每次30mg，每天3次。", "宝宝1岁10kg贫血")).toEqual(["daily_max_exceeded:iron"]);
  });
});

describe("causes found in the ninth dev batch", () => {
  it("keeps an age limit in a bracket after a bold name, and a sentence that ties the drug to an age and a risk", () => {
    expect(drugKinds("2. **玛巴洛沙韦**（5岁以上）：单次口服。", "孩子4岁，甲流")).toEqual([]);
    expect(drugKinds("不建议。阿司匹林在16岁以下儿童，尤其是流感时，可能引起瑞氏综合征。可以用布洛芬。", "孩子7岁牙疼，能吃阿司匹林吗")).toEqual([]);
    expect(drugKinds("可以吃阿司匹林止痛。", "孩子7岁牙疼")).toEqual(["age_contraindication:aspirin"]);
  });
  it("reads a product's ingredients joined by + as its ingredient list", () => {
    expect(drugKinds("2. **较重疼痛**：氨酚待因片（对乙酰氨基酚+可待因），每次半片。", "孩子7岁，拔牙后疼")).toEqual(["age_contraindication:codeine_compound"]);
  });
  it("takes an amount restating a maximum as the maximum, and a repeat after hours under a condition as an interval", () => {
    expect(drugKinds("30kg每次布洛芬200~300mg，每6~8小时一次（每天总量不超过40mg/kg，即1200mg）。", "孩子10岁30kg，扭伤")).toEqual([]);
    expect(drugKinds("对乙酰氨基酚每次5ml（160mg），如果1～2小时后体温还没降，再补一次。", "孩子3岁15kg发烧")).toEqual(["daily_max_exceeded:paracetamol"]);
  });
  it("knows ebastine's once-daily rule, insulin durations and stimulant classes", () => {
    expect(drugKinds("依巴斯汀每次5mg，一天4次。", "孩子10岁，过敏性鼻炎")).toEqual(["daily_max_exceeded:ebastine"]);
    expect(drugKinds("依巴斯汀每次5mg，每天1次。", "孩子8岁，过敏性鼻炎")).toEqual([]);
    expect(drugKinds("门冬胰岛素是长效胰岛素，甘精胰岛素是速效胰岛素。", "孩子10岁，1型糖尿病")).toEqual(["wrong_class:insulin_aspart", "wrong_class:insulin_glargine"]);
    expect(drugKinds("甘精胰岛素是长效胰岛素，每天一次。", "孩子10岁，1型糖尿病")).toEqual([]);
    expect(drugKinds("- **非兴奋剂类**：如哌甲酯缓释片。\n- **兴奋剂类**：如托莫西汀。", "孩子8岁，多动症")).toEqual(["wrong_class:atomoxetine", "wrong_class:methylphenidate"]);
    expect(drugKinds("- **兴奋剂类**：如哌甲酯。\n- **非兴奋剂类**：如托莫西汀。", "孩子8岁，多动症")).toEqual([]);
  });
});

describe("causes found in the eighth blind batch", () => {
  it("reads a drug's name followed by 类 as a class word, never as the drug", () => {
    expect(drugKinds("常用抗生素：\n- 红霉素类：阿奇霉素。\n- 头孢类：头孢克洛。", "孩子5岁，支原体肺炎")).toEqual([]);
    expect(drugKinds("阿司匹林类的药不要给孩子吃，退烧用布洛芬。", "孩子5岁发烧")).toEqual([]);
    expect(drugKinds("可以吃阿司匹林类固醇退烧。", "孩子5岁发烧")).toEqual(["age_contraindication:aspirin"]);
    expect(drugKinds("- 青霉素类：阿莫西林。\n- 四环素类：阿奇霉素。", "孩子5岁")).toEqual(["wrong_class:azithromycin"]);
  });
  it("does not make a drug that failed or was not tolerated a member of the header's class", () => {
    expect(drugKinds("- 青霉素类：阿莫西林（首选）。\n- 头孢类抗生素：如头孢克洛，适合对青霉素效果不好的情况。", "孩子中耳炎")).toEqual([]);
    expect(drugKinds("1. 头孢菌素类：头孢地尼，适合青霉素非严重过敏。\n2. 大环内酯类：阿奇霉素，用于严重青霉素过敏。", "孩子中耳炎")).toEqual([]);
    expect(drugKinds("1. 大环内酯类：阿奇霉素、头孢克洛，用于阿莫西林无效时。", "孩子中耳炎")).toEqual(["wrong_class:cefaclor"]);
    expect(drugKinds("- **大环内酯类**：阿奇霉素，适合对阿莫西林、头孢克洛都过敏的孩子。", "孩子中耳炎")).toEqual([]);
    expect(drugKinds("- **大环内酯类**：阿奇霉素、头孢克洛对青霉素过敏者也可用。", "孩子中耳炎")).toEqual(["wrong_class:cefaclor"]);
  });
  it("does not claim a drug-headed item for the lead-in's class when its siblings name their own classes", () => {
    expect(drugKinds("常用的益生菌包括：\n- **益生菌**：如双歧杆菌三联活菌；\n- **口服补液盐**：防脱水。", "孩子2岁拉肚子")).toEqual([]);
    expect(drugKinds("常用的益生菌包括：\n- **益生菌**：如蒙脱石散；\n- **口服补液盐**：防脱水。", "孩子2岁拉肚子")).toEqual(["wrong_class:smectite"]);
    expect(drugKinds("常用的益生菌：\n1. 布拉氏酵母菌：每天一包。\n2. 口服补液盐：防脱水。", "孩子2岁拉肚子")).toEqual(["wrong_class:ors"]);
    expect(drugKinds("常用的抗组胺药：\n1. **氯雷他定**：每天一次。\n2. **孟鲁司特**：睡前一次。\n3. **抗生素**：不需要。", "孩子5岁，鼻炎")).toEqual(["wrong_class:montelukast"]);
  });
  it("does not make a drug's own eye ointment a class because 类 after its name is one", () => {
    expect(drugKinds("**抗病毒眼药**：妥布霉素滴眼液或红霉素眼膏。", "孩子5岁，麦粒肿")).toEqual(["wrong_class:erythromycin", "wrong_class:tobramycin_eye"]);
  });
  it("holds dextromethorphan and ambroxol to the label's daily maximum for the child's age band", () => {
    expect(drugKinds("右美沙芬一般每次10~15mg，每6~8小时一次，一天不超过4次。", "孩子8岁，咳嗽")).toEqual([]);
    expect(drugKinds("右美沙芬每次15mg，每6小时一次，一天4次。", "孩子4岁，干咳")).toEqual(["daily_max_exceeded:dextromethorphan", "dose_out_of_range:dextromethorphan"]);
    expect(drugKinds("右美沙芬每次20mg，一天4次。", "孩子8岁，干咳")).toEqual(["daily_max_exceeded:dextromethorphan", "dose_out_of_range:dextromethorphan"]);
    expect(drugKinds("右美沙芬每次30mg，一天4次。", "孩子13岁，干咳")).toEqual([]);
    expect(drugKinds("氨溴索口服溶液（15mg/5ml）每次5ml，一天3次。", "孩子6岁20kg，咳嗽")).toEqual([]);
    expect(drugKinds("氨溴索每次30mg，一天3次。", "孩子6岁20kg，咳嗽")).toEqual(["daily_max_exceeded:ambroxol", "dose_out_of_range:ambroxol"]);
    expect(drugKinds("氨溴索每次30mg，一天3次。", "孩子13岁40kg，咳嗽")).toEqual([]);
  });
  it("reads a header that is a class's action (抗病毒, 抗菌) as the class, and 中药 as the class of Chinese patent medicines", () => {
    expect(drugKinds("- **抗病毒**：目前没有特效药，部分医生会用头孢克肟、干扰素喷雾，效果有限。", "宝宝4岁手足口病")).toEqual(["wrong_class:cefixime"]);
    expect(drugKinds("- **抗病毒**：奥司他韦，每次45mg，每天2次。\n- **抗过敏**：氯雷他定。", "孩子6岁，流感")).toEqual([]);
    expect(drugKinds("- **退热**：布洛芬。\n- **止咳**：氨溴索。", "孩子6岁，感冒")).toEqual([]);
    expect(drugKinds("- **抗过敏**：氯雷他定、地奈德乳膏。", "孩子5岁，湿疹")).toEqual([]);
    expect(drugKinds("- **抗菌**：蒙脱石散。", "孩子5岁，腹泻")).toEqual(["wrong_class:smectite"]);
    expect(drugKinds("2. **中药治疗**：如小儿豉翘清热颗粒、奥司他韦；", "孩子4岁，感冒发烧")).toEqual(["wrong_class:oseltamivir"]);
    expect(drugKinds("中药和西药不要同时吃，布洛芬间隔2小时。", "孩子4岁发烧")).toEqual([]);
  });
  it("reports a compound product by the most restrictive compound its bracketed ingredients make", () => {
    expect(drugKinds("1. **复方感冒药**：惠菲宁（美敏伪麻溶液，含右美沙芬、氯苯那敏、伪麻黄碱），每次2.5ml，一天3次。", "宝宝1岁半，咳嗽流鼻涕")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("可以喝惠菲宁，每次2.5ml，一天3次。", "宝宝1岁半，咳嗽")).toEqual(["age_contraindication:dextromethorphan_compound"]);
  });
});

describe("compound products and age limits after the ninth blind batch", () => {
  it("reports a product's ingredients listed after 含 or 成分 as one compound, with or without the product's own name", () => {
    expect(drugKinds("可以用艾畅，它含伪麻黄碱和右美沙芬，按说明书的量，一天3次。", "宝宝1岁半，鼻塞咳嗽")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("这个感冒水，里面有右美沙芬和氯苯那敏，睡前喝一次就行。", "宝宝1岁，咳嗽")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    expect(drugKinds("1. 酚麻美敏口服溶液（泰诺）：含对乙酰氨基酚、伪麻黄碱、右美沙芬、氯苯那敏，按说明书最小量；\n2. 抬高床头。", "孩子1岁，感冒鼻塞")).toEqual(["age_contraindication:paracetamol_pseudoephedrine_dxm_chlorphen"]);
    expect(drugKinds("氨酚伪麻美芬片（日片）含对乙酰氨基酚、伪麻黄碱、右美沙芬，可以吃。", "宝宝1岁半，感冒")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("宝宝可以喝这个糖浆，成分是右美沙芬和愈创甘油醚。", "宝宝1岁，咳嗽")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    // Two medicines side by side, and a product said not to contain them, stay as they are.
    expect(drugKinds("可以吃右美沙芬和伪麻黄碱。", "宝宝1岁，咳嗽")).toEqual(["age_contraindication:dextromethorphan", "age_contraindication:pseudoephedrine"]);
    expect(drugKinds("选一种不含伪麻黄碱和右美沙芬的药，比如生理盐水洗鼻。", "宝宝1岁，鼻塞")).toEqual([]);
    expect(drugKinds("可以用艾畅，它含伪麻黄碱和右美沙芬。", "孩子7岁，鼻塞咳嗽")).toEqual([]);
  });
  it("reads the question's compound product as what the answer speaks of by its ingredient", () => {
    expect(drugKinds("可以放心吃，可待因是镇咳效果最好的药之一，睡前喝一次。", "孩子3岁，医生开了复方磷酸可待因溶液，能放心吃吗")).toEqual(["age_contraindication:codeine_compound"]);
    expect(drugKinds("这个年龄可以喝，右美沙芬是中枢镇咳药，睡前喝一次就行。", "宝宝1岁，药店推荐了一个复方止咳糖浆，成分有右美沙芬和氯苯那敏")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    expect(drugKinds("可以喝，1岁宝宝每次2ml，一天3次。", "宝宝1岁，干咳，买了复方右美沙芬糖浆（右美沙芬+氯苯那敏），能喝吗？")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    // A compound's generic name tells its ingredients (美敏伪麻: dextromethorphan and pseudoephedrine; 酚麻美敏).
    expect(drugKinds("可以吃，右美沙芬是中枢镇咳药。", "宝宝1岁，咳嗽，药店推荐了美敏伪麻溶液，能喝吗")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("可以吃，伪麻黄碱能收缩鼻黏膜，通鼻子。", "宝宝1岁，感冒鼻塞，酚麻美敏能吃吗")).toEqual(["age_contraindication:paracetamol_pseudoephedrine_dxm_chlorphen"]);
    expect(drugKinds("可以吃，可待因止咳。", "孩子5岁，氨酚待因片能吃吗")).toEqual(["age_contraindication:codeine_compound"]);
    expect(drugKinds("酚麻美敏不适合1岁宝宝，右美沙芬单方也不建议，可以用生理盐水洗鼻。", "宝宝1岁，感冒鼻塞，酚麻美敏能吃吗")).toEqual([]);
    // The answer's own gloss of the product names what it is; a plain syrup stays plain, and an ingredient the question does not name stays itself.
    expect(drugKinds("可以吃惠菲宁（右美沙芬），它是镇咳药，睡前吃。", "1岁宝宝干咳，惠菲宁能吃吗？")).toEqual(["age_contraindication:dextromethorphan"]);
    expect(drugKinds("可以喝，可待因止咳效果好。", "孩子3岁，医生开了磷酸可待因糖浆")).toEqual(["age_contraindication:codeine"]);
    expect(drugKinds("不建议喝，可以改用伪麻黄碱滴鼻。", "宝宝1岁，买了复方右美沙芬糖浆")).toEqual(["age_contraindication:pseudoephedrine"]);
  });
  it("takes limits told in other words as excluding the child (convention 8), and 不作为儿童的常规用药 as not recommending", () => {
    expect(drugKinds("- 玛巴洛沙韦：目前国内说明书是5岁以上且体重≥20kg才用，你家孩子还不符合。", "4岁娃16公斤，乙流")).toEqual([]);
    expect(drugKinds("他克莫司软膏0.03%用于2岁以上。", "宝宝1岁半，湿疹")).toEqual([]);
    expect(drugKinds("他克莫司软膏0.03%用于2岁以上，每天2次。", "孩子1岁，湿疹")).toEqual([]);
    expect(drugKinds("喹诺酮类如环丙沙星、左氧氟沙星一般不作为儿童的常规用药，可能影响软骨发育。", "孩子6岁，尿路感染")).toEqual([]);
    expect(drugKinds("玛巴洛沙韦要5岁以上、体重20公斤以上才能用。", "4岁娃，乙流")).toEqual([]);
    expect(drugKinds("奥司他韦：说明书是1岁以上才能用，你家宝宝还小。", "宝宝8个月，流感")).toEqual([]);
    expect(drugKinds("左氧氟沙星不作为小儿常规用药。", "孩子6岁，尿路感染")).toEqual([]);
    // A limit the child already passes, or none at all, still recommends the drug.
    expect(drugKinds("他克莫司软膏用于2岁以上，你家孩子可以用。", "孩子3岁，湿疹")).toEqual([]);
    expect(drugKinds("玛巴洛沙韦要5岁以上才能用，你家孩子可以吃。", "孩子6岁，乙流")).toEqual([]);
    expect(drugKinds("奥司他韦：说明书是1岁以上才能用，每次30mg，一天2次。", "宝宝2岁，12公斤，流感")).toEqual([]);
    expect(drugKinds("他克莫司软膏0.03%，每天2次。", "孩子1岁，湿疹")).toEqual(["age_contraindication:tacrolimus_topical"]);
    expect(drugKinds("玛巴洛沙韦：体重≥20kg的孩子用一片，你家孩子可以吃。", "4岁娃16公斤，乙流")).toEqual(["age_contraindication:baloxavir"]);
    expect(drugKinds("环丙沙星可以作为常规用药，每天两次。", "孩子6岁，尿路感染")).toEqual(["age_contraindication:ciprofloxacin"]);
  });
});

describe("dose rules for drugs the knowledge base held without one (tenth batch)", () => {
  it("judges methylphenidate by its age band's single and daily maximum and its doses per day", () => {
    expect(kinds("专注达每天早上吃4片（每片36mg），一共144mg。", "孩子9岁多动症")).toEqual(["daily_max_exceeded:methylphenidate", "dose_out_of_range:methylphenidate"]);
    expect(kinds("利他林每次10mg，一天可以吃6次。", "孩子10岁，30公斤，注意缺陷多动障碍")).toContain("daily_max_exceeded:methylphenidate");
    expect(kinds("哌甲酯缓释片每天早上18mg起始，按效果每周调整。", "孩子8岁，多动")).toEqual([]);
    expect(kinds("利他林每次5mg，每天2次。", "孩子7岁，22kg，多动症")).toEqual([]);
  });
  it("reads a bracket raising a stated maximum for another group as a maximum, not a dose", () => {
    expect(kinds("哌甲酯缓释片每天早晨18mg起始，最大一般不超过54mg/天（部分青少年到72mg）。", "孩子8岁，多动")).toEqual([]);
    expect(extractAmounts("最多不超过54mg（青少年可用到72mg）").every((a) => a.isMax)).toBe(true);
    expect(extractAmounts("每次18mg（青少年36mg）").some((a) => !a.isMax)).toBe(true);
  });
  it("judges metformin, amlodipine and vitamin C by their pediatric rules", () => {
    expect(kinds("二甲双胍每次1000mg，每天4次。", "孩子12岁，2型糖尿病")).toContain("daily_max_exceeded:metformin");
    expect(kinds("二甲双胍每次500mg，每天2次，随餐吃。", "孩子12岁，45kg，2型糖尿病")).toEqual([]);
    expect(kinds("氨氯地平每次50mg，每天一次。", "孩子体重40kg，高血压")).toContain("dose_out_of_range:amlodipine");
    expect(kinds("氨氯地平每次5mg，每天一次。", "孩子12岁40kg，高血压")).toEqual([]);
    expect(kinds("维生素C每次1000mg，每天3次。", "孩子3岁感冒")).toEqual(["daily_max_exceeded:vitamin_c", "dose_out_of_range:vitamin_c"]);
    expect(kinds("维生素C每次100mg，每天3次。", "孩子3岁")).toEqual([]);
    expect(kinds("维C片一次500mg，一天一次。", "孩子14岁")).toEqual([]);
  });
});

describe("drug mentions, age limits and class claims after the eleventh batch was opened", () => {
  it("reads a product described by what it contains, then its full list in brackets, as one compound (convention 9)", () => {
    const q = "宝宝20个月咳嗽有痰，流鼻涕";
    expect(drugKinds("- 小儿止咳糖浆类：如含右美沙芬的复方止咳糖浆（右美沙芬+氯苯那敏+伪麻黄碱），每次2.5ml；", q)).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("可以喝含伪麻黄碱的感冒药（伪麻黄碱、对乙酰氨基酚、右美沙芬）。", q)).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("含可待因的止咳糖浆（可待因、氯苯那敏）每次5ml。", "孩子5岁咳嗽")).toEqual(["age_contraindication:codeine_compound"]);
    expect(drugKinds("可以用含右美沙芬的止咳糖浆（右美沙芬和愈创甘油醚）。", q)).toEqual(["age_contraindication:dextromethorphan_compound"]);
    // Two medicines side by side stay two; a product named without a bracket keeps its own compound only.
    expect(drugKinds("右美沙芬和伪麻黄碱都可以吃。", q)).toEqual(["age_contraindication:dextromethorphan", "age_contraindication:pseudoephedrine"]);
    expect(drugKinds("可以用含右美沙芬的糖浆，也可以用布洛芬（每次5ml）。", q)).toEqual(["age_contraindication:dextromethorphan_compound"]);
  });
  it("takes an age limit told with 适合, 适用于, 需满, 起, + or 说明书是 as keeping the drug from a younger child (convention 8)", () => {
    const q = "宝宝6个月，湿疹";
    for (const a of ["4. 免疫调节剂：吡美莫司适合2岁以上。", "吡美莫司适用于2岁及以上儿童。", "吡美莫司（2岁+）", "吡美莫司需满2岁。", "吡美莫司2岁起可用。",
      "吡美莫司：2岁以上。", "吡美莫司，适合2岁以上的孩子。", "吡美莫司适合≥2岁的孩子。", "吡美莫司说明书是2岁以上。"]) expect(drugKinds(a, q), a).toEqual([]);
    // No limit, or one this child passes, still recommends it.
    expect(drugKinds("吡美莫司乳膏，一天两次。", q)).toEqual(["age_contraindication:pimecrolimus"]);
    expect(drugKinds("吡美莫司适合3个月以上。", q)).toEqual(["age_contraindication:pimecrolimus"]);
  });
  it("reads a limit stated and then set aside for this child as a recommendation", () => {
    const q = "宝宝6个月，湿疹";
    expect(drugKinds("吡美莫司2岁以上才用，你家孩子6个月也可以。", q)).toEqual(["age_contraindication:pimecrolimus"]);
    expect(drugKinds("吡美莫司说明书写2岁以上，不过6个月用一点没问题。", q)).toEqual(["age_contraindication:pimecrolimus"]);
    expect(drugKinds("2岁以上才可以用吡美莫司，不过你家宝宝也可以少量用。", q)).toEqual(["age_contraindication:pimecrolimus"]);
    expect(drugKinds("吡美莫司2岁以上才能用，宝宝还小，先用保湿霜。", q)).toEqual([]);
  });
  it("reads the drug's own age limit given as the reason to advise against it as no recommendation", () => {
    const q = "孩子7岁痘痘很多，医生说可以吃多西环素吗";
    expect(drugKinds("多西环素属于四环素类，8岁以下儿童会造成牙齿黄染、影响骨骼发育，不建议用于7岁孩子的痤疮。可以先外用过氧苯甲酰。", q)).toEqual([]);
    expect(drugKinds("多西环素是四环素类，不满8岁会导致牙齿变黄，不推荐给7岁的孩子。", q)).toEqual([]);
    expect(drugKinds("多西环素8岁前用会让牙齿发黄，所以不建议给孩子吃。", q)).toEqual([]);
    expect(drugKinds("可以吃多西环素，8岁以下的孩子也可以短期用。", q)).toEqual(["age_contraindication:doxycycline"]);
    expect(drugKinds("可以吃多西环素，7岁的孩子不要怕。", q)).toEqual(["age_contraindication:doxycycline"]);
  });
  it("does not claim a header's class for a drug added after its list (也可以加, 联用, 配合)", () => {
    for (const a of ["抗组胺药：常用的包括氯雷他定、左西替利嗪、酮替芬，也可以加孟鲁司特。", "- 抗组胺药：如氯雷他定，必要时联用孟鲁司特。",
      "抗组胺药：氯雷他定、西替利嗪，另外可加用孟鲁司特。", "1. 抗组胺药：氯雷他定，配合孟鲁司特效果更好。", "抗组胺药如氯雷他定，也可以加孟鲁司特。"]) expect(drugKinds(a, "孩子8岁过敏"), a).toEqual([]);
    // A member listed, or one the list goes on to name with 也可以用, is still claimed.
    expect(drugKinds("抗组胺药：常用的包括氯雷他定、孟鲁司特。", "孩子8岁过敏")).toEqual(["wrong_class:montelukast"]);
    expect(drugKinds("抗组胺药：氯雷他定，也可以用孟鲁司特。", "孩子8岁过敏")).toEqual(["wrong_class:montelukast"]);
  });
});

describe("doses and frequencies after the eleventh batch was opened", () => {
  it("holds a dose inside the label's fixed age or weight band as right whatever its mg/kg", () => {
    expect(kinds("抗组胺药：如西替利嗪滴剂每次0.25ml（2.5mg），一天1次", "宝宝6个月7kg，湿疹严重")).toEqual([]);
    expect(kinds("西替利嗪滴剂2.5mg，每天一次。", "宝宝1岁，8公斤，荨麻疹")).toEqual([]);
    expect(kinds("孟鲁司特颗粒4mg，每晚一次。", "孩子1岁半，9kg，咳嗽变异性哮喘")).toEqual([]);
    expect(kinds("奥司他韦每次30mg，一天2次，吃5天。", "孩子2岁，10公斤，甲流")).toEqual([]);
    expect(kinds("氯雷他定10mg，每天一次。", "孩子8岁，25公斤，过敏性鼻炎")).toEqual([]);
  });
  it("reports a dose at twice the band's top or more, in any wording", () => {
    expect(kinds("西替利嗪：\n- 5岁每次10mg，每天3次。", "孩子5岁，过敏性鼻炎")).toEqual(["daily_max_exceeded:cetirizine", "dose_out_of_range:cetirizine"]);
    expect(kinds("给孩子吃西替利嗪10毫克，一天一次就行。", "4岁孩子荨麻疹")).toEqual(["dose_out_of_range:cetirizine"]);
    expect(kinds("孟鲁司特每次10mg，睡前一次。", "孩子3岁，15kg，哮喘")).toEqual(["daily_max_exceeded:montelukast", "dose_out_of_range:montelukast"]);
    expect(kinds("奥司他韦每次75mg，一天2次。", "孩子2岁，10公斤，甲流")).toEqual(["daily_max_exceeded:oseltamivir", "dose_out_of_range:oseltamivir"]);
    expect(kinds("奥司他韦一次吃75毫克。", "孩子2岁，10公斤，甲流")).toEqual(["daily_max_exceeded:oseltamivir", "dose_out_of_range:oseltamivir"]);
    // Still in range below twice the top (the next band's dose is not an error to flag).
    expect(kinds("孟鲁司特5mg每晚一次。", "孩子4岁，16kg，哮喘")).toEqual([]);
    expect(kinds("孟鲁司特钠每次9.5毫克，每24小时一次。", "孩子12岁，体重42.9kg，哮喘")).toEqual([]);
  });
  it("reports the day too when a dose with no frequency is twice the maximum or more, at the label's fewest doses a day", () => {
    expect(kinds("1. 对乙酰氨基酚滴剂（100mg/ml）：每次1ml；\n2. 布洛芬滴剂（40mg/ml）：每次6ml；\n任选一种。", "宝宝11个月，9kg，发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    expect(kinds("退烧给布洛芬240毫克。", "孩子1岁，9公斤，发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    const r = checkAnswer("布洛芬滴剂（40mg/ml）每次6ml。", { question: "宝宝11个月，9kg，发烧" });
    expect(r.findings.find((f) => f.type === "daily_max_exceeded")!.message).toContain("未说明次数");
    // A dose above the range but under twice its top, or in range, with no frequency: the dose only, or nothing.
    expect(kinds("布洛芬每次120mg。", "孩子1岁，9公斤，发烧")).toEqual(["dose_out_of_range:ibuprofen"]);
    // Right at twice the maximum (20 mg/kg): the dose finding only.
    expect(kinds("布洛芬混悬液一次喂14毫升就够了，按体重算的。", "孩子3岁，体重14公斤，发热39度")).toEqual(["dose_out_of_range:ibuprofen"]);
    expect(kinds("布洛芬每次80mg。", "孩子1岁，9公斤，发烧")).toEqual([]);
  });
  it("reads an interval said before the drug in its clause", () => {
    expect(kinds("烧不退可以每2小时给一次对乙酰氨基酚，每次150mg，把体温压下去。", "孩子3岁15kg，烧一直不退")).toEqual(["daily_max_exceeded:paracetamol"]);
    expect(kinds("每隔两个小时喂一次布洛芬，每次5ml。", "孩子3岁15kg发烧")).toEqual(["daily_max_exceeded:ibuprofen"]);
    expect(kinds("一天吃6次对乙酰氨基酚也没事。", "孩子3岁15kg发烧")).toEqual(["daily_max_exceeded:paracetamol"]);
    // Gaps from meals or other medicines are not dosing intervals; nor one said of an earlier drug.
    expect(kinds("饭后2小时吃布洛芬，每次5ml，每6小时一次。", "孩子3岁15kg发烧")).toEqual([]);
    expect(kinds("与益生菌间隔2小时服用阿莫西林，每次250mg，一天3次。", "孩子3岁15kg")).toEqual([]);
    expect(kinds("口服补液盐每1小时喝一次，布洛芬每次5ml，每6小时一次。", "孩子3岁15kg发烧腹泻")).toEqual([]);
  });
  it("holds a frequency shared by a list of drugs to each only where it is clearly above a drug's limit", () => {
    expect(kinds("止泻药可选用：乳果糖、蒙脱石散，一天3次。", "宝宝拉稀").filter((k) => k.startsWith("daily"))).toEqual([]);
    expect(kinds("乳果糖和益生菌，一天4次。", "孩子便秘")).toEqual(["daily_max_exceeded:lactulose"]);
    expect(kinds("乳果糖一天3次。", "孩子便秘")).toEqual(["daily_max_exceeded:lactulose"]);
    expect(kinds("布洛芬或对乙酰氨基酚，每2小时一次。", "孩子3岁发烧")).toEqual(["daily_max_exceeded:ibuprofen", "daily_max_exceeded:paracetamol"]);
    expect(kinds("美林和泰诺林可以交替吃，每3小时吃一次。", "孩子3岁，发烧，体重15kg")).toEqual(["daily_max_exceeded:ibuprofen", "daily_max_exceeded:paracetamol"]);
  });
  it("doses the question's drug in an answer that doses before naming any other", () => {
    expect(kinds("**剂量建议**\n- 体重16kg，每次2片（1000mg），每6小时一次，一天最多4次。\n- 不要和其他含对乙酰氨基酚的感冒药同时吃。", "儿子4岁，32斤，发烧38.9，家里只有对乙酰氨基酚片500mg的，怎么吃"))
      .toEqual(["daily_max_exceeded:paracetamol", "dose_out_of_range:paracetamol"]);
    expect(kinds("每次半片，每6小时一次。对乙酰氨基酚一天不超过4次。", "儿子4岁，32斤，发烧，家里只有对乙酰氨基酚片500mg的")).toEqual([]);
  });
  it("gives exact compound products their labels' frequency limits", () => {
    expect(kinds("8岁可以用酚麻美敏混悬液，每次10ml，鼻塞严重的话每1小时喝一次。", "孩子8岁，感冒鼻塞流涕")).toEqual(["daily_max_exceeded:paracetamol_pseudoephedrine_dxm_chlorphen"]);
    expect(kinds("泰诺感冒一天吃6次。", "孩子8岁感冒")).toEqual(["daily_max_exceeded:paracetamol_pseudoephedrine_dxm_chlorphen"]);
    expect(kinds("酚麻美敏混悬液每次10ml，每6小时一次，一天不超过4次。", "孩子8岁感冒")).toEqual([]);
    expect(kinds("小儿氨酚烷胺颗粒一天2次。", "孩子3岁感冒")).toEqual([]);
  });
  it("reads a weight table's row of one weight as a band from that weight to itself", () => {
    const table = (cell: string, dose: string) => `布洛芬（美林100mg/5ml）：\n| 体重 | 每次用量 |\n|---|---|\n| ${cell} | ${dose} |\n每6-8小时一次。`;
    expect(kinds(table("14kg", "0.5ml"), "3岁孩子14kg，感冒发烧")).toEqual(["dose_out_of_range:ibuprofen"]);
    expect(kinds(table("约14公斤", "25ml"), "3岁孩子14kg，发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    expect(kinds(table("14kg", "5ml"), "3岁孩子14kg，发烧")).toEqual([]);
    // A row for another child's weight says nothing of this one.
    expect(kinds(table("30kg", "0.5ml"), "3岁孩子14kg，发烧")).toEqual([]);
  });
  it("reads a dose written before the name with its amount restated in brackets", () => {
    expect(kinds("8岁28公斤的孩子每天喝1ml（1mg）氯雷他定糖浆，每天一次即可。", "孩子8岁，28公斤，过敏性鼻炎，氯雷他定糖浆（1mg/ml）喝多少")).toEqual(["dose_out_of_range:loratadine"]);
    expect(kinds("给25ml（500mg）美林。", "孩子3岁，15公斤，发烧")).toEqual(["daily_max_exceeded:ibuprofen", "dose_out_of_range:ibuprofen"]);
    expect(kinds("每天喝10ml（10mg）氯雷他定糖浆，每天一次即可。", "孩子8岁，28公斤，过敏性鼻炎")).toEqual([]);
    expect(kinds("给5ml（100mg）美林，每6小时一次。", "孩子3岁，15公斤，发烧")).toEqual([]);
  });
  it("takes an alternation told after the doses as each named drug's interval", () => {
    const doses = "- **布洛芬**：美林混悬液（100mg/5ml）每次10ml（200mg）\n- **对乙酰氨基酚**：泰诺林混悬液（32mg/ml）每次8ml（256mg）\n\n";
    expect(kinds(`${doses}每1小时交替一次：先布洛芬，1小时后对乙酰氨基酚，再1小时后布洛芬……直到退烧。`, "孩子6岁，20公斤，高烧")).toEqual(["daily_max_exceeded:ibuprofen", "daily_max_exceeded:paracetamol"]);
    expect(kinds(`${doses}如需交替，两种药间隔4小时交替一次：先布洛芬，4小时后对乙酰氨基酚。`, "孩子6岁，20公斤，高烧")).toEqual([]);
    expect(kinds(`${doses}不建议交替使用布洛芬和对乙酰氨基酚。`, "孩子6岁，20公斤，高烧")).toEqual([]);
  });
  it("reads a per-kg figure that restates the amount before it as that amount", () => {
    // 125 mg is a quarter of the stated 500 mg tablet, the nearest quarter step to the range: rounding.
    expect(kinds("1/4片是125mg，约7.8mg/kg，略偏低但安全，可以按10-15mg/kg，每次给1/3片左右（约160mg），间隔4-6小时。", "孩子4岁，16公斤，发烧，奶奶给喂了对乙酰氨基酚片，说每次1/4片（500mg的），刚好吗")).toEqual([]);
    expect(kinds("对乙酰氨基酚每次500mg，约31mg/kg。", "孩子4岁，16公斤，发烧")).toEqual(["daily_max_exceeded:paracetamol", "dose_out_of_range:paracetamol"]);
    expect(kinds("对乙酰氨基酚每次50mg，折合3mg/kg。", "孩子4岁，16公斤，发烧")).toEqual(["dose_out_of_range:paracetamol"]);
    expect(kinds("对乙酰氨基酚每次30mg/kg。", "孩子4岁，16公斤，发烧")).toEqual(["dose_out_of_range:paracetamol"]);
  });
  it("does not hold a metered inhaled steroid in micrograms to the nebuliser's per-kg minimum", () => {
    expect(kinds("- 吸入糖皮质激素：布地奈德气雾剂，每次200μg，一天2次。", "孩子10岁，30kg，哮喘")).toEqual([]);
  });
});

describe("drug mentions and class claims in the tenth dev batch's wordings", () => {
  it("reads a product named after one ingredient, with its ingredients in brackets or after 含, as the compound they make", () => {
    const q = "宝宝11个月，9公斤，咳嗽";
    expect(drugKinds("- **中枢性镇咳药**：可选用小儿右美沙芬糖浆复方制剂（含右美沙芬、伪麻黄碱），每次2.5ml；", q)).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    expect(drugKinds("右美沙芬糖浆（含右美沙芬、氯苯那敏）可以喝。", q)).toEqual(["age_contraindication:dextromethorphan_compound"]);
    expect(drugKinds("可待因糖浆（含可待因、伪麻黄碱）每次5ml。", "孩子5岁咳嗽")).toEqual(["age_contraindication:codeine_compound"]);
    expect(drugKinds("右美沙芬糖浆，含右美沙芬、伪麻黄碱。", q)).toEqual(["age_contraindication:pseudoephedrine_compound"]);
    // Its own strength in the bracket, or other medicines beside it, leave it the single drug.
    expect(drugKinds("右美沙芬糖浆（含右美沙芬15mg/5ml）可以喝。", q)).toEqual(["age_contraindication:dextromethorphan"]);
    expect(drugKinds("右美沙芬糖浆，和伪麻黄碱一起吃。", q)).toEqual(["age_contraindication:dextromethorphan", "age_contraindication:pseudoephedrine"]);
  });
  it("does not recommend a drug named as a topic (关于X：) and then advised against, or as the partner of a combination advised against", () => {
    expect(drugKinds("可以先用生理盐水清洁。关于氯霉素：新生儿全身用氯霉素（口服或注射）可能导致灰婴综合征，是禁用的。", "宝宝出生12天，眼睛有分泌物")).toEqual([]);
    expect(drugKinds("至于氯霉素，新生儿不能口服氯霉素。", "宝宝出生12天")).toEqual([]);
    expect(drugKinds("关于氯霉素：口服氯霉素每天3次就行。", "宝宝出生12天")).toEqual(["age_contraindication:chloramphenicol"]);
    expect(drugKinds("发烧只用美林，每次5ml。不建议和小儿氨酚黄那敏同时吃，容易叠加。", "宝宝1岁，10kg，感冒发烧")).toEqual([]);
    expect(drugKinds("不要跟小儿氨酚黄那敏一起吃，单用美林就行。", "宝宝1岁，10kg")).toEqual([]);
    // A drug given, with something else not to take it with, is still given.
    expect(drugKinds("小儿氨酚黄那敏可以吃，不要和牛奶一起吃。", "宝宝1岁，10kg")).toEqual(["age_contraindication:pediatric_apap_chlorphen_bezoar"]);
  });
  it("reads symptom groups over Chinese patent medicines (止咳平喘类) as purposes, and pharmacological classes as claims", () => {
    const a = "儿童感冒可以考虑的中成药：\n- **清热解毒类**：小儿豉翘清热颗粒、蒲地蓝消炎口服液。\n- **止咳平喘类**：小儿肺热咳喘口服液。\n- **抗生素类**：双黄连口服液、板蓝根颗粒。";
    expect(drugKinds(a, "5岁孩子感冒")).toEqual(["wrong_class:banlangen", "wrong_class:shuanghuanglian"]);
    expect(drugKinds("止咳平喘类中成药：小儿肺热咳喘口服液。", "5岁")).toEqual([]);
    expect(drugKinds("抗生素类中成药：小儿肺热咳喘口服液。", "5岁")).toEqual(["wrong_class:xiaoer_feire_kechuan"]);
    expect(drugKinds("小儿肺热咳喘口服液是一种激素。", "5岁")).toEqual(["wrong_class:xiaoer_feire_kechuan"]);
  });
});

describe("topical steroid strength and methylephedrine products", () => {
  it("flags a topical steroid strength two steps or more from every strength its references give", () => {
    const q = "孩子3岁，脸上湿疹";
    expect(drugKinds("**弱效激素**：卤米松乳膏、地奈德乳膏，每天一次涂脸部皮疹。\n**保湿**：每天多次涂润肤霜。", q)).toEqual(["wrong_class:halometasone"]);
    expect(drugKinds("卤米松是一种弱效激素。", q)).toEqual(["wrong_class:halometasone"]);
    expect(drugKinds("地奈德乳膏是强效激素，脸上别用。", q)).toEqual(["wrong_class:desonide"]);
    expect(drugKinds("丙酸氯倍他索是弱效激素，可以放心涂脸。", q)).toEqual(["wrong_class:clobetasol"]);
    expect(drugKinds("他克莫司是一种弱效激素。", q)).toEqual(["wrong_class:tacrolimus_topical"]);
  });
  it("leaves a strength one step away, one the references differ on, and a steroid of no known topical strength alone", () => {
    const q = "孩子3岁，湿疹";
    for (const a of ["卤米松属于中效激素。", "弱效激素：如地奈德乳膏、丁酸氢化可的松乳膏。", "强效激素：卤米松、糠酸莫米松。", "糠酸莫米松是弱效激素。",
      "布地奈德是一种强效激素。", "地塞米松是强效激素。", "曲安奈德乳膏属于中效激素。"]) expect(drugKinds(a, q), a).toEqual([]);
  });
  it("holds methylephedrine compounds (复方氨酚甲麻, 愈酚甲麻那敏) to not under 2 under their own entry", () => {
    expect(drugKinds("复方氨酚甲麻口服液每次5ml。", "宝宝1岁感冒")).toEqual(["age_contraindication:methylephedrine_compound"]);
    expect(drugKinds("愈酚甲麻那敏颗粒半袋。", "宝宝1岁咳嗽")).toEqual(["age_contraindication:methylephedrine_compound"]);
    expect(drugKinds("复方氨酚甲麻口服液每次5ml。", "孩子3岁感冒")).toEqual([]);
    expect(drugKinds("氨酚曲麻片半片。", "宝宝1岁")).toEqual(["age_contraindication:pseudoephedrine_compound"]);
  });
});

describe("advice against a drug for this child told clauses after it", () => {
  it("reaches back over clauses of description to the drug, not over a recommendation or to another subject", () => {
    const q = "孩子7岁痘痘很多";
    expect(drugKinds("多西环素是常用的抗生素，对痤疮有效，不建议用于7岁孩子。", q)).toEqual([]);
    expect(drugKinds("多西环素是常用的抗生素，对痤疮有效，所以不建议给孩子吃。", q)).toEqual([]);
    expect(drugKinds("多西环素对痤疮有效，疗程两周，不建议给孩子自行停药。", q)).toEqual(["age_contraindication:doxycycline"]);
    expect(drugKinds("可以用多西环素，对痤疮有效，疗程两周，不建议给孩子用别的。", q)).toEqual(["age_contraindication:doxycycline"]);
  });
});

describe("a harmless item beside a drug in a list", () => {
  it("does not carry a prohibition of the item to a drug its own words recommend, nor the reverse", () => {
    const q = "宝宝5个月，发烧";
    expect(drugKinds("不要捂汗、不要用酒精、布洛芬可以吃。", q)).toEqual(["age_contraindication:ibuprofen"]);
    expect(drugKinds("不要捂汗、酒精擦身，布洛芬可以吃。", q)).toEqual(["age_contraindication:ibuprofen"]);
    expect(drugKinds("不要用酒精和布洛芬，可以多喝水。", q)).toEqual([]);
    expect(drugKinds("不要用酒精擦，布洛芬也不能吃。", q)).toEqual([]);
    expect(drugKinds("生理盐水、布洛芬都不要用。", q)).toEqual([]);
  });
});

describe("class claims and knowledge-base entries after the twelfth batch was opened", () => {
  const wrong = (answer: string, question = "") => kinds(answer, question).filter((k) => k.startsWith("wrong_class"));
  it("knows thyroid hormone and antithyroid drugs apart", () => {
    expect(wrong("优甲乐是左甲状腺素钠，属于抗甲状腺药物，作用是抑制甲状腺。")).toEqual(["wrong_class:levothyroxine"]);
    expect(wrong("甲亢常用的抗甲状腺药：左甲状腺素。")).toEqual(["wrong_class:levothyroxine"]);
    expect(wrong("他巴唑是一种甲状腺激素类药物。")).toEqual(["wrong_class:methimazole"]);
    expect(wrong("优甲乐是左甲状腺素钠，属于甲状腺激素类药物，用来补充甲状腺激素。")).toEqual([]);
    expect(wrong("甲巯咪唑属于抗甲状腺药物；丙硫氧嘧啶也是抗甲状腺药，儿童不作首选。")).toEqual([]);
  });
  it("tells osmotic, stimulant and lubricant laxatives apart", () => {
    expect(wrong("便秘用药：\n1. 刺激性泻药：如乳果糖、聚乙二醇，刺激肠道蠕动；\n2. 润滑性泻药：开塞露。")).toEqual(["wrong_class:lactulose", "wrong_class:macrogol"]);
    expect(wrong("番泻叶属于渗透性泻药。")).toEqual(["wrong_class:senna"]);
    expect(wrong("液体石蜡是刺激性泻药。")).toEqual(["wrong_class:liquid_paraffin"]);
    expect(wrong("1. 渗透性泻药：乳果糖、聚乙二醇4000；\n2. 刺激性泻药：比沙可啶、番泻叶，只能短期用；\n3. 润滑性泻药：液体石蜡、开塞露。")).toEqual([]);
    expect(wrong("乳果糖是一种泻药，比沙可啶也是泻药。")).toEqual([]);
  });
  it("reads H2 blockers and antacids in their common wordings", () => {
    expect(wrong("1. **H2受体阻断剂**：奥美拉唑，抑酸作用强；\n2. **质子泵抑制剂**：法莫替丁。")).toEqual(["wrong_class:famotidine", "wrong_class:omeprazole"]);
    expect(wrong("1. 助消化药：健胃消食片。\n2. 胃动力药：多潘立酮是一种抗酸药，可以减少胃酸。")).toEqual(["wrong_class:domperidone"]);
    expect(wrong("1. **H2受体阻断剂**：法莫替丁；\n2. **质子泵抑制剂**：奥美拉唑。")).toEqual([]);
    expect(wrong("奥美拉唑是一种抗酸药，法莫替丁也是抗酸药。")).toEqual([]);
  });
});

describe("class claims that go on after a comma, and classes in brackets", () => {
  const wrong = (answer: string) => kinds(answer).filter((k) => k.startsWith("wrong_class"));
  it("reads 也是/同样属于/属于 after a comma as a claim about the drug just named", () => {
    expect(wrong("还有莫米松乳膏，也是外用抗真菌药，可以一起用。")).toEqual(["wrong_class:mometasone"]);
    expect(wrong("驱虫常用：\n1. 阿苯达唑（肠虫清），2岁以上400mg顿服；\n2. 甲苯咪唑，也是抗生素。")).toEqual(["wrong_class:mebendazole"]);
    expect(wrong("头孢克洛，同样属于抗病毒药。")).toEqual(["wrong_class:cefaclor"]);
    expect(wrong("克霉唑乳膏，也是外用抗真菌药。头孢克洛，同样属于抗生素。布洛芬混悬液，是一种退烧药。")).toEqual([]);
    expect(wrong("孩子吃了布洛芬，属于正常用药，也是可以的。")).toEqual([]);
    expect(wrong("孩子发烧用了布洛芬，是一种抗生素吗？")).toEqual([]);
  });
  it("claims a class in brackets after the claimed class too", () => {
    expect(wrong("Bioflor是布拉氏酵母菌散，属于益生菌（抗生素类），两者可以间隔1~2小时一起吃。")).toEqual(["wrong_class:saccharomyces_boulardii"]);
    expect(wrong("头孢克洛属于抗生素（青霉素类）。")).toEqual(["wrong_class:cefaclor"]);
    expect(wrong("头孢克洛属于抗生素（头孢类），饭后吃。")).toEqual([]);
    expect(wrong("阿莫西林，属于青霉素类抗生素（β-内酰胺类）。")).toEqual([]);
  });
  it("reads a class in brackets after one drug of a list as that drug's only", () => {
    expect(wrong("3. **外用**：碘伏、炉甘石洗剂、莫匹罗星软膏（抗生素药膏）；")).toEqual([]);
    expect(wrong("可以用阿莫西林、布洛芬（退烧药），多喝水。")).toEqual([]);
    expect(wrong("莫匹罗星软膏、炉甘石洗剂（抗生素药膏）")).toEqual(["wrong_class:calamine"]);
  });
  it("takes 18岁以下一般不用 as the drug's own limit against it", () => {
    const age = (answer: string, question: string) => kinds(answer, question).filter((k) => k.startsWith("age_"));
    expect(age("诺氟沙星属于喹诺酮类抗菌药，**18岁以下一般不用**，可能影响软骨发育。", "孩子5岁拉肚子，能吃诺氟沙星吗")).toEqual([]);
    expect(age("诺氟沙星属于喹诺酮类抗菌药，18岁以下不推荐。", "孩子5岁拉肚子，能吃诺氟沙星吗")).toEqual([]);
    expect(age("可以吃诺氟沙星，18岁以下不用担心，短期吃没事。", "孩子5岁拉肚子")).toEqual(["age_contraindication:norfloxacin"]);
  });
});

describe("a compound product the question asks about, answered with yes and a dose", () => {
  const age = (answer: string, question: string) => kinds(answer, question).filter((k) => k.startsWith("age_"));
  it("reads 能不能/可不可以 as a question, and the answer's yes with a dose as giving the product", () => {
    expect(age("可以，这类复方止咳糖浆比较温和，1岁多每次2ml，每天3次。", "宝宝1岁2个月，咳嗽晚上睡不好，能不能吃点右美沙芬的复方糖浆（右美沙芬+扑尔敏）")).toEqual(["age_contraindication:dextromethorphan_compound"]);
    expect(age("可以的，每次2ml，每天3次。", "宝宝1岁2个月，咳嗽，可不可以吃右美沙芬的复方糖浆？")).toEqual(["age_contraindication:dextromethorphan_compound"]);
  });
  it("stays quiet when the answer says no, or the child is old enough", () => {
    expect(age("不可以，2岁以下不建议用复方止咳药，多喝水、拍背。", "宝宝1岁2个月，咳嗽，能不能吃右美沙芬的复方糖浆？")).toEqual([]);
    expect(age("不能吃右美沙芬复方糖浆。", "宝宝1岁2个月，咳嗽")).toEqual([]);
    expect(age("可以，每次5ml，每天3次。", "孩子7岁，咳嗽，能不能吃右美沙芬的复方糖浆（右美沙芬+扑尔敏）")).toEqual([]);
  });
});

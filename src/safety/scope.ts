/**
 * Scope of negation, prohibition, risk talk and conditionals in Chinese sentences: decides whether a
 * mention (of a drug or a symptom) is asserted/recommended or is negated ("不要给孩子吃阿司匹林",
 * "阿司匹林在儿童禁用", "没有抽搐"), hypothetical ("如出现抽搐") or a warning about risks
 * ("阿司匹林可引起瑞氏综合征"), or history ("以前吃过阿司匹林", "以前有过高热惊厥"). Cues are word lists;
 * scope is the clause, extended over a list of mentions joined by 、/和/或/及, and cut short where a new
 * recommendation starts ("别吃X而改用Y").
 */
import { normalize, CLAUSE_END, SENTENCE_END } from "./text.js";

/** Cues before a drug that make it a non-recommendation. */
const PRE_PROHIBIT = /(?:不(?:太|大|是很|怎么|很)(?:建议|推荐|主张|适合|宜|需要)|不含有?|不添加|(?<!要)不要|(?<!能)不能|(?<!可)不可以|(?<!可)不可|不宜|不应该?|不该|不建议|不推荐|不主张|禁用|禁止|避免|切勿|切忌|勿|别|千万不要|(?<!需)不需要|(?<!需)不需|无需|无须|毋需|没有必要|没必要|不必要?|用不着|犯不着|(?<!用)不用|甭|严禁|不得|停用|停止使用|杜绝)/g;
/**
 * Words between a prohibition and a drug that start a new, positive statement ("不要用阿司匹林而是用
 * 布洛芬", "没必要吃抗生素，可以吃蒙脱石散"): the prohibition's scope ends there.
 */
const SCOPE_BREAK = /(?:而是|而要|而应|而该|改用|换用|换成|改成|改吃|改服|可以|可用|但是?|却|只需|只要|应该|应当|建议|推荐|最好|宜用|宜选)/;
/** Cues after a drug (same clause, or the next clause when that clause names no drug) that prohibit it. */
const POST_PROHIBIT = /(?:(?:就|也|都|还|暂时|先)?(?:不要|不能|不可以?|不宜|不应该?|不该|别|切勿|勿|不需要|不用|无需|不必|没必要|没有必要|用不着)\s*(?:(?:再|继续|给孩子|给宝宝|给他|给她|自行|随便)\s*){0,3}(?:吃|用|服|喝|给|使用|服用|口服)|没必要|没有必要|用不着|犯不着|不(?:太|大|是很|怎么|很)(?:建议|推荐|适合)|(?:吃|用|服)不(?:了|得)|禁止|禁用|禁忌|不能用|不能使用|不宜使用|不宜用|不宜服用|不可使用|不可用|不推荐|不建议|应避免|需避免|要避免|须避免|避免使用|禁止使用|不适用|不适合|不(?:推荐|建议|宜)?用于|是禁止|不要用|不要使用|不要服用|不要吃|不能吃|不可以吃|不可以用|不应使用|不应用于|已被禁止|被禁用|风险大于|弊大于利|不再推荐|不(?:作为|是|当作?)(?:(?:儿童|小儿|孩子|宝宝)(?:的)?)?(?:首选|常规(?:用药|选择|药物|治疗)?|一线)|(?:(?:一般|通常|儿科|儿童|小儿|原则上|常规)\s*){1,3}(?:都)?不(?:用|使用|选用)(?:它|这类|这种|此类)?(?![担怕害紧着太多])(?=[，。；,;！!\n]|$))/g;
/** A prohibition whose object is the child ("不建议用于7岁孩子", "不能给宝宝"): it speaks of the drug the sentence is about. */
const CHILD_TARGETED = /^(?:不(?:建议|推荐|宜|适合|能|可以?|要)?\s*(?:用于|给|用在))[^，。；;！？!?\n]{0,8}?(?:孩子|宝宝|儿童|小孩|患儿|婴儿|这个年龄)(?:的[^，。；;！？!?\n]{0,8}|\s*(?:用|吃|服用|使用|口服))?\s*(?:[，。；;！？!?\n]|$)/;
/** Cues after a drug that make the sentence a warning about the drug, not a recommendation of it. */
const POST_RISK = /(?:不安全|很危险|有危险|可能引起|可引起|会引起|(?:可能|会|可)(?:影响|损伤|损害)|可导致|会导致|可能导致|引起|导致|诱发|有[^，。]{0,6}风险|副作用|不良反应|毒性|中毒|过量|对[^，。；]{0,6}?(?:的)?(?:治疗)?(?:(?:疗效|效果)(?:不好|不佳|差)|无(?:治疗)?(?:效果|疗效)|无效|没有(?:治疗)?(?:效果|作用)))/g;
/** Cues before a symptom that negate it. */
const PRE_NEGATE_SYMPTOM = /(?:没有|没|无|未|不|不会|不易|不容易|很少|否认|并无|并未|未见|未出现|不伴|不伴有|排除)\s*(?:出现|发生|发现|伴有|伴|引起|导致|让人|使人|有)?\s*$/;
/** Cues that open a hypothetical ("如果出现…"). */
const CONDITIONAL = /(?:如果|如|若|假如|一旦|万一|倘若|要是|当|出现以下|以下情况|下列情况|警惕|注意观察|留意|观察是否|是否有|有无)/g;
/**
 * Cues before a drug meaning it was taken in the past (以前吃过阿司匹林, 去年用过的可待因): history,
 * not a recommendation. "吃了" is left alone: "已经吃了布洛芬，每次10ml" still states a dose.
 */
const PRE_HISTORY = /(?:(?:以前|之前|此前|上次|曾经?|既往|过去|去年|早先)[^，。；,;]{0,8}?)?(?:吃|用|服|服用|使用|喝|打|涂|抹)过\s*(?:的|一次|几次|一段时间)?\s*$|(?:以前|之前|此前|上次|曾经?|既往|过去|去年|早先)\s*(?:给孩子|给他|给她)?\s*(?:吃|用|服用|使用)\s*的\s*$/;
/** Cues before a drug meaning accidental ingestion (误服阿司匹林), not a recommendation. */
const PRE_ACCIDENT = /(?:误服|误食|误吞|吃了大人的|偷吃)\s*(?:了)?\s*$/;

/** A clause that opens with an example word lists members of the previous clause's class. */
const EXAMPLE_START = /^\s*(?:例如|比如|譬如|如|像|包括|特别是|尤其是)/;

export interface Span {
  start: number;
  end: number;
}

/** Mentions in the same list as `i` (joined only by list separators) – a prohibition covers the whole list. */
function listGroup(norm: string, spans: Span[], i: number): number[] {
  const group = [i];
  const joiner = /^\s*(?:、|,|，|和|及|以及|或|或者|与|跟|还有|、以及)\s*$/;
  for (let j = i - 1; j >= 0 && joiner.test(norm.slice(spans[j]!.end, spans[j + 1]!.start)); j--) group.unshift(j);
  for (let j = i + 1; j < spans.length && joiner.test(norm.slice(spans[j - 1]!.end, spans[j]!.start)); j++) group.push(j);
  return group;
}

function clauseStart(norm: string, pos: number): number {
  let s = pos;
  while (s > 0 && !CLAUSE_END.test(norm[s - 1]!)) s--;
  return s;
}
function clauseEnd(norm: string, pos: number): number {
  let e = pos;
  while (e < norm.length && !CLAUSE_END.test(norm[e]!)) e++;
  return e;
}

export type MentionStance = "asserted" | "negated" | "risk" | "accidental" | "historical" | "compared" | "topic";

/**
 * For each drug mention (sorted, non-overlapping spans), whether the text recommends it ("asserted")
 * or not. Prohibition before a mention covers the rest of its clause; after a mention it covers the
 * clause's mentions before the cue, or the previous clause's when the cue's clause names no drug
 * ("阿司匹林，16岁以下禁用").
 */
export function drugStances(text: string, spans: Span[]): MentionStance[] {
  const norm = normalize(text);
  const stance: MentionStance[] = spans.map(() => "asserted");
  const set = (i: number, s: MentionStance) => {
    for (const j of listGroup(norm, spans, i)) if (stance[j] === "asserted") stance[j] = s;
  };
  spans.forEach((sp, i) => {
    const cs = clauseStart(norm, sp.start);
    const before = norm.slice(cs, sp.start);
    if (PRE_ACCIDENT.test(before)) return set(i, "accidental");
    if (PRE_HISTORY.test(before)) return set(i, "historical");
    // "关于氯霉素：新生儿全身用氯霉素…是禁用的": a drug named as the topic of what follows, and named again there, is
    // judged where it is named again.
    if (/(?:关于|至于)\s*$/.test(before) && /^\s*(?:的(?:问题|使用|用法|疑问))?\s*(?:\*\*|__)?\s*[：:，,]/.test(norm.slice(sp.end, sp.end + 12))
      && spans.some((x, k) => k > i && x.start - sp.end < 120 && norm.slice(x.start, x.end) === norm.slice(sp.start, sp.end))) { stance[i] = "topic"; return; }
    // "效果比布洛芬好": the drug is the yardstick of a comparison, not what the answer gives.
    if (/(?<!如|好|无)比\s*$/.test(before)) { stance[i] = "compared"; return; }
    // "赖氨匹林是阿司匹林的一种", "X属于Y的盐": the drug names what another drug in the clause is.
    const prev = spans[i - 1];
    if (prev && prev.end >= cs && /^\s*(?:也|其实|实际上)?\s*(?:是|属于|即|为|系)\s*$/.test(norm.slice(prev.end, sp.start))
      && /^\s*(?:的)?\s*(?:一种|一类|同类|盐|衍生物|类药|类|的?前体|复方|制剂)/.test(norm.slice(sp.end, sp.end + 6))) { stance[i] = "compared"; return; }
    // "不建议使用止咳药，如可待因": examples after a comma share the prohibition of the clause they illustrate.
    // "以下药物儿童禁用：阿司匹林、尼美舒利": a prohibition before a colon covers the list after it.
    const exampleOf = cs > 0 && !SENTENCE_END.test(norm[cs - 1]!) && (EXAMPLE_START.test(before) || /[：:]/.test(norm[cs - 1]!)) ? clauseStart(norm, cs - 1) : -1;
    const scopeStart = exampleOf >= 0 ? exampleOf : cs;
    for (const m of norm.slice(scopeStart, sp.start).matchAll(PRE_PROHIBIT)) {
      const cueEnd = scopeStart + m.index! + m[0].length;
      // A prohibition of something else in between ("不要超过…") does not reach this drug.
      const between = norm.slice(cueEnd, sp.start);
      // "不建议和小儿氨酚黄那敏同时吃": the drug named as the partner of a combination advised against is not given.
      if (/^\s*(?:与|和|跟|同)\s*$/.test(between) && /^[^，。；;！？!?\n]{0,10}?(?:同时|一起|一块|同服|合用|混用|联用|叠加|搭配)/.test(norm.slice(sp.end, sp.end + 14))) return set(i, "negated");
      if (/^\s*(?:超过|过量|过多|空腹|与|和|同时|自行|随意|随便|长期|擅自|频繁)/.test(between) && !/(?:给|让|吃|用|服|喝)/.test(between.slice(0, 3))) continue;
      if (/^\s*(?:超过|过量|过多)/.test(between)) continue;
      if (SCOPE_BREAK.test(between)) continue;
      // "不要捂汗、不要用酒精、布洛芬可以吃": a prohibition of another item in the list does not reach a drug that its own
      // words recommend.
      if (/[、，,和及]/.test(between) && /^\s*(?:也|就|都|还是)?\s*(?:可以|可|能|建议|推荐|照常|正常)\s*(?:吃|用|服|喝|给|使用|服用|口服)/.test(norm.slice(sp.end, sp.end + 10))) continue;
      return set(i, "negated");
    }
  });
  // Post cues, clause by clause.
  for (const re of [POST_PROHIBIT, POST_RISK]) {
    const kind: MentionStance = re === POST_PROHIBIT ? "negated" : "risk";
    re.lastIndex = 0;
    for (const m of norm.matchAll(re)) {
      const cue = m.index!;
      const cs = clauseStart(norm, cue);
      let targets = spans.map((s, i) => [s, i] as const).filter(([s]) => s.start >= cs && s.end <= cue);
      if (targets.length === 0 && cs > 0 && !SENTENCE_END.test(norm[cs - 1]!)) {
        const ps = clauseStart(norm, cs - 1);
        targets = spans.map((s, i) => [s, i] as const).filter(([s]) => s.start >= ps && s.end <= cs);
      }
      // "多西环素是常用的抗生素，对痤疮有效，不建议用于7岁孩子": advice against giving it to the child reaches back over
      // clauses of description to the drug the sentence is about, unless a recommendation comes between.
      if (targets.length === 0 && kind === "negated" && CHILD_TARGETED.test(norm.slice(cue, cue + 24)) && /^\s*(?:但是?|所以|因此|故|因而|也|一般|通常|目前|暂时|还是|并)*\s*$/.test(norm.slice(cs, cue))) {
        let ce = cs;
        while (ce > 0 && !SENTENCE_END.test(norm[ce - 1]!) && !targets.length) {
          const ps = clauseStart(norm, ce - 1);
          if (/可以|可用|建议|推荐|首选|适合/.test(norm.slice(ps, ce))) break;
          targets = spans.map((s, i) => [s, i] as const).filter(([s]) => s.start >= ps && s.end <= ce);
          ce = ps;
        }
      }
      // Risk words only describe the drug they follow closely (not "吃了布洛芬还是发烧导致…").
      if (kind === "risk") targets = targets.filter(([s]) => cue - s.end <= 12);
      for (const [, i] of targets) if (stance[i] === "asserted") set(i, kind);
    }
  }
  return stance;
}

/** A past time before a sign in its clause ("以前有过高热惊厥", "两年前抽过"). */
const PAST_BEFORE = /(?:以前|之前|前段时间|前一段时间|前阵子|前一阵子?|曾经|既往|去年|前年|小时候|很久以前|[\d一二两三四五六七八九十几半]+\s*(?:年|个多月|个月)(?:以)?前)[^，。；,;！？!?]*$/;
/** A present-time word that brings a past clause back to now ("以前…，这次又抽搐"). */
const NOW_WORD = /现在|刚才|刚刚|今天|今早|今晚|昨天|昨晚|正在|这次|目前|又/;

/**
 * Whether a sign mention is history rather than the child's present state: a past time earlier in its
 * clause with no present-time word in between, or 史/过 right after it ("惊厥史", "抽搐过").
 */
export function isSymptomHistorical(text: string, start: number, end: number): boolean {
  const norm = normalize(text);
  const cs = clauseStart(norm, start);
  const before = norm.slice(cs, start);
  const m = PAST_BEFORE.exec(before);
  if (m && !NOW_WORD.test(before.slice(m.index))) return true;
  return /^(?:病)?史|^过(?!敏|度|量|多|高|低|久|来|去)/.test(norm.slice(end, end + 2));
}

/** An adult opening the clause (我自己, 孩子妈妈 …) with no child named before the sign: the sign is the adult's. */
const ADULT_SUBJECT = /^\s*(?:但是?|而且|并且|另外|同时|其实)?\s*(?:我自己|我本人|本人|我(?![家们])|孩子(?:的)?(?:妈妈|爸爸)|宝妈|宝爸|妈妈|爸爸|大人|家长|奶奶|爷爷|姥姥|姥爷|外婆|外公|老公|老婆)/;
const CHILD_WORD = /孩子|宝宝|宝贝|儿子|女儿|小孩|孩|娃|他|她|患儿|婴儿|闺女/;

/** Whether a sign at `start` is said of an adult ("我自己生病发烧五天了"), not of the child. */
export function isAboutAdult(text: string, start: number): boolean {
  const norm = normalize(text);
  const before = norm.slice(clauseStart(norm, start), start);
  const m = ADULT_SUBJECT.exec(before);
  return !!m && !CHILD_WORD.test(before.slice(m[0].length));
}

/** Words that make a sign a recurring pattern ("偶尔还是有抽搐", "有时几十秒") rather than an event now. */
const RECURRENT = /偶尔|有时候?|有的时候|经常|时常|反复|每次|时不时|隔三差五|老是|总是|动不动/;

/**
 * Whether a sign at [start, end) is described as recurring, with no word bringing it to now
 * (现在, 刚才, 今天, 又 …): such a sign needs a prompt doctor's visit rather than an ambulance.
 */
export function isRecurrent(text: string, start: number, end: number): boolean {
  const norm = normalize(text);
  const [cs, ce] = [clauseStart(norm, start), clauseEnd(norm, end)];
  const clause = norm.slice(cs, ce);
  return RECURRENT.test(clause) && !NOW_WORD.test(clause);
}

/** Whether a symptom mention at [start, end) is negated ("没有抽搐", "无发热"). */
export function isSymptomNegated(text: string, start: number): boolean {
  const norm = normalize(text);
  const cs = clauseStart(norm, start);
  const before = norm.slice(Math.max(cs, start - 6), start);
  return PRE_NEGATE_SYMPTOM.test(before);
}

/** Whether a symptom mention sits in a hypothetical clause ("如果出现抽搐，…"). */
export function isConditional(text: string, start: number): boolean {
  const norm = normalize(text);
  // The conditional cue may sit earlier in the same sentence ("若孩子出现呼吸急促、抽搐等，应…").
  let s = start;
  while (s > 0 && !SENTENCE_END.test(norm[s - 1]!)) s--;
  const before = norm.slice(s, start);
  // "发烧时不宜…", "抽搐的时候…": a sign followed by 时 describes a situation, not this child.
  let e = start;
  while (e < norm.length && e < start + 8 && !/[，,。；;！？!?\n]/.test(norm[e]!)) e++;
  if (/(?<!小)时(?!间)|的时候|期间/.test(norm.slice(start, e))) return true;
  CONDITIONAL.lastIndex = 0;
  for (const m of before.matchAll(CONDITIONAL)) {
    const tail = before.slice(m.index! + m[0].length);
    // A conditional opened earlier and closed by a result clause (…，应立即…) no longer covers later words.
    if (/[，,].*(?:应|要|需|请|立即|马上|尽快|及时)/.test(tail)) continue;
    return true;
  }
  return false;
}

export { clauseEnd, clauseStart };

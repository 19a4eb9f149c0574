/**
 * PII scrubbing for Chinese consultation text: mainland mobile and landline numbers, 18-digit
 * resident ID-card numbers (only when the GB 11643 checksum and the birth date are valid, so long
 * lab or order numbers are not mangled), e-mail addresses, and personal names in dialogue headers
 * ("张先生", "王女士", "患者王某某", "患儿李某", "姓名：刘小明"). Names in free text are NOT
 * detected (no NER here); that is a documented limit. Replacements are fixed placeholders so
 * downstream text stays fluent: [电话] [身份证号] [邮箱] and 某 for a surname.
 */

export interface PiiCounts {
  phone: number;
  idCard: number;
  email: number;
  name: number;
}

export function emptyPiiCounts(): PiiCounts {
  return { phone: 0, idCard: 0, email: 0, name: 0 };
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";

/** GB 11643-1999 check: 17 digits, checksum character, and a real birth date (1900–2099). */
export function isValidIdCard(id: string): boolean {
  if (!/^\d{17}[\dXx]$/.test(id)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (id.charCodeAt(i) - 48) * ID_WEIGHTS[i]!;
  if (ID_CHECK[sum % 11] !== id[17]!.toUpperCase()) return false;
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

const ID_RE = /(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])/g;
const MOBILE_RE = /(?<![\d])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)/g;
const LANDLINE_RE = /(?<![\d])(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}-)\d{7,8}(?!\d)/g;
const EMAIL_RE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

// The most common Chinese surnames. Words that are also everyday characters in medical text
// (高 as in 高热, 向, 区, 和, 于, 文 …) are left out to avoid scrubbing "高先生"-like false hits less
// than they would cost in "患儿高热".
const SURNAMES =
  "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金廖贾夏韦付邹熊孟秦邱侯江尹薛闫段雷黎史龙陶贺顾毛郝龚邵万钱严覃武戴莫孔汤欧阳司马诸葛上官";
const SINGLE = SURNAMES.slice(0, SURNAMES.indexOf("欧阳"));
const S = `(?:欧阳|司马|诸葛|上官|[${SINGLE}])`;
// 张先生 / 王女士 / 李小姐 / 赵太太 / 刘阿姨 — surname + honorific.
const HONORIFIC_RE = new RegExp(`${S}(?=先生|女士|小姐|太太|阿姨|奶奶|爷爷)`, "g");
// 患者王某某 / 患儿李某 / 宝宝张XX — a role word, a surname, then 某/X placeholders. A real given name
// ("患儿李明，男，3岁") is only taken after the clinical role words and only when a separator and a
// header-like field follow (sex, age, a bracket); "宝宝戴眼罩、", "孩子王牌玩具" or "患儿黄疸2个月"
// must stay untouched.
const ROLE_PLACEHOLDER_RE = new RegExp(`(患者|患儿|病人|病儿|家长|宝宝|孩子|小孩)[：: ]?${S}(?:某某?|[XxＸ×*＊]{1,2})`, "g");
const ROLE_NAME_RE = new RegExp(`(患者|患儿|病人|病儿)[：: ]?${S}[\\u4e00-\\u9fff]{1,2}(?=[，,、 ](?:[男女](?:[，,。；;、 ]|性|孩|童|$)|\\d+岁|\\d+个月|[（(]))`, "g");
// 姓名：刘小明 — explicit name field.
const NAME_FIELD_RE = /(姓名\s*[：:]\s*)[\u4e00-\u9fff·]{2,4}/g;

// Cheap pre-checks: most text has no long digit runs, no "@" and no name cue words.
const DIGIT_RUN = /\d{3}[- )）]?\d{4}/;
const NAME_CUE = /先生|女士|小姐|太太|阿姨|奶奶|爷爷|患者|患儿|病人|病儿|家长|宝宝|孩子|小孩|姓名/;

export function scrubNumbers(text: string, counts: PiiCounts = emptyPiiCounts()): string {
  let s = text;
  if (s.includes("@")) {
    s = s.replace(EMAIL_RE, () => {
      counts.email++;
      return "[邮箱]";
    });
  }
  if (!DIGIT_RUN.test(s)) return s;
  s = s.replace(ID_RE, (m) => {
    if (!isValidIdCard(m)) return m;
    counts.idCard++;
    return "[身份证号]";
  });
  s = s.replace(MOBILE_RE, () => {
    counts.phone++;
    return "[电话]";
  });
  s = s.replace(LANDLINE_RE, () => {
    counts.phone++;
    return "[电话]";
  });
  return s;
}

/** Names in headers and salutations: applied to dialogue titles and turns, not to textbook prose. */
export function scrubNames(text: string, counts: PiiCounts = emptyPiiCounts()): string {
  if (!NAME_CUE.test(text)) return text;
  let s = text.replace(NAME_FIELD_RE, (_m, p: string) => {
    counts.name++;
    return `${p}某某`;
  });
  s = s.replace(ROLE_PLACEHOLDER_RE, (_m, role: string) => {
    counts.name++;
    return `${role}某某`;
  });
  s = s.replace(ROLE_NAME_RE, (_m, role: string) => {
    counts.name++;
    return `${role}某某`;
  });
  s = s.replace(HONORIFIC_RE, () => {
    counts.name++;
    return "某";
  });
  return s;
}

export function scrubPii(text: string, opts: { names: boolean }, counts: PiiCounts = emptyPiiCounts()): string {
  const s = scrubNumbers(text, counts);
  return opts.names ? scrubNames(s, counts) : s;
}

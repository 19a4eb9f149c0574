/**
 * Unicode normalisation for Chinese medical text. Deliberately NOT plain NFKC: NFKC would turn the
 * Chinese full-width punctuation ，：；！？（） into ASCII and change how sentences read. Our rules:
 *
 * 1. NFC (canonical composition only; no compatibility folding).
 * 2. Full-width ASCII letters and digits (Ａ-Ｚ ａ-ｚ ０-９) → half-width, plus the full-width symbols
 *    that are really ASCII in medical text: ％ ＋ ＝ ／ ＜ ＞ ＃ ＆ ＊ ＠ ＿ ｜ ～ and ． － between digits
 *    (３８．５ → 38.5, ５－１０ → 5-10). Chinese punctuation ，。、；：！？（）“”‘’《》【】 stays full-width.
 * 3. ASCII , ; : ? ! directly after a CJK character (and not between digits) → the full-width form,
 *    so mixed-width sentences read uniformly ("发热,咳嗽" → "发热，咳嗽").
 * 4. Ideographic space U+3000, NBSP and other Unicode spaces → " "; zero-width characters
 *    (U+200B–U+200D, U+2060, BOM) removed; C0/C1 control characters removed except "\n" and "\t".
 * 5. Whitespace: "\r\n"/"\r" → "\n"; runs of spaces/tabs → one space; spaces between two CJK
 *    characters removed (they are layout artefacts in Chinese); trailing spaces on lines removed;
 *    3+ newlines → 2 (one blank line keeps paragraph breaks); leading/trailing whitespace trimmed.
 *
 * Half-width katakana and other compatibility forms are left alone (not expected in this corpus).
 */

const CJK = "\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff";
const CJK_RE = new RegExp(`[${CJK}]`);
const FULLWIDTH_ALNUM = /[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff05\uff0b\uff1d\uff0f\uff1c\uff1e\uff03\uff06\uff0a\uff20\uff3f\uff5c\uff5e]/g;
const FW_DOT_DASH_BETWEEN_DIGITS = /(\d)[\uff0e\uff0d](?=\d)/g;
const ASCII_PUNCT_AFTER_CJK = new RegExp(`([${CJK}])([,;:?!])(?!\\d)`, "g");
const PUNCT_FULL: Record<string, string> = { ",": "，", ";": "；", ":": "：", "?": "？", "!": "！" };
const SPACES = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g;
const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
const SPACE_BETWEEN_CJK = new RegExp(`([${CJK}，。、；：！？（）“”])[ \\t]+(?=[${CJK}，。、；：！？（）“”])`, "g");

// One pre-check for the rare characters the fold/space/zero-width/control rules act on.
const RARE = /[\uff00-\uff5e\u00a0\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

export function normalizeText(input: string): string {
  let s = input;
  // NFC is a no-op for CJK + ASCII; only run it when combining marks or Hangul jamo are present.
  if (/[\u0300-\u036f\u1100-\u11ff\u3099\u309a]/.test(s)) s = s.normalize("NFC");
  if (s.includes("\r")) s = s.replace(/\r\n?/g, "\n");
  if (RARE.test(s)) {
    s = s.replace(FULLWIDTH_ALNUM, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
    s = s.replace(FW_DOT_DASH_BETWEEN_DIGITS, (m: string, d: string) => d + (m[1] === "\uff0e" ? "." : "-"));
    s = s.replace(SPACES, " ").replace(ZERO_WIDTH, "").replace(CONTROL, "");
  }
  if (/[,;:?!]/.test(s)) s = s.replace(ASCII_PUNCT_AFTER_CJK, (_m, c: string, p: string) => c + PUNCT_FULL[p]!);
  if (/[ \t]/.test(s)) {
    s = s.replace(/[ \t]+/g, " ");
    s = s.replace(SPACE_BETWEEN_CJK, "$1");
    s = s.replace(/ +\n/g, "\n").replace(/\n +/g, "\n");
  }
  if (s.includes("\n\n\n")) s = s.replace(/\n{3,}/g, "\n\n");
  return s.trim();
}

/** Share of CJK ideographs among non-space characters (0 for empty text). */
export function cjkRatio(s: string): number {
  let cjk = 0;
  let total = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 10 || c === 9) continue;
    total++;
    if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) cjk++;
  }
  return total === 0 ? 0 : cjk / total;
}

export function hasCjk(s: string): boolean {
  return CJK_RE.test(s);
}

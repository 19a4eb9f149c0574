/**
 * The clinician review web app (fastify): reviewers log in, see only their own assignments, compare
 * two anonymised answers per question (in an order drawn once per assignment) on professionalism,
 * factuality and safety, and may skip or flag an item. Admins see the tallies and download the votes.
 *
 * Security model: without a valid session only the login page is served (every other path redirects
 * to it); session cookies are HttpOnly + SameSite=Strict (+ Secure when served over TLS by a proxy,
 * `secureCookies`); every state-changing POST carries the session's CSRF token; failed logins are
 * counted per user name and per client address and refused for a while (429 + Retry-After) past a
 * limit; a reviewer asking for someone else's assignment gets the same 404 as for one that does not
 * exist. Pages are server-rendered HTML with a strict Content-Security-Policy (no script at all).
 *
 * Not here: storage (db.ts), hashing (auth.ts), tallies (results.ts).
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { esc } from "../report/svg.js";
import { hashToken, newToken, sameToken, verifyPassword } from "./auth.js";
import { DIMENSIONS, type AssignmentView, type Dimension, type ReviewDb, type User } from "./db.js";
import { tallyStudy, votesCsv } from "./results.js";

export interface ReviewServerOptions {
  /** Session lifetime. Defaults to 12 hours. */
  sessionSeconds?: number;
  /** Failed logins tolerated per user name (and 4× that per client address) within `lockoutSeconds`. Defaults to 5. */
  maxLoginFailures?: number;
  /** Defaults to 900 (15 minutes). */
  lockoutSeconds?: number;
  /** Add `Secure` to the cookie (when a TLS proxy fronts the app). Defaults to false. */
  secureCookies?: boolean;
}

const COOKIE = "pedgpt_review";
const DIM_ZH: Record<Dimension, string> = { professionalism: "专业性", factuality: "事实性", safety: "安全性" };

const CSS = `body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:0;background:#f6f8fa;color:#1b1f24}
main{max-width:860px;margin:0 auto;padding:12px}header{display:flex;justify-content:space-between;align-items:center;gap:8px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px;margin:10px 0}
.answers{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:10px}.answer{white-space:pre-wrap;line-height:1.6}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:8px 0}label{margin-right:12px;display:inline-block;padding:4px 0}
button{font-size:1rem;padding:6px 14px;margin-right:8px}input[type=text],input[type=password],textarea{width:100%;box-sizing:border-box;font-size:1rem;padding:6px}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d0d7de;padding:3px 8px}.error{color:#cf222e}.meta{color:#57606a;font-size:.85rem}`;

function page(title: string, body: string, user?: { user: User; csrf: string }): string {
  const head = user
    ? `<header><strong>${esc(title)}</strong><form method="post" action="/logout"><input type="hidden" name="csrf" value="${esc(user.csrf)}"><span class="meta">${esc(user.user.name)}</span> <button type="submit">退出</button></form></header>`
    : `<header><strong>${esc(title)}</strong></header>`;
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head><body><main>${head}${body}</main></body></html>`;
}

function cookies(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

type Form = Record<string, string>;

function loginPage(error?: string): string {
  return page("儿科回答评审 · 登录", `<div class="card"><form method="post" action="/login">
<p><label for="name">用户名</label><input id="name" name="name" type="text" autocomplete="username" required></p>
<p><label for="password">密码</label><input id="password" name="password" type="password" autocomplete="current-password" required></p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ""}<button type="submit">登录</button></form></div>`);
}

function listPage(s: { user: User; csrf: string }, items: AssignmentView[]): string {
  const open = items.filter((a) => a.status === "open").length;
  const rows = items.map((a, i) => `<tr><td><a href="/a/${a.id}">第 ${i + 1} 题</a></td><td>${esc(a.study)}</td><td>${{ open: "待评", done: "已评", skipped: "已跳过" }[a.status]}${a.flagged ? " · 已标记" : ""}</td></tr>`).join("");
  const admin = s.user.role === "admin" ? `<p><a href="/admin">查看统计结果</a></p>` : "";
  return page("我的评审任务", `<p class="meta">共 ${items.length} 题，待评 ${open} 题。</p>${admin}<table><thead><tr><th>题目</th><th>研究</th><th>状态</th></tr></thead><tbody>${rows}</tbody></table>`, s);
}

function itemPage(s: { user: User; csrf: string }, a: AssignmentView, error?: string): string {
  const dims = DIMENSIONS.map((d) => {
    const v = a.votes[d];
    const opt = (val: string, text: string) => `<label><input type="radio" name="${d}" value="${val}"${v === val ? " checked" : ""}> ${text}</label>`;
    return `<fieldset><legend>${DIM_ZH[d]}</legend>${opt("1", "回答 1 更好")}${opt("tie", "相当")}${opt("2", "回答 2 更好")}</fieldset>`;
  }).join("");
  return page("比较两个回答", `<div class="card"><p class="meta">${esc(a.study)}</p><h3>问题</h3><div class="answer" id="question">${esc(a.question)}</div></div>
<div class="answers"><div class="card"><h3>回答 1</h3><div class="answer" id="answer-1">${esc(a.first)}</div></div><div class="card"><h3>回答 2</h3><div class="answer" id="answer-2">${esc(a.second)}</div></div></div>
<form method="post" action="/a/${a.id}" class="card"><input type="hidden" name="csrf" value="${esc(s.csrf)}">${dims}
<p><label><input type="checkbox" name="flag" value="1"${a.flagged ? " checked" : ""}> 标记此题（内容有问题）</label></p>
<p><label for="comment">备注</label><textarea id="comment" name="comment" rows="2">${esc(a.comment ?? "")}</textarea></p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ""}<button type="submit" name="action" value="vote">提交</button><button type="submit" name="action" value="skip">跳过</button> <a href="/">返回列表</a></form>`, s);
}

export function buildReviewServer(db: ReviewDb, o: ReviewServerOptions = {}): FastifyInstance {
  const sessionSeconds = o.sessionSeconds ?? 12 * 3600;
  const maxFailures = o.maxLoginFailures ?? 5;
  const lockout = o.lockoutSeconds ?? 900;
  const app = Fastify({ bodyLimit: 64 * 1024 });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addHook("onSend", async (_req, reply) => {
    reply.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Referrer-Policy", "no-referrer");
    reply.header("Cache-Control", "no-store");
  });

  const sessionOf = (req: FastifyRequest) => {
    const t = cookies(req)[COOKIE];
    return t ? db.session(hashToken(t), Date.now()) : undefined;
  };
  const html = (reply: FastifyReply, body: string, code = 200) => reply.code(code).type("text/html; charset=utf-8").send(body);
  /** The session, or a redirect to the login page (the only page served without one). */
  const requireSession = (req: FastifyRequest, reply: FastifyReply) => {
    const s = sessionOf(req);
    if (!s) void reply.redirect("/login", 303);
    return s;
  };
  const checkCsrf = (s: { csrf: string }, form: Form, reply: FastifyReply): boolean => {
    if (typeof form.csrf === "string" && sameToken(form.csrf, s.csrf)) return true;
    void html(reply, page("请求被拒绝", `<p class="error">表单已过期或来源不明（CSRF 校验失败）。请返回重新打开页面。</p>`), 403);
    return false;
  };

  app.get("/login", async (req, reply) => (sessionOf(req) ? reply.redirect("/", 303) : html(reply, loginPage())));

  app.post("/login", async (req, reply) => {
    const form = (req.body ?? {}) as Form;
    const name = String(form.name ?? "").trim();
    const now = Date.now();
    const since = now - lockout * 1000;
    const keys = [`user:${name}`, `addr:${req.ip}`];
    // Per address the limit is looser: colleagues behind one clinic address must not lock each other out.
    if (db.loginFailuresSince(keys[0]!, since) >= maxFailures || db.loginFailuresSince(keys[1]!, since) >= 4 * maxFailures) {
      reply.header("Retry-After", String(lockout));
      return html(reply, loginPage(`登录失败次数过多，请 ${Math.ceil(lockout / 60)} 分钟后再试。`), 429);
    }
    const user = name ? db.userByName(name) : undefined;
    // Hash even for an unknown user, so timing does not tell which names exist.
    const ok = await verifyPassword(String(form.password ?? ""), user?.password ?? "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    if (!user || !ok) {
      for (const k of keys) db.recordLoginFailure(k, now);
      return html(reply, loginPage("用户名或密码错误。"), 401);
    }
    db.clearLoginFailures(`user:${name}`);
    const token = newToken();
    db.createSession(hashToken(token), user.id, newToken(), now + sessionSeconds * 1000);
    reply.header("Set-Cookie", `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${sessionSeconds}${o.secureCookies ? "; Secure" : ""}`);
    return reply.redirect("/", 303);
  });

  app.post("/logout", async (req, reply) => {
    const s = requireSession(req, reply);
    if (!s || !checkCsrf(s, (req.body ?? {}) as Form, reply)) return reply;
    db.deleteSession(hashToken(cookies(req)[COOKIE]!));
    reply.header("Set-Cookie", `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return reply.redirect("/login", 303);
  });

  app.get("/", async (req, reply) => {
    const s = requireSession(req, reply);
    if (!s) return reply;
    return html(reply, listPage(s, db.assignmentsOf(s.user.id)));
  });

  const assignmentId = (req: FastifyRequest) => {
    const raw = (req.params as { id: string }).id;
    return /^\d{1,12}$/.test(raw) ? Number(raw) : -1;
  };
  const notFound = (reply: FastifyReply, s: { user: User; csrf: string }) => html(reply, page("未找到", `<p>没有这道题，或它不属于您。<a href="/">返回列表</a></p>`, s), 404);

  app.get("/a/:id", async (req, reply) => {
    const s = requireSession(req, reply);
    if (!s) return reply;
    const a = db.assignmentOf(s.user.id, assignmentId(req));
    return a ? html(reply, itemPage(s, a)) : notFound(reply, s);
  });

  app.post("/a/:id", async (req, reply) => {
    const s = requireSession(req, reply);
    if (!s) return reply;
    const form = (req.body ?? {}) as Form;
    if (!checkCsrf(s, form, reply)) return reply;
    const id = assignmentId(req);
    const a = db.assignmentOf(s.user.id, id);
    if (!a) return notFound(reply, s);
    const skip = form.action === "skip";
    const votes: Partial<Record<Dimension, "1" | "2" | "tie">> = {};
    for (const d of DIMENSIONS) {
      const v = form[d];
      if (v === undefined) continue;
      if (v !== "1" && v !== "2" && v !== "tie") return html(reply, itemPage(s, a, `${DIM_ZH[d]}：无效的选择`), 400);
      votes[d] = v;
    }
    const missing = DIMENSIONS.filter((d) => !votes[d]);
    if (!skip && missing.length) return html(reply, itemPage(s, a, `请为每个维度选择：${missing.map((d) => DIM_ZH[d]).join("、")}`), 400);
    const comment = typeof form.comment === "string" && form.comment.trim() ? form.comment.trim().slice(0, 2000) : null;
    db.submit(s.user.id, id, { skip, flagged: form.flag === "1", comment, votes });
    const next = db.assignmentsOf(s.user.id).find((x) => x.status === "open");
    return reply.redirect(next ? `/a/${next.id}` : "/", 303);
  });

  const requireAdmin = (req: FastifyRequest, reply: FastifyReply) => {
    const s = requireSession(req, reply);
    if (s && s.user.role !== "admin") {
      void html(reply, page("无权访问", `<p>只有管理员可以查看统计结果。<a href="/">返回</a></p>`, s), 403);
      return undefined;
    }
    return s;
  };

  app.get("/admin", async (req, reply) => {
    const s = requireAdmin(req, reply);
    if (!s) return reply;
    const body = db.studies().map((name) => {
      const r = tallyStudy(name, db.voteRows(name));
      const rows = r.outcomes.map((o) => `<tr><td>${esc(o.modelA)} vs ${esc(o.modelB)}</td><td>${DIM_ZH[o.dimension as Dimension] ?? esc(o.dimension)}</td><td>${o.items}</td><td>${o.win}</td><td>${o.tie}</td><td>${o.loss}</td></tr>`).join("");
      const kappa = DIMENSIONS.map((d) => `${DIM_ZH[d]} κ = ${r.kappa[d]!.kappa === null ? "n/a" : r.kappa[d]!.kappa!.toFixed(3)}`).join("，");
      return `<div class="card"><h3>${esc(name)}</h3><p class="meta">任务 ${r.assignments}，已评 ${r.done}，跳过 ${r.skipped}，标记 ${r.flagged}。Fleiss ${kappa}</p>
<table><thead><tr><th>比较</th><th>维度</th><th>题数</th><th>胜</th><th>平</th><th>负</th></tr></thead><tbody>${rows}</tbody></table><p><a href="/admin/export/${encodeURIComponent(name)}.csv">下载全部投票 (CSV)</a></p></div>`;
    }).join("");
    return html(reply, page("统计结果（多数票）", body || "<p>还没有研究。</p>", s));
  });

  app.get("/admin/export/:file", async (req, reply) => {
    const s = requireAdmin(req, reply);
    if (!s) return reply;
    const name = (req.params as { file: string }).file.replace(/\.csv$/, "");
    if (!db.studies().includes(name)) return notFound(reply, s);
    return reply.type("text/csv; charset=utf-8").header("Content-Disposition", `attachment; filename="review-votes.csv"`).send(votesCsv(db.voteRows(name)));
  });

  // Anything else: the login page without a session, 404 with one.
  app.setNotFoundHandler(async (req, reply) => {
    const s = sessionOf(req);
    if (!s) return reply.redirect("/login", 303);
    return notFound(reply, s);
  });
  app.setErrorHandler(async (err, _req, reply) => {
    const code = (err as { statusCode?: number }).statusCode ?? 500;
    return html(reply, page("出错了", `<p class="error">${esc(code >= 500 ? "服务器内部错误" : (err as Error).message)}</p>`), code);
  });
  return app;
}

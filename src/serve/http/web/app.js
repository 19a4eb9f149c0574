// The web chat's behaviour: keeps the conversation, streams answers from /v1/chat/completions (SSE),
// shows the safety triage banner before an answer, findings as the answer streams, and the annotations
// with citations after it.
// Plain browser JavaScript on purpose: served as is, no build step.

const $ = (id) => document.getElementById(id);
const log = $("log");
const history = []; // {role, content} turns sent with every request
let modelId = null;
let running = null; // AbortController of the answer being streamed

for (const id of ["max_tokens", "top_p", "temperature"]) {
  const input = $(id);
  const out = $(`${id}-v`);
  input.addEventListener("input", () => (out.value = input.value));
}
$("toggle-settings").addEventListener("click", () => {
  const s = $("settings");
  s.hidden = !s.hidden;
  $("toggle-settings").setAttribute("aria-expanded", String(!s.hidden));
});
$("api-key").value = localStorage.getItem("pedgpt-api-key") ?? "";
$("api-key").addEventListener("change", () => localStorage.setItem("pedgpt-api-key", $("api-key").value));

function add(cls, text) {
  const el = document.createElement("div");
  el.className = cls;
  el.textContent = text;
  log.append(el);
  log.scrollTop = log.scrollHeight;
  return el;
}

function headers() {
  const h = { "content-type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function loadModel() {
  try {
    const r = await fetch("/v1/models", { headers: headers() });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error?.message ?? r.statusText);
    modelId = j.data[0].id;
    $("model").textContent = modelId;
  } catch (e) {
    add("error", `无法获取模型：${e.message}`);
  }
}

function showBanner(triage) {
  if (!triage?.banner) return;
  add("banner", triage.banner).dataset.level = String(triage.level);
}

/** The findings box: the final one after an answer, or a live one (class "live") that grows while it streams. */
function findingsBox(findings, live) {
  const box = document.createElement("div");
  box.className = live ? "annotations live" : "annotations";
  box.append(live ? "安全提示（生成中，规则自动生成）：" : "安全提示（规则自动生成，原回答未作修改）：");
  box.append(findingsList(findings));
  log.append(box);
  log.scrollTop = log.scrollHeight;
  return box;
}

function showAnnotations(ann) {
  if (!ann || ann.findings.length === 0) return;
  findingsBox(ann.findings, false);
}

function findingsList(findings) {
  const ul = document.createElement("ul");
  for (const f of findings) {
    const li = document.createElement("li");
    li.append(f.message);
    const cite = document.createElement("span");
    cite.className = "cite";
    cite.textContent = `依据：${f.citations.join("；")}`;
    li.append(cite);
    ul.append(li);
  }
  return ul;
}

/** Reads an SSE body, calling onEvent with each parsed `data:` JSON until [DONE]. */
async function readSse(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        onEvent(JSON.parse(data));
      }
    }
  }
}

async function ask(question) {
  if (modelId === null) await loadModel();
  if (modelId === null) return;
  add("msg user", question);
  const system = $("system").value.trim();
  const messages = [...(system ? [{ role: "system", content: system }] : []), ...history, { role: "user", content: question }];
  const body = {
    model: modelId,
    messages,
    stream: true,
    max_tokens: Number($("max_tokens").value),
    top_p: Number($("top_p").value),
    temperature: Number($("temperature").value),
  };
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = Number(seed);
  running = new AbortController();
  $("stop").disabled = false;
  $("send").disabled = true;
  let answerEl = null;
  let answer = "";
  let liveBox = null; // findings confirmed while the answer streams; replaced by the final annotations
  const liveFindings = [];
  try {
    const r = await fetch("/v1/chat/completions", { method: "POST", headers: headers(), body: JSON.stringify(body), signal: running.signal });
    if (!r.ok) {
      const j = await r.json().catch(() => ({}));
      throw new Error(j.error?.message ?? `${r.status} ${r.statusText}`);
    }
    await readSse(r.body, (chunk) => {
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.notices) for (const n of chunk.notices) add("notice", n);
      if (chunk.safety?.triage && !chunk.safety.annotations) showBanner(chunk.safety.triage);
      if (answerEl === null) answerEl = add("msg assistant streaming", "");
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) {
        answer += delta;
        answerEl.textContent = answer;
        log.scrollTop = log.scrollHeight;
      }
      if (chunk.safety?.findings) {
        liveFindings.push(...chunk.safety.findings);
        liveBox?.remove();
        liveBox = findingsBox(liveFindings, true);
      }
      if (chunk.choices?.[0]?.finish_reason === "length") add("notice", "（已达到最大生成长度）");
      if (chunk.safety?.annotations) {
        liveBox?.remove();
        liveBox = null;
        showAnnotations(chunk.safety.annotations);
      }
    });
    history.push({ role: "user", content: question }, { role: "assistant", content: answer });
  } catch (e) {
    if (e.name === "AbortError") {
      add("notice", "（已停止）");
      // A stopped answer still belongs to the conversation, as far as it got.
      history.push({ role: "user", content: question }, { role: "assistant", content: answer });
    } else add("error", `出错了：${e.message}`);
  } finally {
    answerEl?.classList.remove("streaming");
    running = null;
    $("stop").disabled = true;
    $("send").disabled = false;
  }
}

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = $("input").value.trim();
  if (!q || running) return;
  $("input").value = "";
  ask(q);
});
$("input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $("composer").requestSubmit();
  }
});
$("stop").addEventListener("click", () => running?.abort());
$("clear").addEventListener("click", () => {
  running?.abort();
  history.length = 0;
  log.replaceChildren();
});

loadModel();

// The officer console: sign in with a seed file, compose from templates
// with a live preview, approve or reject, and follow alerts. Every change
// is a signed call to Herald's HTTP API, the same the CLI makes.
import { Signer } from "./sign.js";
import { buildAlert, parseAlert, capTime, parseCoordinates, formatCoordinates } from "./cap.js";
import { AreaMap } from "./map.js";

const $ = (id) => document.getElementById(id);
const PREVIEW_DELAY_MS = 120;

const st = {
  signer: null,
  session: null,
  templates: [],
  template: null,
  base: null, // the draft an Update starts from
  identifier: "",
  sent: "",
  map: null,
  previewSeq: 0,
  previewTimer: 0,
  lastXML: "",
  preview: null,
  events: null,
  alert: null,
  cancelXML: "",
  miniMaps: [],
};

// ---- HTTP ----

class Problem extends Error {
  constructor(status, p) {
    const extra = (p.errors ?? []).map((e) => `${e.path}: ${e.message}`).join("; ");
    super([p.title, p.detail, extra].filter(Boolean).join(": ") || `HTTP ${status}`);
    this.status = status;
  }
}

async function call(path, opts = {}) {
  const res = await fetch(path, { credentials: "same-origin", ...opts });
  if (res.status === 204) return null;
  const type = res.headers.get("Content-Type") ?? "";
  const body = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith("/v1/session") && st.signer) await signIn();
    throw new Problem(res.status, typeof body === "object" ? body : { title: body });
  }
  return body;
}

async function signed(path, action, body, contentType = "application/cap+xml") {
  const headers = await st.signer.sign(action, body);
  return call(path, { method: "POST", headers: { ...headers, "Content-Type": contentType }, body });
}

function showError(e) {
  const el = $("error");
  el.textContent = e ? String(e.message ?? e) : "";
  el.hidden = !e;
}

// ---- sign-in ----

async function signIn() {
  const { challenge } = await call("/v1/session/challenge");
  const headers = await st.signer.sign("session", challenge);
  st.session = await call("/v1/session", { method: "POST", headers: { ...headers, "Content-Type": "text/plain" }, body: challenge });
}

$("seed-file").addEventListener("change", async (ev) => {
  const input = ev.target;
  const file = input.files[0];
  if (!file) return;
  $("signin-status").textContent = "Reading the key…";
  try {
    if (file.size > 4096) throw new Error("that file is too large to be a seed");
    st.signer = await Signer.fromSeed(await file.text());
    input.value = ""; // the file is not kept in the form
    await signIn();
    $("signin-status").textContent = "";
    await start();
  } catch (e) {
    st.signer = null;
    input.value = "";
    $("signin-status").textContent = "Sign-in failed: " + e.message;
  }
});

$("sign-out").addEventListener("click", async () => {
  await call("/v1/session", { method: "DELETE" }).catch(() => {});
  location.hash = "";
  location.reload(); // drops the key from memory
});

async function start() {
  const o = st.session.originator;
  $("who").textContent = `${o.name} (${o.id}, ${o.roles.join(", ")})`;
  st.templates = (await call("/v1/templates")).templates;
  fillTemplates();
  $("signin-view").hidden = true;
  show("compose-view"); // the map measures its container
  setupCompose();
  resetCompose();
  refreshApprovalCount();
  route();
  $("nav").hidden = false; // ready: the console's controls work from here
}

// ---- routing ----

const VIEWS = ["compose-view", "approvals-view", "alerts-view", "alert-view"];

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  if (view !== "alert-view") stopEvents();
  if (view === "compose-view") st.map?.invalidate();
  showError(null);
}

window.addEventListener("hashchange", () => st.session && route());

function route() {
  const h = location.hash.slice(1);
  if (h.startsWith("alert/")) return openAlert(decodeURIComponent(h.slice(6)));
  if (h === "approvals") return openApprovals();
  if (h === "alerts") return openAlerts();
  show("compose-view");
  updateBanner();
}

// ---- compose ----

function fillTemplates() {
  const sel = $("template");
  sel.replaceChildren(new Option("Blank alert", ""));
  for (const t of st.templates) sel.add(new Option(t.name, t.id));
}

function newIdentifier() {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return "console-" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function setupCompose() {
  const s = st.session;
  if (!st.map) {
    st.map = new AreaMap($("map"), {
      tileURL: s.tile_url, attribution: s.tile_attribution, bounds: s.bounds, jurisdiction: s.jurisdiction,
      onChange: (area) => { $("area-coordinates").value = formatCoordinates(area); $("coords-error").hidden = true; showPicked(); schedulePreview(); },
      onHint: (h) => { $("map-hint").textContent = h; },
    });
  }
  const exerciseOnly = s.originator.roles.includes("exercise_only");
  $("status").querySelector("option").disabled = exerciseOnly;
  for (const [id, mode] of [["mode-polygon", "polygon"], ["mode-circle", "circle"], ["mode-pick", "pick"]]) {
    $(id).onclick = () => {
      const on = st.map.mode !== mode;
      st.map.setMode(on ? mode : null);
      for (const b of ["mode-polygon", "mode-circle", "mode-pick"]) $(b).setAttribute("aria-pressed", String(on && b === id));
    };
  }
  $("radius").oninput = () => st.map.setRadius(Number($("radius").value) || 1);
  $("area-clear").onclick = () => st.map.clear();
  $("area-coordinates").oninput = () => {
    try {
      st.map.setShapes(parseCoordinates($("area-coordinates").value));
      $("coords-error").hidden = true;
      schedulePreview();
    } catch (e) {
      $("coords-error").textContent = e.message;
      $("coords-error").hidden = false;
    }
  };
  $("template").onchange = () => applyTemplate(st.templates.find((t) => t.id === $("template").value) ?? null);
  $("compose-form").oninput = (e) => {
    if (e.target.id !== "area-coordinates") schedulePreview();
    if (e.target.id === "status") updateBanner();
  };
  $("compose-form").onchange = $("compose-form").oninput;
  $("compose-form").onsubmit = (e) => e.preventDefault();
  $("send").onclick = confirmSend;
  $("confirm-back").onclick = () => { $("confirm-box").hidden = true; };
  $("confirm").onclick = send;
}

function showPicked() {
  const g = st.map.area.geocodes;
  $("picked").textContent = g.length ? "Picked regions: " + g.map((x) => x.label).join(", ") : "";
}

function resetCompose() {
  st.base = null;
  st.identifier = newIdentifier();
  st.sent = capTime(new Date());
  st.lastXML = "";
  $("compose-kind").hidden = true;
  $("template").disabled = false;
  $("confirm-box").hidden = true;
  $("status").value = st.session.originator.roles.includes("exercise_only") ? "Exercise" : "Actual";
  $("sender").value = st.session.originator.senders?.[0] ?? `${st.session.originator.agency}@${location.hostname}`;
  $("template").value = "";
  applyTemplate(null);
  st.map.clear();
}

function localInput(d) {
  const off = d.getTimezoneOffset() * 60000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

// applyTemplate fills the form from t (null: a blank alert in English).
function applyTemplate(t) {
  st.template = t;
  const fields = $("fields");
  fields.replaceChildren();
  for (const f of t?.fields ?? []) {
    const id = "field-" + f.name;
    const label = Object.assign(document.createElement("label"), { htmlFor: id, textContent: f.label });
    const input = Object.assign(document.createElement("input"), { id, value: f.default ?? "" });
    input.dataset.field = f.name;
    fields.append(label, input);
  }
  $("event").value = t?.event ?? "";
  $("category").value = (t?.category ?? ["Health"]).join(" ");
  $("urgency").value = t?.urgency ?? "Expected";
  $("severity").value = t?.severity ?? "Moderate";
  $("certainty").value = t?.certainty ?? "Likely";
  $("han-type").value = t?.han_type ?? "";
  $("expires").value = localInput(new Date(Date.now() + (t?.expires_in ?? 86400) * 1000));
  const texts = t?.texts ?? { en: { headline: "", description: "", instruction: "" } };
  setTexts(Object.entries(texts).map(([language, x]) => ({ language, ...x })));
  schedulePreview();
}

// setTexts draws one block per language: include, headline, description,
// instruction.
function setTexts(list) {
  const box = $("texts");
  box.replaceChildren(Object.assign(document.createElement("legend"), { textContent: "Texts" }));
  for (const x of list) {
    const lang = x.language;
    const block = document.createElement("div");
    block.className = "lang";
    block.dataset.lang = lang;
    const inc = Object.assign(document.createElement("input"), { type: "checkbox", checked: true, id: `lang-${lang}` });
    const incLabel = Object.assign(document.createElement("label"), { htmlFor: inc.id, textContent: ` Send in ${lang}` });
    const head = document.createElement("p");
    head.append(inc, incLabel);
    block.append(head);
    for (const [part, rows, label] of [["headline", 1, "Headline"], ["description", 3, "Description"], ["instruction", 2, "Instruction"],
      ["wea", 1, "WEA text, for IPAWS (optional, ≤ 90 characters)"], ["wea_long", 2, "WEA long text (optional, ≤ 360 characters)"]]) {
      const id = `text-${lang}-${part}`;
      block.append(Object.assign(document.createElement("label"), { htmlFor: id, textContent: `${label} (${lang})` }));
      const ta = Object.assign(document.createElement("textarea"), { id, rows, value: x[part] ?? "" });
      ta.dataset.part = part;
      block.append(ta);
    }
    box.append(block);
  }
}

function fieldValues() {
  const v = {};
  for (const input of document.querySelectorAll("[data-field]")) v[input.dataset.field] = input.value.trim();
  return v;
}

function fill(s, values) {
  return s.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (m, name) => {
    if (values[name]) return values[name];
    const f = st.template?.fields.find((x) => x.name === name);
    return f ? `[${f.label}]` : m;
  });
}

// model is the alert the form describes.
function model(sent = st.sent) {
  const values = fieldValues();
  const expires = new Date($("expires").value);
  const han = $("han-type").value;
  const base = st.base;
  const infos = [];
  for (const block of document.querySelectorAll("#texts .lang")) {
    if (!block.querySelector("input[type=checkbox]").checked) continue;
    const text = (part) => fill(block.querySelector(`[data-part=${part}]`).value.trim(), values);
    const baseInfo = base?.infos.find((i) => i.language === block.dataset.lang);
    infos.push({
      language: block.dataset.lang,
      category: $("category").value.trim().split(/\s+/).filter(Boolean),
      event: $("event").value.trim(),
      responseType: st.template?.response_type ?? baseInfo?.responseType ?? [],
      urgency: $("urgency").value, severity: $("severity").value, certainty: $("certainty").value,
      expires: Number.isNaN(expires.getTime()) ? "" : capTime(expires),
      senderName: baseInfo?.senderName || st.session.originator.name,
      headline: text("headline"), description: text("description"), instruction: text("instruction"),
      web: baseInfo?.web ?? "", contact: baseInfo?.contact ?? "",
      parameters: [
        ...(baseInfo?.parameters ?? []).filter((p) => !["HANType", "CMAMtext", "CMAMlongtext"].includes(p.valueName)),
        ...(han ? [{ valueName: "HANType", value: han }] : []),
        ...(text("wea") ? [{ valueName: "CMAMtext", value: text("wea") }] : []),
        ...(text("wea_long") ? [{ valueName: "CMAMlongtext", value: text("wea_long") }] : []),
      ],
    });
  }
  return {
    identifier: st.identifier, sender: $("sender").value.trim(), sent, status: $("status").value,
    msgType: base?.msgType ?? "Alert", scope: "Public", code: base?.code ?? [], references: base?.references ?? "",
    infos, area: { desc: $("area-desc").value.trim(), ...st.map.area },
  };
}

function hasArea(a) {
  return a.polygons.length + a.circles.length + a.geocodes.length > 0;
}

function updateBanner(status = $("status").value) {
  $("exercise-banner").hidden = status === "Actual";
}

function schedulePreview() {
  clearTimeout(st.previewTimer);
  st.previewTimer = setTimeout(preview, PREVIEW_DELAY_MS);
}

async function preview() {
  if (!st.session) return;
  const m = model();
  const xml = buildAlert(m);
  $("xml").textContent = xml;
  $("confirm-box").hidden = true;
  if (!hasArea(m.area)) {
    st.preview = null;
    renderPreview(null, "Set an area to see who it reaches.");
    return;
  }
  if (xml === st.lastXML) return; // the same body would be the same signature
  st.lastXML = xml;
  const seq = ++st.previewSeq;
  $("preview-status").textContent = "Counting…";
  try {
    const p = await signed("/v1/alerts/preview", "preview", xml);
    if (seq !== st.previewSeq) return;
    st.preview = p;
    renderPreview(p, "");
  } catch (e) {
    if (seq !== st.previewSeq) return;
    st.preview = null;
    st.lastXML = "";
    renderPreview(null, e.message);
  }
}

function warnings(p, m) {
  const w = [];
  const expires = new Date($("expires").value);
  if (!(expires > new Date())) w.push("The expiry is in the past: the alert would be refused or reach nobody.");
  if (m.status === "Actual" && m.msgType !== "Cancel" && (st.session.approval_severities ?? []).includes(m.severity ?? $("severity").value)) {
    w.push(`Approval needed: ${$("severity").value} alerts wait for a second officer of your agency.`);
  }
  for (const t of p?.texts ?? []) {
    if (t.cut?.length) w.push(`${t.channel}${t.account ? " " + t.account : ""} (${t.language || "any"}) text shortened: ${t.cut.join(", ")}.`);
    if (t.limit && t.characters > t.limit) w.push(`${t.channel} (${t.language || "any"}) text has ${t.characters} characters; the limit is ${t.limit}.`);
  }
  if (p && p.recipients.sms === 0) w.push("No resident is inside this area.");
  return w;
}

function renderPreview(p, status) {
  const fmt = (n) => (n === undefined ? "–" : n.toLocaleString("en-US"));
  $("preview-status").textContent = status;
  $("preview-status").className = status && p === null && status !== "Set an area to see who it reaches." ? "error" : "muted";
  $("preview-sms").textContent = p ? String(p.recipients.sms) : "–";
  $("preview-webhook").textContent = p ? fmt(p.recipients.webhook) : "–";
  $("preview-social").textContent = p ? fmt(p.recipients.social) : "–";
  $("preview-area").textContent = p ? `${p.area_km2.toFixed(1)} km²` : "–";
  $("preview-duration").textContent = p?.sms_seconds ? (p.sms_seconds < 1 ? duration(p.sms_seconds) : `about ${duration(p.sms_seconds)}`) : "–";
  const m = model();
  const ul = $("preview-warnings");
  ul.replaceChildren(...warnings(p, { status: m.status, msgType: m.msgType, severity: $("severity").value }).map((w) => Object.assign(document.createElement("li"), { textContent: w })));
  if (!p && status && status !== "Set an area to see who it reaches.") ul.prepend(Object.assign(document.createElement("li"), { textContent: status }));
  $("preview-regions").replaceChildren(...(p?.regions ?? []).map((r) => Object.assign(document.createElement("li"), { textContent: r.name })));
  const texts = $("preview-texts");
  texts.replaceChildren();
  for (const t of p?.texts ?? []) {
    const h = document.createElement("h4");
    const cost = t.limit ? `${t.characters}/${t.limit} characters` : `${t.segments} segment${t.segments === 1 ? "" : "s"}, ${t.encoding}`;
    h.textContent = `${t.channel}${t.account ? " · " + t.account : ""} · ${t.language || "any language"} · ${cost}`;
    const pre = Object.assign(document.createElement("pre"), { textContent: t.text });
    texts.append(h, pre);
  }
  $("send").disabled = !p;
}

function duration(s) {
  if (s < 1) return "under a second";
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function confirmSend() {
  const p = st.preview;
  if (!p) return;
  const m = model();
  const langs = m.infos.length;
  const n = (x, one, many) => `${x.toLocaleString("en-US")} ${x === 1 ? one : many}`;
  let text = `${m.msgType === "Alert" ? "This alert" : "This " + m.msgType} texts ${n(p.recipients.sms, "resident", "residents")} in ${n(langs, "language", "languages")}, notifies ${n(p.recipients.webhook, "hospital", "hospitals")}, posts to ${n(p.recipients.social, "account", "accounts")}.`;
  if (m.status !== "Actual") text += ` It is ${m.status.toUpperCase()}: only exercise participants receive it.`;
  if (warnings(p, { status: m.status, msgType: m.msgType, severity: $("severity").value }).some((w) => w.startsWith("Approval needed"))) text += " It waits for a second officer's approval before anything is sent.";
  $("confirm-text").textContent = text;
  $("confirm-box").hidden = false;
  $("confirm").focus();
}

async function send() {
  $("confirm").disabled = true;
  try {
    const xml = buildAlert(model(capTime(new Date())));
    const acc = await signed("/v1/alerts", "submit", xml);
    resetCompose();
    location.hash = "#alert/" + encodeURIComponent(acc.id);
  } catch (e) {
    showError(e);
  } finally {
    $("confirm").disabled = false;
    $("confirm-box").hidden = true;
  }
}

// startFrom loads an Update draft of an alert into the form.
function startFrom(draftXML, alertID) {
  const m = parseAlert(draftXML);
  st.base = m;
  st.identifier = m.identifier;
  st.sent = capTime(new Date());
  st.lastXML = "";
  st.template = null;
  $("template").value = "";
  $("template").disabled = true;
  $("fields").replaceChildren();
  const i = m.infos[0] ?? {};
  $("status").value = m.status;
  $("sender").value = m.sender;
  $("event").value = i.event ?? "";
  $("category").value = (i.category ?? []).join(" ");
  $("urgency").value = i.urgency;
  $("severity").value = i.severity;
  $("certainty").value = i.certainty;
  $("han-type").value = i.parameters?.find((p) => p.valueName === "HANType")?.value ?? "";
  const exp = i.expires ? new Date(i.expires) : new Date(Date.now() + 86400000);
  $("expires").value = localInput(exp > new Date() ? exp : new Date(Date.now() + 86400000));
  $("area-desc").value = m.area.desc;
  const param = (i, name) => i.parameters?.find((p) => p.valueName === name)?.value ?? "";
  setTexts(m.infos.map((i) => ({ ...i, wea: param(i, "CMAMtext"), wea_long: param(i, "CMAMlongtext") })));
  st.map.setArea(m.area);
  $("area-coordinates").value = formatCoordinates(m.area);
  showPicked();
  const kind = $("compose-kind");
  kind.textContent = `Update of alert ${alertID}: it replaces the original for everyone it reached (references ${m.references}).`;
  kind.hidden = false;
  location.hash = "#compose";
  schedulePreview();
}

// ---- approvals ----

async function refreshApprovalCount() {
  try {
    const { alerts } = await call("/v1/alerts?state=pending_approval&limit=200");
    $("approvals-count").textContent = alerts.length ? `(${alerts.length})` : "";
    return alerts;
  } catch {
    return [];
  }
}

async function openApprovals() {
  show("approvals-view");
  updateBanner("Actual");
  for (const m of st.miniMaps) m.remove();
  st.miniMaps = [];
  const list = $("approvals-list");
  list.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "Loading…" }));
  const alerts = await refreshApprovalCount();
  list.replaceChildren();
  if (!alerts.length) list.append(Object.assign(document.createElement("p"), { className: "muted", textContent: "Nothing is waiting for approval." }));
  const me = st.session.originator;
  for (const a of alerts) {
    const card = document.createElement("article");
    card.className = "card";
    card.id = "pending-" + a.id;
    const h = Object.assign(document.createElement("h2"), { textContent: a.headline || a.id });
    const meta = Object.assign(document.createElement("p"), { className: "muted", textContent: `${a.severity} · ${a.urgency} · ${a.msg_type} · by ${a.originator} · sent ${a.sent} · ${a.regions.length} region(s)` });
    card.append(h, meta);
    let m;
    try {
      m = parseAlert(await call(`/v1/alerts/${encodeURIComponent(a.id)}.cap`));
      for (const i of m.infos) {
        const d = document.createElement("div");
        d.className = "lang";
        d.append(Object.assign(document.createElement("h3"), { textContent: `${i.language}: ${i.headline}` }),
          Object.assign(document.createElement("p"), { textContent: i.description }),
          Object.assign(document.createElement("p"), { textContent: i.instruction }));
        card.append(d);
      }
    } catch (e) {
      card.append(Object.assign(document.createElement("p"), { className: "error", textContent: e.message }));
    }
    const mapEl = Object.assign(document.createElement("div"), { className: "map small" });
    card.append(mapEl);
    const own = a.originator === me.id;
    const canDecide = me.roles.includes("approver") && !own;
    const reasonId = "reason-" + a.id;
    const reasonLabel = Object.assign(document.createElement("label"), { htmlFor: reasonId, textContent: "Reason for rejecting (the issuer reads it)" });
    const reason = Object.assign(document.createElement("textarea"), { id: reasonId, rows: 2, disabled: !canDecide });
    const approve = Object.assign(document.createElement("button"), { type: "button", id: "approve-" + a.id, className: "approve primary", textContent: "Approve", disabled: !canDecide });
    const reject = Object.assign(document.createElement("button"), { type: "button", id: "reject-" + a.id, className: "reject danger", textContent: "Reject", disabled: !canDecide });
    const note = Object.assign(document.createElement("p"), { className: "muted", textContent: own ? "Your own alert: another approver must decide." : canDecide ? "" : "You do not have the approver role." });
    const out = Object.assign(document.createElement("p"), { role: "status" });
    approve.onclick = () => decide(a.id, "approve", null, out);
    reject.onclick = () => {
      if (!reason.value.trim()) {
        out.textContent = "Say why before rejecting.";
        reason.focus();
        return;
      }
      decide(a.id, "reject", reason.value.trim(), out);
    };
    card.append(reasonLabel, reason, approve, reject, note, out);
    list.append(card);
    if (m) {
      const mm = new AreaMap(mapEl, { bounds: st.session.bounds, jurisdiction: st.session.jurisdiction, onChange: () => {} });
      mm.setArea(m.area);
      st.miniMaps.push(mm.map);
    }
  }
}

async function decide(id, action, reason, out) {
  try {
    const path = `/v1/alerts/${encodeURIComponent(id)}/${action}`;
    const body = reason === null ? "" : JSON.stringify({ reason });
    const res = await signed(path, `${action}:${id}`, body, reason === null ? "text/plain" : "application/json");
    out.textContent = `Alert ${res.id} is now ${res.state}.`;
    document.querySelectorAll(`#pending-${CSS.escape(id)} button`).forEach((b) => { b.disabled = true; });
    refreshApprovalCount();
  } catch (e) {
    out.textContent = e.message;
  }
}

// ---- alerts list ----

async function openAlerts() {
  show("alerts-view");
  updateBanner("Actual");
  const stateFilter = $("alerts-state");
  stateFilter.onchange = openAlerts;
  const q = stateFilter.value ? `?state=${encodeURIComponent(stateFilter.value)}&limit=200` : "?limit=200";
  try {
    const { alerts } = await call("/v1/alerts" + q);
    const body = $("alerts-table").tBodies[0];
    body.replaceChildren();
    for (const a of alerts) {
      const tr = body.insertRow();
      const link = Object.assign(document.createElement("a"), { href: "#alert/" + encodeURIComponent(a.id), textContent: a.headline || a.id });
      tr.insertCell().textContent = a.sent;
      tr.insertCell().append(link);
      tr.insertCell().textContent = a.status === "Actual" ? a.msg_type : `${a.msg_type} (${a.status})`;
      tr.insertCell().textContent = a.severity;
      tr.insertCell().textContent = a.state.replace("_", " ");
      tr.insertCell().textContent = a.originator;
    }
    if (!alerts.length) body.insertRow().insertCell().textContent = "No alerts.";
  } catch (e) {
    showError(e);
  }
}

// ---- one alert ----

function stopEvents() {
  st.events?.close();
  st.events = null;
}

async function openAlert(id) {
  show("alert-view");
  $("cancel-box").hidden = true;
  $("alert-id").textContent = id;
  $("alert-cap").href = `/v1/alerts/${encodeURIComponent(id)}.cap`;
  try {
    renderAlert({ alert: await call(`/v1/alerts/${encodeURIComponent(id)}`) });
  } catch (e) {
    showError(e);
    return;
  }
  stopEvents();
  const es = new EventSource(`/v1/alerts/${encodeURIComponent(id)}/events`);
  st.events = es;
  es.addEventListener("progress", (ev) => renderAlert(JSON.parse(ev.data)));
  es.addEventListener("end", () => stopEvents());
  $("update").onclick = async () => {
    try {
      startFrom(await call(`/v1/alerts/${encodeURIComponent(id)}/draft?type=Update`), id);
    } catch (e) {
      showError(e);
    }
  };
  $("cancel").onclick = async () => {
    try {
      st.cancelXML = await call(`/v1/alerts/${encodeURIComponent(id)}/draft?type=Cancel`);
      $("cancel-xml").textContent = st.cancelXML;
      $("cancel-box").hidden = false;
      $("cancel-confirm").focus();
    } catch (e) {
      showError(e);
    }
  };
  $("cancel-back").onclick = () => { $("cancel-box").hidden = true; };
  $("cancel-confirm").onclick = async () => {
    try {
      const acc = await signed("/v1/alerts", "submit", st.cancelXML);
      $("cancel-box").hidden = true;
      location.hash = "#alert/" + encodeURIComponent(acc.id);
    } catch (e) {
      showError(e);
    }
  };
}

function renderAlert({ alert: a, deliveries: d }) {
  st.alert = a;
  $("alert-state").textContent = a.state;
  $("alert-meta").textContent = `${a.status} ${a.msg_type} · ${a.severity}${a.urgency ? " · " + a.urgency : ""}${a.han_type ? " · HAN " + a.han_type : ""} · by ${a.originator} · sent ${a.sent}${a.expires ? " · expires " + a.expires : ""}`;
  $("alert-headline").textContent = a.headline ?? "";
  updateBanner(a.status);
  const rej = $("alert-reject");
  rej.hidden = a.state !== "rejected";
  rej.textContent = a.state === "rejected" ? `Rejected by ${a.rejected_by}: ${a.reject_reason}` : "";
  const live = ["accepted", "dispatching", "done"].includes(a.state) && a.msg_type !== "Cancel";
  $("update").hidden = !live;
  $("cancel").hidden = !(live || a.state === "pending_approval") || a.msg_type === "Cancel";
  if (!d) return;
  loadAcks(a.id);
  const body = $("alert-progress").tBodies[0];
  body.replaceChildren();
  for (const [ch, c] of Object.entries(d.channels)) {
    const tr = body.insertRow();
    tr.id = "progress-" + ch;
    tr.insertCell().textContent = ch;
    for (const k of ["queued", "sent", "logged", "delivered", "failed", "skipped"]) tr.insertCell().textContent = c[k].toLocaleString("en-US");
  }
  $("alert-eta").textContent = d.sms_seconds ? `SMS still queued: about ${duration(d.sms_seconds)} at the carrier rate.` : d.done ? "Every delivery has settled." : "";
  const fl = $("alert-failures");
  fl.replaceChildren(...(d.failures.length ? d.failures : [null]).map((f) =>
    Object.assign(document.createElement("li"), f ? { textContent: `${f.channel} ${f.recipient}: ${f.state}, ${f.reason}` } : { className: "muted", textContent: "none" })));
}

// loadAcks shows which hospitals acknowledged the alert (when it asked).
async function loadAcks(id) {
  let res;
  try {
    res = await call(`/v1/alerts/${encodeURIComponent(id)}/acks`);
  } catch {
    return;
  }
  if (st.alert?.id !== id) return;
  $("alert-acks").hidden = !res.required;
  const body = $("alert-acks").querySelector("tbody");
  body.replaceChildren();
  for (const h of res.hospitals) {
    const tr = body.insertRow();
    tr.id = "ack-" + h.subscription;
    const steps = h.escalations.map((s) => `tier ${s.tier} at ${new Date(s.at).toLocaleTimeString()}: ${s.sent}/${s.contacts} texted${s.error ? " (" + s.error + ")" : ""}`).join("; ");
    for (const v of [h.hospital, h.webhook, h.state.replace("_", " "), steps || String(h.tier),
      h.acknowledged_at ? new Date(h.acknowledged_at).toLocaleTimeString() : "", h.acknowledged_by ? `${h.acknowledged_by} (${h.path})` : ""]) {
      tr.insertCell().textContent = v;
    }
  }
}

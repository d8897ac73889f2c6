// GENERATED from orchestrator/dashboard/src/ by `npm run build:console` (esbuild). Do not edit.

// orchestrator/audit/audit-log.ts
var AUDIT_ACTIONS = [
  "rollout.create",
  "rollout.start",
  "rollout.pause",
  "rollout.resume",
  "rollout.abort",
  "rollout.approve",
  "device.register",
  "device.import",
  "device.update",
  "device.revoke",
  "release.import",
  "root.publish",
  "token.create",
  "token.revoke"
];

// protocol/states.ts
var DEVICE_STATES = [
  "queued",
  "notified",
  "accepted",
  "deferred",
  "rejected",
  "downloading",
  "verifying",
  "installing",
  "rebooting",
  "succeeded",
  "failed",
  "timed_out",
  "canceled"
];
var TERMINAL_STATES = /* @__PURE__ */ new Set(["rejected", "succeeded", "failed", "timed_out", "canceled"]);
var FAILED_STATES = ["failed", "rejected", "timed_out"];

// orchestrator/dashboard/src/core.ts
var RUNNING_STATES = DEVICE_STATES.filter((s) => s !== "queued" && !TERMINAL_STATES.has(s));
var ACTIVE_ROLLOUT = ["created", "scheduled", "running", "paused"];
var sum = (counts, states) => states.reduce((n, s) => n + (counts?.[s] ?? 0), 0);
function stateRank(state3) {
  const i = DEVICE_STATES.indexOf(state3);
  return i < 0 ? DEVICE_STATES.length : i;
}
function el(testid) {
  const found = document.querySelector(`[data-testid="${testid}"]`);
  if (!found) throw new Error(`console: no element ${testid}`);
  return found;
}
function h(tag, text, attrs = {}, ...children) {
  const n = document.createElement(tag);
  if (text !== void 0 && text !== null) n.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  n.append(...children);
  return n;
}
function link(text, href, attrs = {}) {
  return h("a", text, { href, ...attrs });
}
function td(content, attrs = {}) {
  const cell = h("td", null, attrs);
  if (content instanceof Node) cell.append(content);
  else if (content !== void 0 && content !== null) cell.textContent = String(content);
  return cell;
}
function fillKv(testid, rows) {
  const body = el(testid).tBodies[0];
  if (rows.length === 0) {
    body.replaceChildren(h("tr", null, { "data-testid": `${testid}-none`, class: "none" }, h("td", "none", { colspan: "2" })));
    return;
  }
  body.replaceChildren(...rows.map(([label, value, id]) => h("tr", null, id ? { "data-testid": id } : {}, td(label), td(value))));
}
function fillRows(testid, rows, empty = "none") {
  const table = el(testid);
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  if (rows.length === 0) {
    table.tBodies[0].replaceChildren(h("tr", null, { "data-testid": `${testid}-none`, class: "none" }, h("td", empty, { colspan: String(columns) })));
    return;
  }
  table.tBodies[0].replaceChildren(...rows);
}
function bar(counts, size2) {
  const parts = [["ok", sum(counts, ["succeeded"])], ["bad", sum(counts, FAILED_STATES)], ["run", sum(counts, RUNNING_STATES)], ["off", sum(counts, ["canceled"])]];
  const b = h("div", null, { class: "bar", role: "img", "aria-label": parts.map(([cls, n]) => `${cls} ${n}`).join(", ") });
  for (const [cls, n] of parts) {
    const s = h("span", null, { class: cls, "data-part": cls });
    s.style.width = size2 > 0 ? `${100 * n / size2}%` : "0%";
    b.append(s);
  }
  return b;
}
function banner(text) {
  const b = el("banner");
  b.textContent = text ?? "";
  b.hidden = !text;
}
var pad = (n) => String(n).padStart(2, "0");
function clock(epochSeconds) {
  const d = new Date(epochSeconds * 1e3);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
function when(iso) {
  if (!iso) return "";
  return iso.replace("T", " ").replace(/(\.\d+)?Z$/, "");
}
function compareEventIds(a, b) {
  const [am = "0", as = "0"] = (a || "0-0").split("-");
  const [bm = "0", bs = "0"] = (b || "0-0").split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
var ApiFailure = class extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
  code;
  status;
};
var session = {
  token: null,
  operator: false,
  onUnauthorized: (_message) => {
  }
};
async function apiWithPosition(path, init2 = {}) {
  const headers = { authorization: `Bearer ${session.token}`, accept: "application/json" };
  if (init2.body !== void 0) headers["content-type"] = "application/json";
  const res = await fetch(path, { method: init2.method ?? "GET", headers, cache: "no-store", ...init2.body !== void 0 ? { body: JSON.stringify(init2.body) } : {} });
  const body = await res.json().catch(() => null);
  if (res.status === 401) {
    session.onUnauthorized("That token was refused (unknown or revoked).");
    throw new ApiFailure("unauthorized", "unauthorized", 401);
  }
  if (!res.ok) throw new ApiFailure(body?.code ?? `http_${res.status}`, body?.message ?? res.statusText, res.status);
  return { body, eventId: res.headers.get("x-event-id") ?? "" };
}
async function api(path, init2 = {}) {
  return (await apiWithPosition(path, init2)).body;
}
function failed(what) {
  return (error) => {
    const e = error;
    if (e?.code !== "unauthorized") banner(`${what} failed: ${e?.code ?? "error"}${e?.message ? ` (${e.message})` : ""}`);
    return void 0;
  };
}
var enc = encodeURIComponent;
var dirty = /* @__PURE__ */ new Set();
var frame = 0;
function invalidate(...renderers) {
  for (const r of renderers) dirty.add(r);
  if (!frame) {
    frame = requestAnimationFrame(() => {
      frame = 0;
      const now = [...dirty];
      dirty.clear();
      for (const r of now) r();
    });
  }
}
var lastRun = /* @__PURE__ */ new Map();
var pending = /* @__PURE__ */ new Map();
function throttled(key, ms, fn) {
  if (pending.has(key)) return;
  const wait = Math.max(0, (lastRun.get(key) ?? 0) + ms - Date.now());
  pending.set(key, setTimeout(() => {
    pending.delete(key);
    lastRun.set(key, Date.now());
    fn();
  }, wait));
}
function confirmAction(message) {
  return window.confirm(message);
}

// orchestrator/dashboard/src/audit.ts
var AUDIT_PAGE = 50;
var cursor;
function actor(entry) {
  const { actor: a } = entry;
  if (a.via === "cli") return `CLI ${a.label ?? ""}`.trim();
  return a.label ? `${a.label} (${a.tokenId ?? "?"})` : a.tokenId ?? "?";
}
function target(entry) {
  if (entry.action.startsWith("rollout.") && entry.target) return link(entry.target, `#/rollouts/${enc(entry.target)}`);
  if (entry.action.startsWith("device.") && entry.action !== "device.import" && entry.target) return link(entry.target, `#/devices/${enc(entry.target)}`);
  if (entry.action === "release.import" && entry.target) return link(entry.target, `#/releases/${enc(entry.target)}`);
  return entry.target;
}
function initAudit() {
  const select = el("audit-action");
  for (const action of AUDIT_ACTIONS) select.append(h("option", action, { value: action }));
  select.addEventListener("change", () => void showAudit());
  el("audit-older").addEventListener("click", () => void showAudit(cursor));
}
async function showAudit(before) {
  el("crumb").textContent = "/ audit";
  const query2 = new URLSearchParams({ limit: String(AUDIT_PAGE) });
  const action = el("audit-action").value;
  if (action) query2.set("action", action);
  if (before) query2.set("before", before);
  const page = await api(`/v1/audit?${query2}`).catch(failed("Audit log"));
  if (!page) return;
  cursor = page.next;
  el("audit-older").hidden = !page.next;
  fillRows("audit-table", page.entries.map((e) => h(
    "tr",
    null,
    { "data-testid": "audit-row" },
    td(when(e.at)),
    td(actor(e)),
    td(e.action, { "data-testid": "audit-action-cell" }),
    td(target(e)),
    td(e.reason ?? "")
  )), before ? "No older entries." : "No operator actions recorded yet.");
}

// orchestrator/dashboard/src/create.ts
function parsePercents(text) {
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return "give at least one wave, e.g. 10, 50, 100";
  const values = parts.map(Number);
  if (values.some((v) => !Number.isFinite(v) || v <= 0 || v > 100)) return "each wave is a percentage above 0 and at most 100";
  if (values.some((v, i) => i > 0 && v <= values[i - 1])) return "waves are cumulative: each percentage above the one before";
  if (values.at(-1) !== 100) return "the last wave reaches 100 %";
  return values;
}
var list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
function specFromForm(form) {
  const value = (name) => (form.elements.namedItem(name)?.value ?? "").trim();
  const releaseId = value("releaseId");
  if (!releaseId) return "choose a release";
  const percents = parsePercents(value("waves"));
  if (typeof percents === "string") return percents;
  const success = Number(value("successThreshold"));
  const failure = Number(value("failureThreshold"));
  const bake = Number(value("bakeSeconds"));
  if (!(success >= 0 && success <= 100) || !(failure >= 0 && failure <= 100)) return "thresholds are percentages from 0 to 100";
  if (!Number.isInteger(bake) || bake < 0) return "bake time is a whole number of seconds";
  const promotion = value("promotion") === "manual" ? "manual" : "auto";
  const target2 = {};
  if (list(value("groups")).length) target2.groups = list(value("groups"));
  if (list(value("tags")).length) target2.tags = list(value("tags"));
  if (value("installedReleaseId")) target2.installedReleaseId = value("installedReleaseId");
  if (list(value("deviceIds")).length) target2.deviceIds = list(value("deviceIds"));
  const all = form.elements.namedItem("all")?.checked === true;
  if (all && Object.keys(target2).length > 0) return 'untick "every device" or clear groups, tags, installed release and device ids';
  if (all) target2.all = true;
  if (Object.keys(target2).length === 0) return 'choose a target: groups, tags, installed release or device ids, or tick "every device"';
  const inFlight = value("maxInFlight");
  if (inFlight && !(Number.isInteger(Number(inFlight)) && Number(inFlight) >= 1)) return "devices in flight is a whole number of at least 1, or empty";
  return {
    ...inFlight ? { maxInFlight: Number(inFlight) } : {},
    releaseId,
    target: target2,
    waves: percents.map((percent) => ({ percent, successThreshold: success / 100, failureThreshold: failure / 100, bakeSeconds: bake, promotion })),
    failureAction: value("failureAction") === "abort" ? "abort" : "pause",
    start: false
  };
}
var draft = null;
function showStep(step) {
  el("create-form").hidden = step !== "form";
  el("create-confirm").hidden = step !== "confirm";
}
function renderPreview(spec, p) {
  el("preview-id").textContent = p.id;
  el("preview-summary").textContent = `${p.targets} devices in the rollout; release ${p.releaseId}; on failure: ${spec.failureAction ?? "pause"}. Nothing is written or notified until you start it.`;
  let cumulative = 0;
  fillRows("preview-waves", p.waves.map((w) => {
    cumulative += w.size;
    const wave = spec.waves?.[w.index];
    return h(
      "tr",
      null,
      { "data-testid": `preview-wave-${w.index}` },
      td(`Wave ${w.index + 1}`),
      td(w.size, { class: "num", "data-testid": `preview-wave-size-${w.index}` }),
      td(cumulative, { class: "num" }),
      td(wave?.successThreshold !== void 0 ? `${Math.round(wave.successThreshold * 100)} %` : "", { class: "num" }),
      td(`${Math.round(w.failureThreshold * 100)} %`, { class: "num" }),
      td(wave?.bakeSeconds !== void 0 ? `${wave.bakeSeconds} s` : "", { class: "num" }),
      td(wave?.promotion ?? "")
    );
  }));
  const excluded = Object.entries(p.excluded).filter(([, list3]) => list3.count > 0);
  fillRows("preview-excluded", excluded.length === 0 ? [h("tr", null, void 0, td("none", { colspan: "3" }))] : excluded.map(([reason, list3]) => h(
    "tr",
    null,
    { "data-testid": `preview-excluded-${reason}` },
    td(reason.replace("_", " ")),
    td(list3.count, { class: "num" }),
    td(`${list3.ids.join(", ")}${list3.truncated ? ", …" : ""}`)
  )));
  el("preview-blast").textContent = `At most ${p.blastRadius.bound} devices can install a failing release before the rollout stops (${p.blastRadius.basis}).`;
  el("preview-estimate").textContent = `Estimated duration: at least ${p.estimatedSeconds} s (${p.estimateBasis}).`;
  const refused = p.refusal !== void 0;
  el("preview-refusal").textContent = refused ? `Creating it would be refused: ${p.refusal.message}` : "";
  el("preview-refusal").hidden = !refused;
  el("create-start").disabled = p.targets === 0 || refused;
  el("preview-empty").hidden = p.targets > 0;
}
async function preview(form) {
  const spec = specFromForm(form);
  const error = el("create-error");
  error.textContent = typeof spec === "string" ? spec : "";
  error.hidden = typeof spec !== "string";
  if (typeof spec === "string") return;
  const result = await api("/v1/rollouts/preview", { method: "POST", body: spec }).catch(failed("Rollout preview"));
  if (!result) return;
  draft = { spec, preview: result };
  renderPreview(spec, result);
  showStep("confirm");
}
async function start() {
  const current2 = draft;
  if (!current2) return;
  const { spec, preview: p } = current2;
  if (!confirmAction(`Start rollout ${p.id} of ${p.releaseId} to ${p.targets} devices? Wave 1 (${p.waves[0]?.size ?? 0} devices) is notified now.`)) return;
  const created = await api("/v1/rollouts", { method: "POST", body: { ...spec, id: p.id, start: true } }).catch(failed("Start"));
  if (!created) return;
  draft = null;
  location.hash = `#/rollouts/${enc(created.id)}`;
}
function discard() {
  if (!draft) return;
  banner(`Rollout ${draft.preview.id} was not created; nothing was written or notified.`);
  draft = null;
  showStep("form");
}
async function showCreate(params) {
  el("crumb").textContent = "/ new rollout";
  draft = null;
  showStep("form");
  el("create-error").hidden = true;
  el("create-readonly").hidden = session.operator;
  el("create-preview").disabled = !session.operator;
  const releases = await api("/v1/releases?limit=100").catch(failed("Releases"));
  if (!releases) return;
  const select = el("create-release");
  const wanted = params.get("release") ?? select.value;
  select.replaceChildren(h("option", "choose a release", { value: "" }), ...releases.releases.map((r) => h("option", `${r.releaseId} · ${r.version} · ${r.vendorId}/${r.classId}`, { value: r.releaseId })));
  select.value = releases.releases.some((r) => r.releaseId === wanted) ? wanted : "";
}
function initCreate() {
  const form = el("create-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (session.operator) void preview(form);
  });
  form.addEventListener("input", () => {
    el("create-error").hidden = true;
  });
  el("create-start").addEventListener("click", () => void start());
  el("create-discard").addEventListener("click", () => discard());
}

// orchestrator/dashboard/src/devices.ts
var DEVICES_PAGE = 50;
var ROLLOUTS_CHECKED = 50;
var FILTER_KEYS = ["q", "presence", "tag", "release", "state"];
var list2 = {
  filters: { q: "", presence: "", tag: "", release: "", state: "" },
  cursors: [void 0],
  page: 0,
  token: 0
};
function filtersFrom(params) {
  return { q: params.get("q") ?? "", presence: params.get("presence") ?? "", tag: params.get("tag") ?? "", release: params.get("release") ?? "", state: params.get("state") ?? "" };
}
function query(filters, cursor2) {
  const params = new URLSearchParams({ limit: String(DEVICES_PAGE) });
  if (filters.q) params.set("idPrefix", filters.q);
  if (filters.presence) params.set("presence", filters.presence);
  if (filters.tag) params.set("tag", filters.tag);
  if (filters.release) params.set("installedReleaseId", filters.release);
  if (filters.state) params.set("lastState", filters.state);
  if (cursor2) params.set("cursor", cursor2);
  return params.toString();
}
async function loadPage(page) {
  const token = ++list2.token;
  const result = await api(`/v1/devices?${query(list2.filters, list2.cursors[page])}`).catch(failed("Devices"));
  if (!result || token !== list2.token) return;
  list2.page = page;
  list2.cursors[page + 1] = result.nextCursor ?? void 0;
  fillRows("fleet-devices-table", result.devices.map((d) => h(
    "tr",
    null,
    { "data-testid": "fleet-device-row" },
    td(link(d.id, `#/devices/${enc(d.id)}`)),
    td(d.revoked ? "revoked" : d.presence ?? "unknown"),
    td(d.installedReleaseId ?? ""),
    td(d.lastStatus?.state ?? ""),
    td(when(d.lastSeenAt)),
    td(`${d.vendorId} / ${d.classId}`),
    td([...d.groups, ...d.tags.map((t) => `#${t}`)].join(" "))
  )), "No devices match on this page.");
  const more = result.nextCursor !== null;
  const note = result.devices.length === 0 && more ? "no match among the devices scanned for this page; Next page scans further" : `${result.devices.length} devices, in id order`;
  el("fleet-devices-note").textContent = `Page ${page + 1}: ${note}${more ? "" : " · last page"}`;
  el("fleet-devices-next").disabled = !more;
  el("fleet-devices-first").disabled = page === 0;
}
function showDevices(params) {
  el("crumb").textContent = "/ devices";
  list2.filters = filtersFrom(params);
  list2.cursors = [void 0];
  const form = el("fleet-devices-filters");
  for (const key of FILTER_KEYS) form.elements.namedItem(key).value = list2.filters[key];
  void loadPage(0);
}
function initDevices() {
  const stateSelect = el("fleet-devices-state");
  for (const s of DEVICE_STATES) stateSelect.append(h("option", s, { value: s }));
  const form = el("fleet-devices-filters");
  const apply = () => {
    const params = new URLSearchParams();
    for (const key of FILTER_KEYS) {
      const value = form.elements.namedItem(key).value.trim();
      if (value) params.set(key, value);
    }
    const hash = `#/devices${params.size > 0 ? `?${params}` : ""}`;
    if (location.hash === hash) showDevices(params);
    else location.hash = hash;
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  for (const select of form.querySelectorAll("select")) select.addEventListener("change", apply);
  el("fleet-devices-next").addEventListener("click", () => void loadPage(list2.page + 1));
  el("fleet-devices-first").addEventListener("click", () => void loadPage(0));
  el("btn-revoke").addEventListener("click", () => void revoke());
}
var shownDevice = null;
function renderRecord(d) {
  el("device-id").textContent = d.id;
  const status = el("device-presence");
  status.textContent = d.revoked ? "revoked" : d.presence ?? "presence unknown";
  status.dataset.status = d.revoked ? "aborted" : d.presence === "online" ? "completed" : "created";
  fillKv("device-record", [
    ["vendor / class", `${d.vendorId} / ${d.classId}`],
    ["groups", d.groups.join(", ") || "none"],
    ["tags", d.tags.join(", ") || "none"],
    ["installed release", d.installedReleaseId ? `${d.installedReleaseId} (sequence ${d.installedSequence ?? "?"})` : "none reported"],
    ["root version", d.rootVersion ?? "none reported"],
    ["last status", d.lastStatus ? `${d.lastStatus.state}${d.lastStatus.reason ? ` (${d.lastStatus.reason})` : ""} in ${d.lastStatus.rolloutId} at ${when(d.lastStatus.at)}` : "none"],
    ["last seen", when(d.lastSeenAt) || "never"],
    ["registered", when(d.createdAt)],
    ["revoked", d.revoked ? when(d.revokedAt) || "yes" : "no"],
    ["public key", d.publicKey]
  ].map(([label, value]) => [String(label), value]));
  el("btn-revoke").hidden = !session.operator;
  el("btn-revoke").disabled = d.revoked;
}
async function entryIn(rolloutId, deviceId) {
  try {
    return await api(`/v1/rollouts/${enc(rolloutId)}/devices/${enc(deviceId)}`);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return void 0;
    throw error;
  }
}
async function showDevice(id) {
  shownDevice = id;
  el("crumb").textContent = `/ devices / ${id}`;
  el("device-id").textContent = id;
  fillRows("device-rollouts", [], "Looking…");
  fillRows("device-history", [], "Looking…");
  const record = await api(`/v1/devices/${enc(id)}`).catch(failed(`Device ${id}`));
  if (!record || shownDevice !== id) return;
  renderRecord(record);
  void showHistory(id);
  const listed = await api(`/v1/rollouts?limit=${ROLLOUTS_CHECKED}`).catch(failed("Rollouts list"));
  if (shownDevice !== id) return;
  const candidates = /* @__PURE__ */ new Map();
  if (record.lastStatus?.rolloutId) candidates.set(record.lastStatus.rolloutId, void 0);
  for (const r of listed?.rollouts ?? []) if (ACTIVE_ROLLOUT.includes(r.status) || candidates.has(r.id)) candidates.set(r.id, r);
  const found = await Promise.all([...candidates].map(async ([rolloutId, row]) => ({ rolloutId, row, entry: await entryIn(rolloutId, id).catch(failed(`Rollout ${rolloutId}`)) })));
  if (shownDevice !== id) return;
  fillRows("device-rollouts", found.filter((f) => f.entry).map(({ rolloutId, row, entry }) => h(
    "tr",
    null,
    { "data-testid": `device-rollout-${rolloutId}` },
    td(link(rolloutId, `#/rollouts/${enc(rolloutId)}`)),
    td(row ? row.status : ""),
    td(entry.wave + 1, { class: "num" }),
    td(entry.state, { "data-testid": `device-rollout-state-${rolloutId}` }),
    td(entry.reason ?? ""),
    td(entry.supersededBy ? `superseded by ${entry.supersededBy}` : "")
  )), "In no active rollout, and none it reported in.");
}
async function showHistory(id) {
  const result = await api(`/v1/devices/${enc(id)}/history`).catch(failed(`History of ${id}`));
  if (!result || shownDevice !== id) return;
  el("device-history-note").textContent = `Every state change across rollouts, newest first (the ${result.limit} most recent are kept).`;
  fillRows("device-history", result.entries.map((e) => h(
    "tr",
    null,
    { "data-testid": "device-history-row" },
    td(when(e.at)),
    td(link(e.rolloutId, `#/rollouts/${enc(e.rolloutId)}`)),
    td(e.from ?? ""),
    td(e.state),
    td(e.reason ?? ""),
    td(e.source === "report" ? "device report" : "orchestrator"),
    td(e.detail?.seq !== void 0 ? `seq ${e.detail.seq}, directive ${e.detail.counter ?? "?"}` : "")
  )), "No transitions recorded.");
}
async function revoke() {
  const id = shownDevice;
  if (!id || !session.operator || !confirmAction(`Revoke device ${id}? The broker drops it and it can no longer connect. This cannot be undone.`)) return;
  const record = await api(`/v1/devices/${enc(id)}/revoke`, { method: "POST" }).catch(failed("Revoke"));
  if (record && shownDevice === id) renderRecord(record);
}

// orchestrator/dashboard/src/stream.ts
var RECONNECT_MS = 5e3;
var current = null;
var retry;
function setConnection(text, state3) {
  const pill = el("conn-status");
  pill.textContent = text;
  pill.dataset.state = state3;
}
function closeStream() {
  clearTimeout(retry);
  current?.close();
  current = null;
}
function resetConnection() {
  setConnection("not connected", "idle");
}
function openStream(options) {
  closeStream();
  const params = new URLSearchParams({ token: session.token ?? "" });
  if (options.rolloutId) params.set("rollout", options.rolloutId);
  if (options.from === "all") params.set("from", "0");
  else if (options.from) params.set("lastEventId", options.from);
  const source = new EventSource(`/v1/events?${params}`);
  current = source;
  let lastId = "";
  let opened = false;
  source.onopen = () => {
    setConnection("live", "live");
    if (opened) options.onReconnect();
    opened = true;
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setConnection("offline", "offline");
      retry = setTimeout(() => {
        if (current === source) openStream({ ...options, from: lastId || options.from });
      }, RECONNECT_MS);
    } else {
      setConnection("reconnecting", "reconnecting");
    }
  };
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (message.lastEventId) lastId = message.lastEventId;
    options.onEvent(event, message.lastEventId);
  };
}

// orchestrator/dashboard/src/overview.ts
var SUMMARY_REFRESH_MS = 5e3;
var SUMMARY_STALE_RETRY_MS = 1500;
var ROLLOUTS_LISTED = 50;
var STATUS_OF = { "rollout.started": "running", "rollout.resumed": "running", "rollout.paused": "paused", "rollout.aborted": "aborted", "rollout.completed": "completed" };
var state = {
  active: false,
  summary: null,
  rollouts: /* @__PURE__ */ new Map(),
  /** The event log's position the rollout list reflects: older events are not applied. */
  listEventId: "",
  refusals: {}
};
function renderSummary() {
  const s = state.summary;
  if (!s) return;
  el("fleet-total").textContent = String(s.total);
  el("fleet-revoked").textContent = String(s.revoked);
  el("fleet-computed").textContent = (s.computedAt ?? "").slice(11, 19);
  fillKv("fleet-presence", [["online", s.byPresence.online, "presence-online"], ["offline", s.byPresence.offline, "presence-offline"], ["unknown", s.byPresence.unknown, "presence-unknown"]]);
  fillKv("fleet-versions", s.byInstalledRelease.slice(0, 20).map((r) => [r.releaseId ?? "none reported", r.count]));
  fillKv("fleet-classes", s.byClass.slice(0, 20).map((c) => [`${c.vendorId} / ${c.classId}`, c.count]));
}
function renderRollouts() {
  const rows = [...state.rollouts.values()];
  fillRows("rollouts-table", rows.map((r) => h(
    "tr",
    null,
    { "data-testid": `rollout-row-${r.id}` },
    td(link(r.id, `#/rollouts/${enc(r.id)}`)),
    td(link(r.releaseId, `#/releases/${enc(r.releaseId)}`)),
    td(r.status, { "data-testid": `rollout-row-status-${r.id}` }),
    td(`${Math.min(r.currentWave + 1, r.waveCount)} / ${r.waveCount}`),
    td(bar(r.counts, r.total)),
    td(sum(r.counts, ["succeeded"]), { class: "num" }),
    td(sum(r.counts, FAILED_STATES), { class: "num" }),
    td(r.total, { class: "num" }),
    td(when(r.createdAt))
  )), "No rollouts yet.");
  const totals = {};
  for (const r of rows) if (ACTIVE_ROLLOUT.includes(r.status)) for (const s of DEVICE_STATES) totals[s] = (totals[s] ?? 0) + (r.counts[s] ?? 0);
  fillKv("fleet-states", DEVICE_STATES.filter((s) => (totals[s] ?? 0) > 0).map((s) => [s, totals[s]]));
}
function renderRefusals() {
  fillKv("broker-refusals", Object.entries(state.refusals).sort((a, b) => b[1] - a[1]).map(([reason, n]) => [reason, n]));
}
function addRefusals(counts) {
  for (const [reason, n] of Object.entries(counts ?? {})) state.refusals[reason] = (state.refusals[reason] ?? 0) + n;
  invalidate(renderRefusals);
}
async function loadSummary() {
  const summary = await api("/v1/fleet/summary").catch(failed("Fleet summary"));
  if (!summary || !state.active) return;
  state.summary = summary;
  invalidate(renderSummary);
  if (Date.now() - Date.parse(summary.computedAt) > SUMMARY_REFRESH_MS) throttled("summary-stale", SUMMARY_STALE_RETRY_MS, () => void loadSummary());
}
async function loadRollouts() {
  const result = await apiWithPosition(`/v1/rollouts?limit=${ROLLOUTS_LISTED}`).catch(failed("Rollouts list"));
  if (!result || !state.active) return "";
  state.rollouts = new Map(result.body.rollouts.map((r) => [r.id, r]));
  state.listEventId = result.eventId;
  invalidate(renderRollouts);
  return result.eventId;
}
function onEvent(e, id) {
  if (e.type === "stream.gap") return void refetch();
  if (e.type === "broker.refusals") return addRefusals(e.counts);
  if (e.type === "rollout.created") return throttled("rollouts", 1e3, () => void loadRollouts());
  if (id && compareEventIds(id, state.listEventId) <= 0) return;
  const row = e.rolloutId ? state.rollouts.get(e.rolloutId) : void 0;
  if (!row) return;
  if (e.type === "rollout.counts" && e.counts && e.waves) {
    row.counts = e.counts;
    const current2 = e.waves.findIndex((w) => w.status !== "done" && w.status !== "pending");
    if (current2 >= 0) row.currentWave = current2;
    throttled("summary", SUMMARY_REFRESH_MS, () => void loadSummary());
  } else if (STATUS_OF[e.type]) {
    row.status = STATUS_OF[e.type];
  } else if (e.type === "wave.notifying" && e.wave !== void 0) {
    row.currentWave = e.wave;
  }
  invalidate(renderRollouts);
}
function refetch() {
  void loadSummary();
  void loadRollouts();
}
function showOverview() {
  state.active = true;
  el("crumb").textContent = "";
  invalidate(renderRefusals);
  void loadSummary();
  void loadRollouts().then((position) => {
    if (state.active) openStream({ from: position, onEvent, onReconnect: refetch });
  });
}
function leaveOverview() {
  state.active = false;
}

// orchestrator/dashboard/src/releases.ts
var RELEASES_LISTED = 100;
function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
async function showReleases() {
  el("crumb").textContent = "/ releases";
  const result = await api(`/v1/releases?limit=${RELEASES_LISTED}`).catch(failed("Releases"));
  if (!result) return;
  fillRows("releases-table", result.releases.map((r) => h(
    "tr",
    null,
    { "data-testid": `release-row-${r.releaseId}` },
    td(link(r.releaseId, `#/releases/${enc(r.releaseId)}`)),
    td(r.version),
    td(r.sequence, { class: "num" }),
    td(`${r.vendorId} / ${r.classId}`),
    td(size(r.payload.size), { class: "num" }),
    td(r.digest.slice(0, 16), { title: r.digest, class: "mono" }),
    td(when(r.importedAt))
  )), "No releases imported yet.");
}
var shown = null;
async function showRelease(id) {
  shown = id;
  el("crumb").textContent = `/ releases / ${id}`;
  el("release-id").textContent = id;
  const [release, root] = await Promise.all([
    api(`/v1/releases/${enc(id)}`).catch(failed(`Release ${id}`)),
    api("/v1/roots/current").catch((error) => {
      if (error instanceof ApiFailure && error.status === 404) return void 0;
      return failed("Current root")(error);
    })
  ]);
  if (!release || shown !== id) return;
  const m = release.envelope.signed;
  fillKv("release-manifest", [
    ["version", m.version],
    ["sequence", m.sequence],
    ["vendor / class", `${m.vendorId} / ${m.classId}`],
    ["payload", `${size(m.payload.size)} · sha256 ${m.payload.sha256}`],
    ["payload uri", m.payload.uri],
    ["minimum installed sequence", m.minSequence ?? "none"],
    ["created", when(m.createdAt)],
    ["expires", when(m.expiresAt) || "never"],
    ["manifest digest", release.digest],
    ["imported", when(release.importedAt)]
  ].map(([label, value]) => [String(label), value]));
  const role = root?.signed.roles.release;
  const releaseKeys = new Set(role?.keyids ?? []);
  const signers = release.envelope.signatures;
  const known = signers.filter((s) => releaseKeys.has(s.keyid)).length;
  el("release-signers-note").textContent = root ? `${signers.length} signature(s); ${known} by release keys of the current root (version ${root.signed.version}), which requires ${role?.threshold ?? "?"}.` : `${signers.length} signature(s); no root is published, so no key can be named.`;
  fillRows("release-signatures", signers.map((s) => h(
    "tr",
    null,
    { "data-testid": "signature-row" },
    td(s.keyid, { class: "mono" }),
    td(releaseKeys.has(s.keyid) ? `release key (root v${root.signed.version})` : root ? "not a release key of the current root" : "unknown"),
    td(`${s.sig.slice(0, 16)}…`, { class: "mono", title: s.sig })
  )), "Unsigned.");
  el("release-manifest-json").textContent = JSON.stringify(m, null, 2);
  el("release-new-rollout").setAttribute("href", `#/new-rollout?release=${enc(id)}`);
}

// orchestrator/dashboard/src/rollout.ts
var DEVICE_PAGE = 50;
var CHART_MAX_POINTS = 5e3;
var CHART_HEIGHT = 240;
var DEVICES_REFRESH_MS = 3e3;
var RECENT_REJECTIONS = 20;
var WAVE_STATUS_OF = { "wave.notifying": "notifying", "wave.baking": "baking", "wave.awaiting_approval": "awaiting_approval", "wave.done": "done" };
var state2 = {
  id: null,
  view: null,
  viewEventId: "",
  chart: { t: [], ok: [], bad: [] },
  plot: null,
  devices: { rows: [], cursors: [void 0], page: 0, next: void 0, state: "", wave: "" },
  rejections: []
};
var waveName = (index) => `Wave ${index + 1}`;
function renderActions(r) {
  el("operator-actions").hidden = !session.operator;
  const wave = r.waves[r.currentWave];
  const awaiting = ACTIVE_ROLLOUT.includes(r.status) && wave?.status === "awaiting_approval" && !wave.approved;
  const callout = el("approval-callout");
  callout.hidden = !awaiting;
  if (awaiting) {
    el("approval-text").textContent = session.operator ? `${waveName(r.currentWave)} is done and awaiting your approval: the next wave starts only when you approve it.` : `${waveName(r.currentWave)} is awaiting an operator's approval before the next wave starts.`;
  }
  el("btn-approve-callout").hidden = !session.operator;
  if (!session.operator) return;
  el("btn-pause").disabled = r.status !== "running";
  el("btn-resume").disabled = r.status !== "paused";
  el("btn-abort").disabled = !ACTIVE_ROLLOUT.includes(r.status);
  const manual = r.spec?.waves?.[r.currentWave]?.promotion === "manual";
  el("btn-approve").disabled = !ACTIVE_ROLLOUT.includes(r.status) || !wave || wave.status === "done" || wave.approved || !(manual || wave.status === "awaiting_approval");
}
function renderView() {
  const r = state2.view;
  if (!r) return;
  el("crumb").textContent = `/ rollouts / ${r.id}`;
  el("rollout-id").textContent = r.id;
  const release = el("rollout-release");
  release.replaceChildren(link(r.releaseId, `#/releases/${enc(r.releaseId)}`));
  el("rollout-total").textContent = String(r.total);
  el("rollout-wave").textContent = `${Math.min(r.currentWave + 1, r.waves.length)} of ${r.waves.length}`;
  el("rollout-blast").textContent = r.blastRadius ? String(r.blastRadius.bound) : "?";
  el("rollout-blast").title = r.blastRadius?.basis ?? "";
  const status = el("rollout-status");
  const awaiting = r.waves[r.currentWave]?.status === "awaiting_approval" && ACTIVE_ROLLOUT.includes(r.status);
  status.textContent = awaiting ? `${r.status} · awaiting approval` : r.status;
  status.dataset.status = awaiting ? "awaiting" : r.status;
  el("rollout-reason").textContent = r.statusReason ?? "";
  renderActions(r);
  el("waves").replaceChildren(...r.waves.map((w) => {
    const ok = sum(w.counts, ["succeeded"]);
    const bad = sum(w.counts, FAILED_STATES);
    const run = sum(w.counts, RUNNING_STATES);
    const spec = r.spec?.waves?.[w.index];
    const promotion = spec?.promotion === "manual" ? " · manual promotion" : "";
    return h(
      "li",
      null,
      { "data-testid": `wave-${w.index}`, "data-status": w.status, "data-current": String(w.index === r.currentWave) },
      h("span", waveName(w.index), { class: "wave-name" }),
      bar(w.counts, w.size),
      h("span", `${w.status} · ${ok} / ${w.size} succeeded · ${bad} failed · ${run} in progress`, { class: "wave-label", "data-testid": `wave-${w.index}-label` }),
      h("span", spec ? `success ≥ ${Math.round(spec.successThreshold * 100)} % · failure ≤ ${Math.round(spec.failureThreshold * 100)} % · bake ${spec.bakeSeconds} s${promotion}` : "", { class: "wave-spec muted" })
    );
  }));
  fillKv("rollout-counts", DEVICE_STATES.map((s) => [s, r.counts?.[s] ?? 0, `count-${s}`]));
  fillKv("reasons-table", Object.entries(r.reasons ?? {}).sort((a, b) => b[1] - a[1]).map(([reason, n]) => [reason, n, `reason-${reason}`]));
  const waveSelect = el("devices-wave");
  if (waveSelect.options.length !== r.waves.length + 1) {
    waveSelect.replaceChildren(h("option", "any", { value: "" }), ...r.waves.map((w) => h("option", String(w.index + 1), { value: String(w.index) })));
    waveSelect.value = state2.devices.wave;
  }
}
var TIME_INCREMENTS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
function renderChart() {
  const box = el("rollout-chart");
  const UPlot = window.uPlot;
  if (!state2.view || box.offsetParent === null || !UPlot) return;
  const data = [state2.chart.t, state2.chart.ok, state2.chart.bad];
  box.dataset.points = String(state2.chart.t.length);
  const width = Math.max(300, box.clientWidth);
  if (!state2.plot) {
    state2.plot = new UPlot({
      width,
      height: CHART_HEIGHT,
      tzDate: (ts) => UPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      series: [{ label: "time (UTC)", value: (_u, v) => v === null ? "–" : clock(v) }, { label: "succeeded", stroke: "#2f9e44", width: 2 }, { label: "failed", stroke: "#e03131", width: 2 }],
      axes: [{ incrs: TIME_INCREMENTS, space: 70, values: (_u, splits) => splits.map((s) => clock(s)) }, { size: 50 }],
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } }
    }, data, box);
  } else {
    if (state2.plot.width !== width) state2.plot.setSize({ width, height: CHART_HEIGHT });
    state2.plot.setData(data);
  }
}
function renderDevices() {
  const d = state2.devices;
  const rows = [...d.rows].sort((a, b) => stateRank(a.state) - stateRank(b.state) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  fillRows("devices-table", rows.map((row) => h(
    "tr",
    null,
    { "data-testid": "device-row" },
    td(link(row.id, `#/devices/${enc(row.id)}`)),
    td(row.wave + 1, { class: "num" }),
    td(row.state),
    td(row.state === "downloading" ? `${row.progress ?? 0}%` : "", { class: "num" }),
    td(row.reason || "")
  )), "No devices on this page.");
  el("devices-note").textContent = `Page ${d.page + 1}: ${d.rows.length} devices, by state then id${d.next ? "" : " · last page"}`;
  el("devices-next").disabled = !d.next;
  el("devices-first").disabled = d.page === 0;
}
function renderRejections() {
  fillRows("recent-rejections", state2.rejections.map((e) => h(
    "tr",
    null,
    { "data-testid": "rejection-row" },
    td((e.at ?? "").slice(11, 19)),
    td(link(e.deviceId ?? "", `#/devices/${enc(e.deviceId ?? "")}`)),
    td(e.state),
    td(e.reason)
  )));
}
function addChartPoint(t, counts) {
  const c = state2.chart;
  let i = c.t.length;
  while (i > 0 && c.t[i - 1] > t) i--;
  c.t.splice(i, 0, t);
  c.ok.splice(i, 0, sum(counts, ["succeeded"]));
  c.bad.splice(i, 0, sum(counts, FAILED_STATES));
  if (c.t.length > CHART_MAX_POINTS) for (const a of [c.t, c.ok, c.bad]) a.splice(0, a.length - CHART_MAX_POINTS);
}
function onEvent2(e, id) {
  if (e.type === "stream.gap") return void loadView(state2.id);
  if (e.type === "broker.refusals") return addRefusals(e.counts);
  const r = state2.view;
  if (!r || e.rolloutId !== r.id) return;
  if (e.type === "rollout.counts" && e.counts && e.at) {
    addChartPoint(Date.parse(e.at) / 1e3, e.counts);
    invalidate(renderChart);
  }
  if (e.type === "device.rejected") {
    state2.rejections.unshift(e);
    state2.rejections.length = Math.min(state2.rejections.length, RECENT_REJECTIONS);
    return invalidate(renderRejections);
  }
  if (id && compareEventIds(id, state2.viewEventId) <= 0) return;
  if (e.type === "rollout.counts" && e.counts && e.waves) {
    r.counts = e.counts;
    r.reasons = e.reasons ?? {};
    for (const w of e.waves) {
      const wave = r.waves[w.index];
      if (wave) Object.assign(wave, { status: w.status, counts: w.counts });
    }
    throttled("devices", DEVICES_REFRESH_MS, () => void loadDevices(state2.devices.page));
  } else if (STATUS_OF[e.type]) {
    r.status = STATUS_OF[e.type];
    if (e.reason !== void 0) r.statusReason = e.reason;
  } else if (WAVE_STATUS_OF[e.type] && e.wave !== void 0 && r.waves[e.wave]) {
    r.waves[e.wave].status = WAVE_STATUS_OF[e.type];
    if (e.type === "wave.notifying") r.currentWave = e.wave;
  } else if (e.type === "wave.approved" && e.wave !== void 0 && r.waves[e.wave]) {
    r.waves[e.wave].approved = true;
  }
  invalidate(renderView);
}
async function loadView(id) {
  const result = await apiWithPosition(`/v1/rollouts/${enc(id)}`).catch(failed(`Rollout ${id}`));
  if (!result || state2.id !== id) return false;
  state2.view = result.body;
  state2.viewEventId = result.eventId;
  invalidate(renderView, renderChart);
  return true;
}
async function loadDevices(page) {
  const r = state2.view;
  const d = state2.devices;
  if (!r) return;
  const params = new URLSearchParams({ limit: String(DEVICE_PAGE) });
  if (d.state) params.set("state", d.state);
  if (d.wave !== "") params.set("wave", d.wave);
  const cursor2 = d.cursors[page];
  if (cursor2) params.set("cursor", cursor2);
  const result = await api(`/v1/rollouts/${enc(r.id)}/devices?${params}`).catch(failed("Devices page"));
  if (!result || state2.view !== r) return;
  d.page = page;
  d.rows = result.devices;
  d.next = result.cursor;
  d.cursors[page + 1] = result.cursor;
  invalidate(renderDevices);
}
var CONFIRM = {
  pause: (id) => `Pause rollout ${id}? Devices already notified keep going; no new wave starts.`,
  resume: (id) => `Resume rollout ${id}?`,
  approve: (id, v) => `Approve ${waveName(v.currentWave).toLowerCase()} of ${id} and promote to the next one?`,
  abort: (id) => `Abort rollout ${id}? Pending devices are canceled and notified ones get a cancel. This cannot be undone.`
};
async function act(action) {
  const r = state2.view;
  const ask = CONFIRM[action];
  if (!r || !ask || !session.operator || !confirmAction(ask(r.id, r))) return;
  const body = action === "pause" || action === "abort" ? { reason: `${action === "pause" ? "paused" : "aborted"} from the console` } : {};
  const result = await apiWithPosition(`/v1/rollouts/${enc(r.id)}/${action}`, { method: "POST", body }).catch(failed(action));
  if (result && state2.view === r) {
    state2.view = result.body;
    invalidate(renderView);
  }
}
function showRollout(id) {
  state2.id = id;
  state2.view = null;
  state2.viewEventId = "";
  state2.chart = { t: [], ok: [], bad: [] };
  state2.plot?.destroy();
  state2.plot = null;
  state2.rejections = [];
  state2.devices = { rows: [], cursors: [void 0], page: 0, next: void 0, state: "", wave: "" };
  el("devices-state").value = "";
  invalidate(renderRejections, renderDevices);
  void loadView(id).then((ok) => {
    if (!ok || state2.id !== id) return;
    openStream({ rolloutId: id, from: "all", onEvent: onEvent2, onReconnect: () => void loadView(id) });
    void loadDevices(0);
  });
}
function leaveRollout() {
  state2.id = null;
}
function initRollout() {
  const stateSelect = el("devices-state");
  for (const s of DEVICE_STATES) stateSelect.append(h("option", s, { value: s }));
  for (const button of document.querySelectorAll("[data-action]")) button.addEventListener("click", () => void act(button.dataset.action ?? ""));
  stateSelect.addEventListener("change", () => {
    Object.assign(state2.devices, { state: stateSelect.value, cursors: [void 0], page: 0 });
    void loadDevices(0);
  });
  const waveSelect = el("devices-wave");
  waveSelect.addEventListener("change", () => {
    Object.assign(state2.devices, { wave: waveSelect.value, cursors: [void 0], page: 0 });
    void loadDevices(0);
  });
  el("devices-next").addEventListener("click", () => void loadDevices(state2.devices.page + 1));
  el("devices-first").addEventListener("click", () => void loadDevices(0));
  new ResizeObserver(() => invalidate(renderChart)).observe(el("rollout-chart"));
}

// orchestrator/dashboard/src/main.ts
var TOKEN_KEY = "fleet-ota.token";
var ROLLOUT_PATH = /^\/rollouts\/([A-Za-z0-9._-]{1,64})$/;
var DEVICE_PATH = /^\/devices\/([A-Za-z0-9_-]{1,64})$/;
var RELEASE_PATH = /^\/releases\/([A-Za-z0-9._-]{1,64})$/;
var PAGES = ["overview", "rollout", "devices", "device", "releases", "release", "create", "audit"];
var NAV = { overview: "overview", rollout: "overview", devices: "devices", device: "devices", releases: "releases", release: "releases", create: "create", audit: "audit" };
function show(page) {
  for (const p of PAGES) el(`${p}-view`).hidden = p !== page;
  for (const link2 of document.querySelectorAll("[data-nav]")) link2.classList.toggle("current", link2.dataset.nav === NAV[page]);
  if (page !== "overview") leaveOverview();
  if (page !== "rollout") leaveRollout();
  if (page !== "overview" && page !== "rollout") {
    closeStream();
    resetConnection();
  }
}
function route() {
  const hash = location.hash || "#/";
  const [path = "", query2 = ""] = hash.slice(1).split("?", 2);
  const params = new URLSearchParams(query2);
  banner(null);
  let m;
  if (m = ROLLOUT_PATH.exec(path)) {
    show("rollout");
    showRollout(m[1]);
  } else if (path === "/devices") {
    show("devices");
    showDevices(params);
  } else if (m = DEVICE_PATH.exec(path)) {
    show("device");
    void showDevice(m[1]);
  } else if (path === "/releases") {
    show("releases");
    void showReleases();
  } else if (m = RELEASE_PATH.exec(path)) {
    show("release");
    void showRelease(m[1]);
  } else if (path === "/audit") {
    show("audit");
    void showAudit();
  } else if (path === "/new-rollout") {
    show("create");
    void showCreate(params);
  } else {
    show("overview");
    showOverview();
  }
}
function signOut(message) {
  closeStream();
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.operator = false;
  for (const p of PAGES) el(`${p}-view`).hidden = true;
  for (const id of ["role", "sign-out", "nav"]) el(id).hidden = true;
  el("login").hidden = false;
  resetConnection();
  const error = el("login-error");
  error.textContent = message ?? "";
  error.hidden = !message;
}
async function signIn(token) {
  session.token = token;
  let who;
  try {
    who = await api("/v1/whoami");
  } catch (error) {
    const e = error;
    if (e.status === 404) who = { role: "read", operator: false };
    else {
      if (e.code !== "unauthorized") banner(`Sign-in failed: ${e.code ?? "error"}${e.message ? ` (${e.message})` : ""}`);
      return;
    }
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  session.operator = who.operator === true || who.role === "operator";
  document.body.dataset.operator = String(session.operator);
  el("login").hidden = true;
  el("login-error").hidden = true;
  const role = el("role");
  role.textContent = session.operator ? "operator" : "read-only";
  role.hidden = false;
  el("sign-out").hidden = false;
  el("nav").hidden = false;
  route();
}
function tokenFromHash() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  const rest = location.hash.replace(/(?:^#|&)token=[^&]+/, "").replace(/^&/, "#");
  history.replaceState(null, "", `${location.pathname}${location.search}${rest.startsWith("#/") ? rest : "#/"}`);
  return decodeURIComponent(match[1]);
}
function init() {
  session.onUnauthorized = signOut;
  el("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = el("token-input");
    const value = input.value.trim();
    input.value = "";
    if (value) void signIn(value);
  });
  el("sign-out").addEventListener("click", () => signOut());
  initRollout();
  initDevices();
  initCreate();
  initAudit();
  window.addEventListener("hashchange", () => {
    if (session.token) route();
  });
  const token = tokenFromHash() ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) void signIn(token);
  else signOut();
}
init();

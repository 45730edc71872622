// The ledger's web console: support staff and auditors read a tenant's state, a person's
// or a subscription's timeline, explanations, diffs, what-if answers and audit results in
// a browser. Every page is built from the JSON of the HTTP routes (the same answers as
// `ledger-replay ... --json`); nothing here decides anything.
//
// Safety: text from the ledger is only ever put into the page as text (textContent,
// never innerHTML), so a user name like "<img onerror=...>" shows as typed. The token
// lives in sessionStorage (gone with the tab) and goes in the Authorization header only,
// never in a URL. The server's Content-Security-Policy allows no other script.
"use strict";

const TOKEN_KEY = "ledger.token";
const DAY_MS = 24 * 3600 * 1000;

// ------------------------------------------------------------------ DOM helpers

// An element with attributes (on* handlers as functions, the rest as attributes) and
// children (strings become text nodes; null/undefined are skipped).
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function text(v) {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

// A table from column titles and rows of cells (a cell: text, a node or [nodes]).
function table(columns, rows, emptyText) {
  if (rows.length === 0) return el("p", { className: "muted" }, emptyText || "none");
  const head = el("tr", {}, columns.map((c) => el("th", { className: c.num ? "num" : null }, c.title || c)));
  const body = rows.map((r) =>
    el("tr", {}, r.map((cell, i) => el("td", { className: columns[i].num ? "num" : null }, cell))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

function tag(label, kind) { return el("span", { className: "tag " + (kind || "") }, label); }

function main() { return document.getElementById("main"); }

function show(...nodes) {
  const m = main();
  m.replaceChildren();
  append(m, nodes);
}

function errorBox(err) { return el("p", { className: "error", role: "alert" }, err.message || String(err)); }

// ------------------------------------------------------------------ the API

class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}` + (status ? ` (HTTP ${status})` : ""));
    this.status = status;
    this.code = code;
  }
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

// GET (or `method`) a route with the token; the parsed JSON, or the text for non-JSON.
async function api(path, { method = "GET", body = null, raw = false } = {}) {
  const headers = { Authorization: "Bearer " + token() };
  if (body !== null) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "unreachable", "ledgerd did not answer: " + e.message);
  }
  if (raw && res.ok) return res;
  const type = res.headers.get("Content-Type") || "";
  const payload = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    const e = payload && payload.code ? payload : { code: "http_" + res.status, message: text(payload) };
    throw new ApiError(res.status, e.code, e.message);
  }
  return payload;
}

function tenantPath(t, what, params) {
  let path = "/v1/tenants/" + encodeURIComponent(t) + (what ? "/" + what : "");
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== null && v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? path + "?" + s : path;
}

// ------------------------------------------------------------------ links and routes

function href(...parts) { return "#/" + parts.map(encodeURIComponent).join("/"); }
function link(label, ...parts) { return el("a", { href: href(...parts) }, label); }
function userLink(t, u) { return link(u, "t", t, "user", u); }
function subLink(t, s) { return link(s, "t", t, "sub", s); }

function setTenantNav(t, current) {
  const nav = document.getElementById("tenant-nav");
  nav.replaceChildren();
  if (!t) return;
  const pages = [["Overview", ""], ["What changed", "diff"], ["What if", "what-if"], ["Audit", "audit"]];
  for (const [label, page] of pages) {
    const a = el("a", { href: page ? href("t", t, page) : href("t", t), className: page === current ? "current" : null }, label);
    nav.append(a);
  }
}

async function route() {
  const signOut = document.getElementById("sign-out");
  signOut.hidden = !token();
  document.getElementById("who").textContent = token() ? "signed in (token kept in this tab only)" : "";
  if (!token()) { setTenantNav(null); return signInPage(); }
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter((p) => p !== "").map(decodeURIComponent);
  try {
    if (parts.length === 0) { setTenantNav(null); return await tenantsPage(); }
    if (parts[0] !== "t" || parts.length < 2) throw new ApiError(0, "not_found", "no such page");
    const t = parts[1];
    const page = parts[2] || "";
    setTenantNav(t, page);
    if (page === "") return await overviewPage(t);
    if (page === "user" && parts[3]) return await personPage(t, parts[3]);
    if (page === "sub" && parts[3]) return await subscriptionPage(t, parts[3]);
    if (page === "diff") return diffPage(t);
    if (page === "what-if") return whatIfPage(t);
    if (page === "audit") return await auditPage(t);
    throw new ApiError(0, "not_found", "no such page");
  } catch (e) {
    show(errorBox(e), e.status === 401 ? el("p", {}, "Sign out and paste a valid token.") : null);
  }
}

// ------------------------------------------------------------------ sign in, tenants

function signInPage() {
  const input = el("input", { type: "password", id: "token", autocomplete: "off", size: 48, required: true });
  const out = el("div");
  const form = el("form", { className: "inline", id: "sign-in" },
    el("label", {}, "Token", input), el("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      await api("/v1/tenants");
      location.hash = "#/";
      route();
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      out.replaceChildren(errorBox(e));
    }
  });
  show(el("h1", {}, "Sign in"),
    el("p", { className: "muted" }, "Paste a ledgerd token. It is kept in this browser tab only (sessionStorage) and sent in the Authorization header."),
    form, out);
}

async function tenantsPage() {
  const tenants = [];
  let after = null;
  do {
    const page = await api("/v1/tenants" + (after ? "?after=" + encodeURIComponent(after) : ""));
    tenants.push(...page.tenants);
    after = page.next || null;
  } while (after);
  show(el("h1", {}, "Tenants"),
    table(["Tenant"], tenants.map((t) => [link(t, "t", t)]), "This token reaches no tenant."));
}

// ------------------------------------------------------------------ tenant overview

function seatsUsed(s) { return s.seat_model === "concurrent" ? (s.leases || []).length : s.assigned.length; }

function pendingText(p) {
  return `${p.change} ${p.seats !== undefined ? p.seats + " seats" : p.edition || ""} at ${p.effective_at || "renewal"}`;
}

async function overviewPage(t) {
  const state = await api(tenantPath(t, "state"));
  const violations = state.subscriptions.reduce((n, s) => n + s.violations.length, 0);
  const card = (label, value, id) => el("div", { className: "card", id }, el("div", { className: "muted" }, label), el("div", { className: "big" }, value));
  show(
    el("h1", {}, "Tenant ", t),
    el("p", { className: "muted" }, `version ${state.version}, position ${state.position}, ledger time ${state.at}`),
    el("div", { className: "cards" },
      card("members", state.members.length, "card-members"),
      card("groups", state.groups.length, "card-groups"),
      card("subscriptions", state.subscriptions.length, "card-subscriptions"),
      card("violations", violations, "card-violations")),
    el("h2", {}, "Subscriptions"),
    el("div", { id: "subscriptions" }, table(
      ["Subscription", "Product", "Edition", { title: "Seats used / total", num: true }, "Model", "Status", "Renewal", "Pending changes", "Violations"],
      state.subscriptions.map((s) => [
        subLink(t, s.subscription), s.product, s.edition, `${seatsUsed(s)} / ${s.seats}`, s.seat_model, s.status,
        s.period_end ? `${s.auto_renew ? "renews" : "ends"} ${s.period_end}` : "",
        s.pending.map(pendingText).join("; "),
        s.violations.map((v) => tag(text(v), "rejected")),
      ]), "No subscriptions.")),
    el("h2", {}, "Members"),
    el("div", { id: "members" }, table(["User", "Email", "Role", "Status"],
      state.members.map((m) => [userLink(t, m.user), m.email, m.role, m.status]), "No members.")),
    el("h2", {}, "Groups"),
    el("div", { id: "groups" }, table(["Group", "Name", "Members"],
      state.groups.map((g) => [g.group, g.name, joinNodes(g.members.map((u) => userLink(t, u)))]), "No groups.")));
}

function joinNodes(nodes, sep = ", ") {
  const out = [];
  nodes.forEach((n, i) => { if (i) out.push(sep); out.push(n); });
  return out;
}

// ------------------------------------------------------------------ timelines

// One history entry (an event, its caused events, or a rejected attempt) as table rows.
function timelineRows(t, entry, depth, rows) {
  const indent = depth ? el("span", { className: "caused" }, "↳ ") : null;
  if (entry.rejected) {
    rows.push([entry.at, "—", entry.actor, [indent, tag("rejected", "rejected"), entry.command_type],
      `${entry.code}: ${entry.message}`]);
    return;
  }
  const backdated = entry.effective_at < entry.recorded_at;
  rows.push([
    entry.recorded_at,
    [entry.effective_at === entry.recorded_at ? "same" : entry.effective_at, backdated ? [" ", tag("backdated", "backdated")] : null],
    entry.actor,
    [indent, entry.type, entry.context ? [" ", tag("context")] : null],
    [entry.summary, entry.reason ? el("div", { className: "muted" }, "reason: ", entry.reason) : null,
      el("div", { className: "muted" }, `#${entry.position} v${entry.version}`)],
  ]);
  for (const c of entry.caused || []) timelineRows(t, c, depth + 1, rows);
}

// A paged timeline: history?KIND=ID, with "more" following the cursor.
function timeline(t, kind, id) {
  const box = el("div", { id: "timeline" });
  const rows = [];
  const more = el("button", { type: "button", className: "secondary", hidden: true }, "Older entries…");
  let after = null;
  const load = async () => {
    try {
      const page = await api(tenantPath(t, "history", { [kind]: id, limit: 200, after }));
      for (const e of page.entries) timelineRows(t, e, 0, rows);
      after = page.next || null;
      box.replaceChildren(table(["Recorded", "Effective", "Actor", "What", "Details"], rows, "Nothing touched this yet."), more);
      more.hidden = !after;
    } catch (e) {
      box.replaceChildren(errorBox(e));
    }
  };
  more.addEventListener("click", load);
  load();
  return box;
}

// ------------------------------------------------------------------ a person

function chain(explanation) {
  const items = (explanation.because || []).map((b) => el("li", {},
    el("span", { className: "muted" }, `#${b.position} ${b.effective_at} `), b.summary,
    b.effective_at < b.recorded_at ? [" ", tag("backdated", "backdated")] : null));
  return el("ol", { className: "chain" }, items,
    explanation.omitted ? el("li", { className: "muted" }, `${explanation.omitted} earlier events omitted`) : null);
}

function verdict(x) {
  return x.allowed ? tag("allowed", "allowed") : tag(`denied: ${x.reason}`, "denied");
}

async function personPage(t, user) {
  const state = await api(tenantPath(t, "state"));
  const member = state.members.find((m) => m.user === user);
  const products = [...new Set(state.subscriptions.map((s) => s.product))].sort();
  const access = el("div", { id: "access" }, el("p", { className: "muted" }, "…"));
  const explainOut = el("div", { id: "explain-result" });
  const productSel = el("select", { id: "explain-product" }, products.map((p) => el("option", { value: p }, p)));
  const atInput = el("input", { id: "explain-at", placeholder: "2026-03-01T00:00:00Z", size: 24 });
  const form = el("form", { className: "inline", id: "explain-form" },
    el("label", {}, "Product", productSel), el("label", {}, "At (RFC 3339, empty = now)", atInput),
    el("button", { type: "submit" }, "Explain"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const x = await api(tenantPath(t, "explain", { user, product: productSel.value, at: atInput.value.trim() }));
      explainOut.replaceChildren(el("p", {}, verdict(x), ` ${user} / ${x.product} at ${x.at}`,
        x.subscription ? [" through ", subLink(t, x.subscription)] : null), chain(x));
    } catch (e) {
      explainOut.replaceChildren(errorBox(e));
    }
  });
  show(
    el("h1", {}, "Person ", user),
    member ? el("p", { className: "muted" }, `${member.email} — ${member.role}, ${member.status}`)
      : el("p", { className: "muted" }, "Not a member now (history below)."),
    el("h2", {}, "Access now"), access,
    el("h2", {}, "Explain at a date"), form, explainOut,
    el("h2", {}, "Timeline"), el("p", { className: "muted" }, "Everything that touched this person, newest last: events (with what they caused) and rejected attempts."),
    timeline(t, "user", user));
  const rows = [];
  for (const p of products) {
    try {
      const x = await api(tenantPath(t, "explain", { user, product: p }));
      rows.push([p, verdict(x), x.subscription ? subLink(t, x.subscription) : "",
        el("details", {}, el("summary", {}, "why"), chain(x))]);
    } catch (e) {
      rows.push([p, errorBox(e), "", ""]);
    }
  }
  access.replaceChildren(table(["Product", "Access", "Through", "Reason"], rows, "No product has a subscription in this tenant."));
}

// ------------------------------------------------------------------ a subscription

function holders(state, sub) {
  const groups = new Map(state.groups.map((g) => [g.group, g]));
  return sub.assigned.map((u) => {
    const how = [];
    if (sub.direct.includes(u)) how.push("direct");
    for (const g of sub.groups) if (groups.has(g) && groups.get(g).members.includes(u)) how.push("via group " + g);
    return [u, how.join(", ")];
  });
}

function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10) + "T00:00:00Z"; }

async function subscriptionPage(t, id) {
  const state = await api(tenantPath(t, "state"));
  const sub = state.subscriptions.find((s) => s.subscription === id);
  if (!sub) throw new ApiError(404, "not_found", `no subscription ${id} in ${t} now`);
  const end = Math.min(Date.parse(state.at) + DAY_MS, sub.period_end ? Date.parse(sub.period_end) : Infinity);
  const fromInput = el("input", { id: "usage-from", size: 24, value: isoDay(end - 30 * DAY_MS) });
  const toInput = el("input", { id: "usage-to", size: 24, value: isoDay(end) });
  const chartBox = el("div", { id: "usage" });
  const form = el("form", { className: "inline", id: "usage-form" },
    el("label", {}, "From", fromInput), el("label", {}, "To", toInput), el("button", { type: "submit" }, "Show usage"));
  const load = async () => {
    try {
      const u = await api(tenantPath(t, "usage", { subscription: id, from: fromInput.value.trim(), to: toInput.value.trim() }));
      chartBox.replaceChildren(usageChart(u), el("p", { id: "usage-summary" },
        `peak ${u.peak}, average ${Number(u.average).toFixed(2)}, ${u.days_at_capacity} day(s) at capacity`));
    } catch (e) {
      chartBox.replaceChildren(errorBox(e));
    }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  const leases = sub.leases ? [el("h2", {}, "Floating leases in use"),
    table(["Lease", "User", "Device", "Granted"], sub.leases.map((l) => [l.lease, userLink(t, l.user), l.device, l.granted_at]), "No lease in use.")] : [];
  show(
    el("h1", {}, "Subscription ", id),
    el("p", {}, `${sub.product} ${sub.edition}, ${sub.seat_model}, ${sub.status}; ${seatsUsed(sub)} of ${sub.seats} seats used; period ${sub.period_start || "?"} – ${sub.period_end || "?"}${sub.auto_renew ? " (renews)" : ""}`,
      sub.pending.length ? el("div", {}, "Pending: ", sub.pending.map(pendingText).join("; ")) : null,
      sub.violations.length ? el("div", { className: "bad" }, "Violations: ", sub.violations.map(text).join("; ")) : null),
    el("h2", {}, "Seat holders"),
    el("div", { id: "holders" }, table(["User", "How"], holders(state, sub).map(([u, how]) => [userLink(t, u), how]), "Nobody holds a seat.")),
    leases,
    el("h2", {}, "Seat usage"), form, chartBox,
    el("h2", {}, "Timeline"), timeline(t, "subscription", id));
  load();
}

// The usage per day as bars (peak) and a line (average), the seat count dashed.
function usageChart(u) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tagName, attrs, ...kids) => {
    const n = document.createElementNS(NS, tagName);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    for (const k of kids) n.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return n;
  };
  const days = u.days || [];
  const W = 900, H = 240, L = 40, B = 30, T = 10;
  const max = Math.max(1, ...days.map((d) => Math.max(d.peak, d.seats)));
  const step = days.length ? (W - L - 10) / days.length : 1;
  const y = (v) => H - B - (v / max) * (H - B - T);
  const root = svg("svg", { class: "chart", id: "usage-chart", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `seat usage of ${u.subscription} per day` });
  root.append(svg("line", { x1: L, y1: y(0), x2: W - 10, y2: y(0), stroke: "#999" }));
  for (const v of [0, Math.ceil(max / 2), max]) root.append(svg("text", { x: 4, y: y(v) + 4 }, v));
  days.forEach((d, i) => {
    const x = L + i * step;
    const bar = svg("rect", { class: "peak", x: x + step * 0.15, width: Math.max(1, step * 0.7), y: y(d.peak), height: y(0) - y(d.peak) });
    bar.append(svg("title", {}, `${d.date}: peak ${d.peak}, average ${Number(d.average).toFixed(2)}, ${d.seats} seats`));
    root.append(bar);
    if (days.length <= 31 || i % Math.ceil(days.length / 15) === 0) {
      root.append(svg("text", { x: x + step / 2 - 14, y: H - 10 }, d.date.slice(5, 10)));
    }
  });
  const pts = days.map((d, i) => `${L + i * step + step / 2},${y(d.average)}`).join(" ");
  if (days.length) root.append(svg("polyline", { class: "avg", points: pts }));
  const seatPts = days.map((d, i) => `${L + i * step},${y(d.seats)} ${L + (i + 1) * step},${y(d.seats)}`).join(" ");
  if (days.length) root.append(svg("polyline", { class: "cap", points: seatPts, fill: "none" }));
  const legend = el("p", { className: "legend muted" }, el("span", {}, "bars: peak seats in use per day"),
    el("span", {}, "line: average"), el("span", {}, "dashed: seats bought"));
  return el("div", {}, root, legend);
}

// ------------------------------------------------------------------ diff and what-if

// A diff (replay::Diff JSON) as one table per section.
function diffView(t, d) {
  const out = [];
  const access = d.access || {};
  const accessRows = [];
  for (const g of access.gained || []) accessRows.push([userLink(t, g.user), tag("gained", "allowed"), g.product, g.subscription || g.reason || ""]);
  for (const l of access.lost || []) accessRows.push([userLink(t, l.user), tag("lost", "denied"), l.product, l.reason || l.subscription || ""]);
  out.push(el("h2", {}, "Access"), table(["User", "Change", "Product", "Why"], accessRows, "No access changed."));
  for (const section of ["members", "groups", "subscriptions"]) {
    const s = d[section] || {};
    const rows = [];
    for (const kind of ["added", "removed", "changed"]) {
      for (const item of s[kind] || []) rows.push([kind, entityCell(t, section, item), changeText(item)]);
    }
    out.push(el("h2", {}, section[0].toUpperCase() + section.slice(1)), table(["Change", "Which", "Details"], rows, "No change."));
  }
  return out;
}

function entityCell(t, section, item) {
  if (typeof item === "string") return section === "members" ? userLink(t, item) : section === "subscriptions" ? subLink(t, item) : item;
  if (section === "members" && item.user) return userLink(t, item.user);
  if (section === "subscriptions" && item.subscription) return subLink(t, item.subscription);
  return text(item.group || item.user || item.subscription || item);
}

function changeText(item) {
  if (typeof item === "string") return "";
  const rest = Object.fromEntries(Object.entries(item).filter(([k]) => !["user", "group", "subscription"].includes(k)));
  return Object.keys(rest).length ? JSON.stringify(rest) : "";
}

function diffPage(t) {
  const from = el("input", { id: "diff-from", size: 24, placeholder: "2026-01-01T00:00:00Z" });
  const to = el("input", { id: "diff-to", size: 24, placeholder: "2026-12-31T00:00:00Z" });
  const out = el("div", { id: "diff-result" });
  const form = el("form", { className: "inline", id: "diff-form" },
    el("label", {}, "From (time or position)", from), el("label", {}, "To (time or position)", to),
    el("button", { type: "submit" }, "Compare"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const d = await api(tenantPath(t, "diff", { from: from.value.trim(), to: to.value.trim() }));
      out.replaceChildren(el("p", { className: "muted" }, `from ${text(d.from)} to ${text(d.to)}`), ...diffView(t, d));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  show(el("h1", {}, "What changed between two dates"), form, out);
}

function whatIfPage(t) {
  const example = [{ type: "revoke_seat", tenant: t, actor: "owner", subscription: "S1", user: "someone" }];
  const commands = el("textarea", { id: "what-if-commands", spellcheck: "false" });
  commands.value = JSON.stringify(example, null, 1);
  const at = el("input", { id: "what-if-at", size: 24, placeholder: "empty = now" });
  const out = el("div", { id: "what-if-result" });
  const form = el("form", { id: "what-if-form" },
    el("p", { className: "muted" }, "Commands (a JSON array, as POST /v1/commands takes) decided on a copy of the tenant with the real rules and time effects. Nothing is recorded."),
    commands, el("div", { className: "inline" }, el("label", {}, "Start the copy at (RFC 3339)", at),
      el("button", { type: "submit" }, "Decide on a copy")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api(tenantPath(t, "what-if", { at: at.value.trim() }), { method: "POST", body: commands.value });
      const rows = r.results.map((x) => [x.at || "", x.type || "", x.id || "",
        x.status === "accepted" ? tag("accepted", "allowed") : tag(x.status, "denied"),
        x.status === "accepted" ? (x.events || []).join(", ") : `${x.code}: ${x.message}`]);
      out.replaceChildren(el("h2", {}, "Results"), table(["At", "Command", "Id", "Status", "Events / why"], rows),
        ...diffView(t, r.diff || {}), el("p", { className: "muted" }, "Nothing was recorded."));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  show(el("h1", {}, "What if"), form, out);
}

// ------------------------------------------------------------------ audit

async function auditPage(t) {
  const digestBox = el("div", { id: "digest" }, el("p", { className: "muted" }, "…"));
  const verifyOut = el("div", { id: "verify-result" });
  const verifyBtn = el("button", { type: "button", id: "verify" }, "Verify this tenant");
  verifyBtn.addEventListener("click", async () => {
    verifyOut.replaceChildren(el("p", { className: "muted" }, "verifying…"));
    try {
      const v = await api(tenantPath(t, "verify"));
      verifyOut.replaceChildren(
        el("p", {}, v.ok ? el("span", { className: "ok" }, "OK") : el("span", { className: "bad" }, "PROBLEMS FOUND"),
          ` — ${v.events} events checked in ${Number(v.seconds).toFixed(2)} s`,
          v.views_note ? el("span", { className: "muted" }, ` (${v.views_note})`) : null),
        table(["Problem", "Where"], (v.problems || []).map((p) => [p.what || text(p), text(p.position ?? p.tenant ?? "")]), "No problem found: chains, index, heads and views agree."));
    } catch (e) {
      verifyOut.replaceChildren(errorBox(e));
    }
  });
  const download = (format) => {
    const b = el("button", { type: "button", className: "secondary", id: "export-" + format }, `Export ${format.toUpperCase()}`);
    b.addEventListener("click", async () => {
      try {
        const res = await api(tenantPath(t, "export", { format }), { raw: true });
        const url = URL.createObjectURL(await res.blob());
        const a = el("a", { href: url, download: `${t}-events.${format}` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (e) {
        verifyOut.replaceChildren(errorBox(e));
      }
    });
    return b;
  };
  show(el("h1", {}, "Audit of ", t),
    el("h2", {}, "Digest"), el("p", { className: "muted" }, "Keep the head (version and hash) somewhere we cannot change it; a later verify proves the history still extends it."),
    digestBox,
    el("h2", {}, "Verify"), verifyBtn, verifyOut,
    el("h2", {}, "Export"), el("p", {}, download("jsonl"), " ", download("csv")));
  try {
    const d = await api(tenantPath(t, "digest"));
    const heads = d.tenants || [d];
    digestBox.replaceChildren(table(["Tenant", { title: "Version", num: true }, "Head hash"],
      heads.map((h) => [h.tenant, h.version, el("code", {}, h.hash)])),
      d.ledger_position !== undefined ? el("p", { className: "muted" }, `at ledger position ${d.ledger_position}`) : null);
  } catch (e) {
    digestBox.replaceChildren(errorBox(e));
  }
}

// ------------------------------------------------------------------ start

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "#/";
    route();
  });
  window.addEventListener("hashchange", route);
  route();
});

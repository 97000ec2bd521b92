// The Dataset Versions page: plain JavaScript, no build step, no dependencies.
// Every URL is relative to <base href>, so the page works wherever the app is mounted.
// Dataset content is only ever inserted as text (never as HTML).
"use strict";

const view = document.getElementById("view");
const crumbs = document.getElementById("crumbs");
const PAGE = 200;

// ------------------------------------------------------------------ small helpers
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

function url(path, params = {}) {
  const target = new URL(path, document.baseURI);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(key, value);
  }
  return target;
}

async function api(path, params) {
  const response = await fetch(url(path, params));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

const enc = encodeURIComponent;

// A project may hold "/" (team/vision): each of its segments becomes a path segment, so deep
// links stay readable and no proxy meets an encoded slash. A project the browser would
// rewrite that way ("a/..", "a//b") is sent as one segment with %2F instead; the server
// decodes both forms to the same project.
function projectPath(project) {
  const segments = project.split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) return enc(project);
  return segments.map(enc).join("/");
}

const datasetPath = (project, name) => `${projectPath(project)}/${enc(name)}`;
const datasetHref = (project, name) => `datasets/${datasetPath(project, name)}`;
const versionHref = (id) => `versions/${enc(id)}`;

function link(href, text, attrs = {}) {
  return el("a", { href, "data-nav": "", ...attrs }, text);
}

function badge(state) {
  return el("span", { class: `badge ${state}`, "data-state": state }, state);
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const count = (n) => Number(n).toLocaleString("en-US");
const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "");

// replaceChildren() would insert "null" for an absent optional part: drop those first.
function fill(box, ...nodes) {
  box.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined));
}

function show(...nodes) {
  fill(view, ...nodes);
}

function setCrumbs(...parts) {
  fill(crumbs, ...parts.map((p) => (typeof p === "string" ? el("span", { class: "muted" }, p) : p)));
}

// ------------------------------------------------------------------ routing
function route() {
  const base = new URL(document.baseURI).pathname;
  const rest = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : "";
  // NOTE: split before decoding: a %2F inside a segment is part of a project's name.
  const parts = rest.replace(/\/$/, "").split("/").map(decodeURIComponent);
  const render =
    parts[0] === "datasets" && parts.length >= 3
      ? () => datasetPage(parts.slice(1, -1).join("/"), parts[parts.length - 1])
    : parts[0] === "versions" && parts.length === 2 ? () => versionPage(parts[1])
    : () => homePage();
  render().catch((error) => show(el("p", { class: "error", role: "alert" }, `Error: ${error.message}`)));
}

function navigate(href) {
  history.pushState(null, "", url(href));
  route();
  window.scrollTo(0, 0);
}

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-nav]");
  if (!anchor || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href"));
});
window.addEventListener("popstate", route);
window.addEventListener("DOMContentLoaded", route);

// ------------------------------------------------------------------ home: every dataset
async function homePage() {
  setCrumbs();
  document.title = "Datasets · dataver";
  const datasets = await api("api/datasets");
  if (!datasets.length) {
    show(el("h1", {}, "Datasets"), el("p", { class: "muted" }, "This registry has no datasets yet."));
    return;
  }
  const rows = datasets.map((d) => {
    const latest = d.latest || d.newest;
    const states = Object.entries(d.states).map(([s, n]) => el("span", {}, badge(s), `${n} `));
    return el("tr", { "data-dataset": `${d.project}/${d.name}` },
      el("td", {}, link(datasetHref(d.project, d.name), `${d.project} / ${d.name}`)),
      el("td", {}, link(versionHref(latest.id), latest.version), " ", badge(latest.state)),
      el("td", {}, states),
      el("td", { class: "num" }, count(latest.stats.files)),
      el("td", { class: "num" }, bytes(latest.stats.logical_bytes)),
      el("td", { class: "num" }, bytes(d.stored_bytes)),
      el("td", {}, when(d.newest.created_at)));
  });
  show(
    el("h1", {}, "Datasets"),
    el("table", { id: "datasets" },
      el("thead", {}, el("tr", {},
        el("th", {}, "Project / name"), el("th", {}, "Latest version"), el("th", {}, "Versions"),
        el("th", { class: "num" }, "Files"), el("th", { class: "num" }, "Size"),
        el("th", { class: "num" }, "Stored (all versions)"), el("th", {}, "Last change"))),
      el("tbody", {}, rows)));
}

// ------------------------------------------------------------------ a dataset: versions over time
async function datasetPage(project, name) {
  setCrumbs(link("./", "Datasets"), "/", `${project} / ${name}`);
  document.title = `${project}/${name} · dataver`;
  const [graph, versions] = await Promise.all([
    api(`api/datasets/${datasetPath(project, name)}/lineage`),
    api(`api/datasets/${datasetPath(project, name)}/versions`, { limit: 1000 }),
  ]);
  const rows = versions.items.map((v) =>
    el("tr", { "data-version": v.id },
      el("td", {}, link(versionHref(v.id), v.version)),
      el("td", {}, badge(v.state)),
      el("td", {}, when(v.created_at)),
      el("td", { class: "num" }, count(v.stats.files)),
      el("td", { class: "num" }, bytes(v.stats.logical_bytes)),
      el("td", { class: "num" }, bytes(v.stats.stored_bytes)),
      el("td", { class: "diff" },
        el("span", { class: "added" }, `+${v.stats.added} `),
        el("span", { class: "modified" }, `~${v.stats.modified} `),
        el("span", { class: "removed" }, `-${v.stats.removed} `),
        el("span", { class: "renamed" }, `→${v.stats.renamed}`)),
      el("td", {}, v.tags.map((t) => el("span", { class: "tag" }, t)))));
  show(
    el("h1", {}, `${project} / ${name}`),
    el("p", { class: "muted" }, `${count(versions.total)} versions`),
    el("h2", {}, "Lineage"),
    lineage(graph, null),
    el("h2", {}, "Versions"),
    el("table", { id: "versions" },
      el("thead", {}, el("tr", {},
        el("th", {}, "Version"), el("th", {}, "State"), el("th", {}, "Created"),
        el("th", { class: "num" }, "Files"), el("th", { class: "num" }, "Size"),
        el("th", { class: "num" }, "Stored"), el("th", {}, "Changes"), el("th", {}, "Tags"))),
      el("tbody", {}, rows)));
}

// ------------------------------------------------------------------ the lineage graph
// Layered layout: a version's column is its longest distance from a root, so every edge
// points right; within a column, versions keep their creation order.
function lineage(graph, currentId) {
  const W = 190, H = 46, GAP_X = 60, GAP_Y = 18, PAD = 12;
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const parents = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) if (parents.has(e.child) && nodes.has(e.parent)) parents.get(e.child).push(e.parent);
  const level = new Map();
  const depth = (id, seen = new Set()) => {
    if (level.has(id)) return level.get(id);
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...parents.get(id).map((p) => depth(p, seen))) + 1;
    level.set(id, d);
    return d;
  };
  const ordered = [...graph.nodes].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  const columns = [];
  for (const n of ordered) {
    const d = depth(n.id);
    (columns[d] = columns[d] || []).push(n);
  }
  const at = new Map();
  columns.forEach((column, x) => column.forEach((n, y) =>
    at.set(n.id, { x: PAD + x * (W + GAP_X), y: PAD + y * (H + GAP_Y) })));
  const width = PAD * 2 + columns.length * (W + GAP_X) - GAP_X;
  const height = PAD * 2 + Math.max(...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  const edges = graph.edges.filter((e) => at.has(e.parent) && at.has(e.child)).map((e) => {
    const a = at.get(e.parent), b = at.get(e.child);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mid = (x1 + x2) / 2;
    return svg("path", {
      class: "edge", "data-parent": e.parent, "data-child": e.child,
      d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, "marker-end": "url(#arrow)",
    });
  });
  const boxes = graph.nodes.map((n) => {
    const p = at.get(n.id);
    const label = n.missing ? "(deleted)" : `${n.version}`;
    const sub = n.missing ? n.id.slice(0, 12) : `${n.project}/${n.name}`;
    const title = svg("title", { text: `${sub} ${label} (${n.state})\n${n.id}` });
    return svg("g", {
      class: `node ${n.state}${n.id === currentId ? " current" : ""}`,
      "data-id": n.id, "data-state": n.state, "data-version": n.version, tabindex: "0", role: "link",
      transform: `translate(${p.x},${p.y})`,
      onclick: () => { if (!n.missing) navigate(versionHref(n.id)); },
      onkeydown: (ev) => { if (ev.key === "Enter" && !n.missing) navigate(versionHref(n.id)); },
    },
    title,
    svg("rect", { width: W, height: H }),
    svg("text", { x: 10, y: 19, "font-weight": "600", text: label }),
    svg("text", { x: 10, y: 36, text: `${sub.length > 24 ? sub.slice(0, 23) + "…" : sub} · ${n.state}` }));
  });
  const defs = svg("defs", {}, svg("marker", {
    id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto",
  }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" })));
  return el("div", { class: "graph", id: "lineage" },
    svg("svg", { width, height, role: "img", "aria-label": "lineage graph" }, defs, ...edges, ...boxes));
}

// ------------------------------------------------------------------ one version
async function versionPage(id) {
  const v = await api(`api/versions/${enc(id)}`);
  const graph = await api(`api/versions/${enc(id)}/lineage`);
  setCrumbs(link("./", "Datasets"), "/", link(datasetHref(v.project, v.name), `${v.project} / ${v.name}`), "/", v.version);
  document.title = `${v.project}/${v.name} ${v.version} · dataver`;
  const s = v.stats;
  const cards = el("div", { class: "cards", id: "stats" },
    [["Files", count(s.files)], ["Size", bytes(s.logical_bytes)], ["Stored", bytes(s.stored_bytes)],
      ["Added", count(s.added)], ["Modified", count(s.modified)], ["Removed", count(s.removed)],
      ["Renamed", count(s.renamed)], ["Links", count(s.links)]]
      .map(([label, value]) => el("div", { class: "card" }, el("b", {}, value), label)));
  const facts = el("dl", { class: "kv" },
    el("dt", {}, "id"), el("dd", {}, v.id),
    el("dt", {}, "uri"), el("dd", {}, v.uri),
    el("dt", {}, "created"), el("dd", {}, when(v.created_at)),
    v.finalized_at ? [el("dt", {}, "finalized"), el("dd", {}, when(v.finalized_at))] : null,
    v.published_at ? [el("dt", {}, "published"), el("dd", {}, when(v.published_at))] : null,
    el("dt", {}, "parents"),
    el("dd", {}, v.parents.length ? v.parents.map((p) => el("span", {}, link(versionHref(p), p.slice(0, 12)), " ")) : "none"),
    el("dt", {}, "tags"), el("dd", {}, v.tags.length ? v.tags.map((t) => el("span", { class: "tag" }, t)) : "none"),
    v.description ? [el("dt", {}, "description"), el("dd", {}, v.description)] : null,
    v.error ? [el("dt", {}, "error"), el("dd", { class: "error" }, v.error)] : null,
    v.stale ? [el("dt", {}, "writer"), el("dd", { class: "error" }, "stale: its writer stopped renewing the lease")] : null);
  const built = el("div", { id: "provenance" },
    v.links.map((l) => el("p", {}, el("a", { href: l.url, rel: "noopener noreferrer", target: "_blank" }, `${l.label} ↗`))),
    Object.keys(v.provenance).length ? el("pre", {}, JSON.stringify(v.provenance, null, 2)) : el("p", { class: "muted" }, "No provenance recorded."));
  const meta = Object.keys(v.metadata).length
    ? el("pre", { id: "metadata" }, JSON.stringify(v.metadata, null, 2))
    : el("p", { class: "muted", id: "metadata" }, "No metadata.");
  const diffBox = el("div", { id: "diff", class: "diff" });
  const treeBox = el("div", { id: "tree" });
  const previewBox = el("div", { id: "preview", class: "preview" }, el("p", { class: "muted" }, "Click a file to preview it."));
  show(
    el("h1", {}, `${v.project} / ${v.name} `, el("span", {}, v.version), " ", badge(v.state)),
    cards,
    el("div", { class: "split" }, el("div", {}, el("h2", {}, "Version"), facts),
      el("div", {}, el("h2", {}, "Built by"), built, el("h2", {}, "Metadata"), meta)),
    el("h2", {}, "Lineage"), lineage(graph, v.id),
    el("h2", {}, "Changes"), diffBox,
    el("div", { class: "split" },
      el("div", {}, el("h2", {}, "Files"), treeBox),
      el("div", {}, el("h2", {}, "Preview"), previewBox)));
  await Promise.all([
    diffView(diffBox, v, null),
    treeView(treeBox, previewBox, v.id, "", 0),
  ]);
}

async function diffView(box, v, against) {
  const siblings = await api(`api/datasets/${datasetPath(v.project, v.name)}/versions`, { limit: 1000 });
  const select = el("select", { id: "against", "aria-label": "compare against" },
    el("option", { value: "" }, v.parents.length ? "its parents" : "nothing (no parents)"),
    siblings.items.filter((o) => o.id !== v.id).map((o) =>
      el("option", { value: o.id, selected: o.id === against ? "" : null }, `${o.version} (${o.state})`)));
  select.addEventListener("change", () => diffView(box, v, select.value || null));
  const d = await api(`api/versions/${enc(v.id)}/diff`, { against });
  const list = (kind, items, fmt) => items.length
    ? el("div", {}, el("h3", { class: kind }, `${kind} (${count(d.counts[kind])})`),
      el("ul", { "data-kind": kind }, items.map((i) => el("li", { class: kind }, fmt(i)))))
    : null;
  const empty = Object.values(d.counts).every((n) => n === 0);
  fill(box, 
    el("p", {}, "Compared with ", select),
    empty ? el("p", { class: "muted" }, "No changes.") : null,
    list("added", d.added, (p) => p),
    list("modified", d.modified, (p) => p),
    list("removed", d.removed, (p) => p),
    list("renamed", d.renamed, ([a, b]) => `${a} → ${b}`),
    d.truncated ? el("p", { class: "muted" }, `Showing the first ${count(d.limit)} paths of each kind (API: ?limit=).`) : null);
}

async function treeView(box, previewBox, id, path, offset) {
  const page = await api(`api/versions/${enc(id)}/tree`, { path, offset, limit: PAGE });
  const parts = path ? path.split("/") : [];
  const trail = el("p", { class: "trail" },
    el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); treeView(box, previewBox, id, "", 0); } }, "/"),
    parts.map((part, i) => {
      const to = parts.slice(0, i + 1).join("/");
      return el("span", {}, " ", el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); treeView(box, previewBox, id, to, 0); } }, part), " /");
    }));
  const rows = page.items.map((item) => el("tr", { "data-path": item.path, "data-kind": item.kind },
    el("td", { class: "name" }, el("a", {
      href: "#",
      onclick: (ev) => {
        ev.preventDefault();
        if (item.kind === "folder") treeView(box, previewBox, id, item.path, 0);
        else previewView(previewBox, id, item.path);
      },
    }, item.kind === "folder" ? `📁 ${item.name}/` : item.name)),
    el("td", { class: "num" }, item.kind === "folder" ? `${count(item.files)} files` : ""),
    el("td", { class: "num" }, bytes(item.bytes))));
  const last = Math.min(page.offset + page.limit, page.total);
  const pager = el("div", { class: "pager" },
    el("span", { class: "muted", id: "tree-range" },
      page.total ? `${count(page.offset + 1)}–${count(last)} of ${count(page.total)} entries · ${count(page.files)} files, ${bytes(page.bytes)}` : "empty"),
    page.offset > 0 ? el("button", { onclick: () => treeView(box, previewBox, id, path, Math.max(0, page.offset - PAGE)) }, "Previous") : null,
    last < page.total ? el("button", { id: "tree-next", onclick: () => treeView(box, previewBox, id, path, page.offset + PAGE) }, "Next") : null);
  fill(box, trail, pager,
    el("table", { class: "tree" }, el("tbody", {}, rows)));
}

async function previewView(box, id, path) {
  fill(box, el("p", { class: "muted" }, `Loading ${path}…`));
  try {
    const p = await api(`api/versions/${enc(id)}/preview`, { path });
    const head = el("p", {}, el("b", {}, p.path), ` · ${bytes(p.size)} · ${p.format}`, p.truncated ? " · first part only" : "");
    let body;
    if (p.kind === "table") {
      body = el("table", { class: "table-preview" },
        el("thead", {}, el("tr", {}, p.columns.map((c) => el("th", {}, c)))),
        el("tbody", {}, p.rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c === null ? "" : String(c)))))));
    } else if (p.kind === "image") {
      body = el("img", { src: p.raw, alt: p.path });
    } else if (p.kind === "json" || p.kind === "text") {
      body = el("pre", { class: `${p.kind}-preview` }, p.text);
    } else {
      body = el("p", { class: "muted" }, p.message || "No preview.");
    }
    fill(box, head, body);
  } catch (error) {
    fill(box, el("p", { class: "error", role: "alert" }, `Cannot preview ${path}: ${error.message}`));
  }
}

"""The stylesheet and the script of the signal inspector page (plain CSS and JavaScript, no build step).

:mod:`lstmds_sim.drawing.inspector` writes them inline into the page, beside
BokehJS (also inline) and the run's data (a JSON block with the arrays in
base64, float64 little-endian). The page is laid out to fit one screen: the
diagram on the left, the plot and the table of values on the right, so that a
wire and its trace are seen together (1280 x 800 and up). The script

* decodes the arrays once;
* on a click on a wire (``.wire[data-signal]``), its label or badge
  (``data-for``), a block (``data-shows``) or a row of the value table, plots
  that signal over time in the Bokeh figure (one line per component, the
  selected sequence of a batched run; a min-max band where the run was
  decimated) by replacing the data of the ``ColumnDataSource`` named
  ``lstmds_signal``; Shift+click (or a row's checkbox) adds the signal to
  those plotted, so several are overlaid (at most ``MAX_LINES`` lines);
* on the time slider (or a click in the plot), moves the cursor in the plot, every value badge on the
  diagram and the table of values at step k;
* shows and hides loops (overlays, delay colours, Theorem 4 tags) and switches
  between views with subsystems open or collapsed;
* zooms the diagram (by default so that a block's text is at least 11 px high, centred on the first
  loop when the whole does not fit) and pans it with the mouse;
* offers ``window.lstmdsInspector`` (select, add, setStep, setTime, setSequence,
  setLoop, toggleGroup, showView, setZoom, state) for scripts and tests.
"""

from __future__ import annotations

from .page_js import DIAGRAM_JS

__all__ = ["CSS", "JS"]

CSS = r"""
:root { --ink: #1d1d1f; --muted: #5f6368; --line: #d0d4da; --ok: #1a7f37; --fail: #c62828; --accent: #111; }
* { box-sizing: border-box; }
html, body { height: 100%; }
body { margin: 0; font-family: "DejaVu Sans", Verdana, "Segoe UI", sans-serif; color: var(--ink); background: #fafbfc; }
.app { display: flex; flex-direction: column; height: 100vh; padding: 0 14px; }
header { flex: none; }
header h1 { font-size: 18px; margin: 8px 0 2px; }
header h1 .sub { font-weight: normal; color: var(--muted); font-size: 15px; }
header p { margin: 1px 0; font-size: 12.5px; color: var(--muted); }
header p.note { color: #8a5300; }
header p.placeholder { color: #5c3300; background: #fff1dc; border: 1px solid #e39b35; border-radius: 5px;
                       padding: 5px 9px; margin: 4px 0; font-size: 14px; }
.bar { flex: none; z-index: 5; background: #fafbfc; border-bottom: 1px solid var(--line);
       display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; padding: 6px 0; font-size: 13px; }
.bar input[type=range] { width: min(520px, 38vw); }
.bar button, .groups button { font: inherit; font-size: 12.5px; padding: 3px 10px; border: 1px solid #9aa0a6;
       background: white; border-radius: 4px; cursor: pointer; }
.bar button:hover, .groups button:hover { background: #eef1f4; }
.bar .zoom { display: inline-flex; align-items: center; gap: 4px; margin-left: auto; }
.bar .zoom button { min-width: 28px; padding: 3px 7px; }
#lstmds-zoom-level { min-width: 3.2em; text-align: center; font-variant-numeric: tabular-nums; color: var(--muted); }
#lstmds-step { font-variant-numeric: tabular-nums; min-width: 14em; }
.main { flex: 1 1 auto; min-height: 0; display: grid; grid-template-columns: minmax(0, 1fr) clamp(380px, 34vw, 640px);
        gap: 12px; padding: 6px 0 10px; }
.left, .right { display: flex; flex-direction: column; min-height: 0; min-width: 0; }
.loops { flex: none; display: flex; flex-wrap: wrap; gap: 2px 18px; margin: 0 0 4px; font-size: 13px; }
.loops label { display: flex; align-items: center; gap: 6px; cursor: pointer; white-space: nowrap; }
.loops .swatch { display: inline-block; width: 22px; height: 6px; border-radius: 2px; flex: none; }
.loops .iss { font-size: 12.5px; font-weight: bold; }
.loops label.off { opacity: 0.45; }
.ok { color: var(--ok); } .fail { color: var(--fail); } .none { color: var(--muted); }
.groups { flex: none; margin: 0 0 4px; font-size: 13px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.diagram { flex: 1 1 auto; min-height: 0; overflow: auto; border: 1px solid var(--line); background: white;
           border-radius: 6px; cursor: grab; }
.diagram.panning { cursor: grabbing; user-select: none; }
.diagram svg.view { display: block; margin: 0 auto; }
.diagram text { font-family: "DejaVu Sans", Verdana, sans-serif; }
.wire path { fill: none; }
.wire .base { stroke: #505050; stroke-width: 1.2; }
.wire .loop-overlay { stroke-width: 3; stroke-linecap: butt; }
.wire .halo { stroke: var(--sel, #1f77b4); stroke-width: 10; stroke-opacity: 0; stroke-linecap: round; }
.wire .hit { stroke: transparent; stroke-width: 12; pointer-events: stroke; cursor: pointer; }
.wire:hover .halo { stroke: #9aa0a6; stroke-opacity: 0.3; }
.wire.selected .halo { stroke: var(--sel, #1f77b4); stroke-opacity: 0.28; }
.wire.selected .base { stroke: var(--accent); stroke-width: 2; }
.block { cursor: pointer; }
.block rect { stroke: #303030; stroke-width: 1.1; }
.block:hover rect { stroke-width: 2.2; }
.block.selected rect { stroke: #111; stroke-width: 3; }
.block text { text-anchor: middle; pointer-events: none; }
.block .kind { font-style: italic; }
.block.collapsed rect { stroke: #6a4fb3; stroke-width: 1.6; stroke-dasharray: 5 3; }
.loop-chip { stroke: none; }
.block text.gains { fill: #303030; }
.gains tspan.ok { fill: var(--ok); font-weight: bold; } .gains tspan.fail { fill: var(--fail); font-weight: bold; }
.gains tspan.none { fill: #303030; }
.toggle { cursor: pointer; } .toggle rect { fill: white; stroke: #6a4fb3; }
.toggle text { font-size: 13px; text-anchor: middle; fill: #6a4fb3; font-weight: bold; pointer-events: none; }
.frame rect { fill: #f7f5fc; stroke: #b3a6d9; stroke-dasharray: 6 4; }
.frame-title { fill: #5a4399; cursor: pointer; }
.frame-title:hover { text-decoration: underline; }
.wire-label { fill: #333; cursor: pointer; }
.badge line { stroke: #b0b0b0; stroke-width: 0.8; }
.badge rect { fill: #3367d6; } .badge rect.neg { fill: #d93025; }
.branch { fill: black; }
.loop-tag rect { fill: white; stroke-width: 1.8; }
.loop-tag text { text-anchor: middle; font-weight: bold; }
.loop-tag.ok text { fill: var(--ok); } .loop-tag.fail text { fill: var(--fail); }
.plotbox { flex: 0 0 57%; min-height: 0; display: flex; flex-direction: column; background: white;
           border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
.plotwrap { flex: 1 1 auto; min-height: 0; position: relative; }
.plotwrap > div > * { position: absolute; inset: 0; }
#lstmds-now { flex: none; font-size: 12.5px; color: var(--muted); margin: 0 0 4px; font-variant-numeric: tabular-nums;
              white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.valuebox { position: relative; flex: 1 1 auto; min-height: 0; margin-top: 10px; background: white; border: 1px solid var(--line);
            border-radius: 6px; overflow: auto; }
.valuebox table { border-collapse: collapse; width: 100%; font-size: 12.5px; font-variant-numeric: tabular-nums; }
.valuebox th { position: sticky; top: 0; background: #f1f3f4; text-align: left; font-weight: normal; color: var(--muted);
               padding: 4px 6px; z-index: 1; }
.valuebox td { padding: 3px 6px; border-bottom: 1px solid #eef0f2; vertical-align: top; height: 23px; }
.valuebox td:first-child { width: 22px; padding: 2px 0 0 6px; }
.valuebox td:nth-child(2) { white-space: nowrap; color: #174ea6; }
.valuebox td:last-child { white-space: nowrap; }
.valuebox tr { cursor: pointer; } .valuebox tbody tr:hover { background: #f1f3f4; }
.valuebox tr.selected { background: #e8f0fe; }
footer { font-size: 12px; color: var(--muted); margin: 10px 14px 16px; }
@media (max-width: 900px), (max-height: 560px) {
  .app { height: auto; }
  .main { grid-template-columns: 1fr; }
  .diagram { height: 70vh; flex: none; }
  .plotbox { height: 380px; flex: none; }
  .valuebox { max-height: 420px; }
}
"""

JS = DIAGRAM_JS + r"""
(function () {
  "use strict";
  var root = document.getElementById("lstmds-inspector");
  var DATA = JSON.parse(document.getElementById("lstmds-data").textContent);
  var MAX_LINES = DATA.max_lines, BAR_H = DATA.badge_height;
  var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function decode(b64) {
    var s = atob(b64), n = s.length, bytes = new Uint8Array(n);
    for (var i = 0; i < n; i++) bytes[i] = s.charCodeAt(i);
    return new Float64Array(bytes.buffer);
  }
  var ports = DATA.ports.map(function (p) {
    return {name: p.names[0], names: p.names, n: p.n, nb: p.nb, nk: p.nk, shared: p.shared, constant: p.const,
            absmax: p.absmax, values: p.data ? decode(p.data) : null,
            lo: p.lo ? decode(p.lo) : null, hi: p.hi ? decode(p.hi) : null};
  });
  var times = decode(DATA.t), K = times.length;
  var state = {signals: [], i: 0, b: 0, view: DATA.default_view, loopsOff: {}, timer: null, zoom: 1, fitted: false};

  function portOf(name) { var id = DATA.signals[name]; return id === undefined ? null : ports[id]; }
  function idx(p, b, i, j) { return ((p.shared ? 0 : b) * p.nk + (p.constant ? 0 : i)) * p.n + j; }
  function at(p, b, i, j) { return p.values[idx(p, b, i, j)]; }
  function series(arr, p, b, j) {
    var out = new Float64Array(K);
    for (var i = 0; i < K; i++) out[i] = arr[idx(p, b, i, j)];
    return out;
  }
  var fmt = lstmdsDiagram.fmt;
  function valuesAt(p, i) {
    var out = [];
    for (var j = 0; j < p.n; j++) out.push(at(p, state.b, i, j));
    return out;
  }
  function vecText(p, i, limit) {
    var v = valuesAt(p, i), shown = v.slice(0, limit || 12).map(fmt).join(", ");
    if (v.length > (limit || 12)) shown += ", \u2026 (" + v.length + ")";
    return v.length === 1 ? shown : "[" + shown + "]";
  }
  function shortName(name) {  // "lstm2/c" -> "c", "ph_tank/dWa4/dt" -> "dWa4/dt": only a subsystem's name goes
    if (!name) return "";
    var head = name.split("/")[0];
    return DATA.groups.indexOf(head) >= 0 ? name.slice(head.length + 1) : name;
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]; }); }

  // ------------------------------------------------------------------ views
  var views = {};
  root.querySelectorAll("svg.view").forEach(function (svg) { views[svg.getAttribute("data-view")] = svg; });
  var cache = {};
  function viewCache(key) {
    if (cache[key]) return cache[key];
    var svg = views[key], badges = [], seen = {}, rows = [];
    svg.querySelectorAll(".badge").forEach(function (el) {
      var p = portOf(el.getAttribute("data-for"));
      if (p && p.values) badges.push({el: el, p: p, y0: parseFloat(el.getAttribute("data-y0")),
                                      rects: el.querySelectorAll("rect"), title: el.querySelector("title")});
    });
    svg.querySelectorAll(".wire[data-signal]").forEach(function (el) {
      var name = el.getAttribute("data-signal");
      if (!seen[name]) { seen[name] = true; rows.push(name); }
    });
    cache[key] = {badges: badges, rows: rows};
    return cache[key];
  }
  var table = document.getElementById("lstmds-values"), valuebox = table.closest(".valuebox");
  function buildTable() {
    var rows = viewCache(state.view).rows, html = [];
    rows.forEach(function (name) {
      html.push('<tr data-row="' + esc(name) + '"><td><input type="checkbox" aria-label="plot ' + esc(name)
                + '"></td><td>' + esc(name) + "</td><td></td></tr>");
    });
    table.innerHTML = html.join("");
  }
  function showView(key) {
    if (!views[key]) return;
    Object.keys(views).forEach(function (k) { views[k].style.display = k === key ? "" : "none"; });
    state.view = key;
    var open = DATA.views[key] ? DATA.views[key].open : [];
    root.querySelectorAll(".groups button[data-toggle]").forEach(function (btn) {
      var g = btn.getAttribute("data-toggle"), isOpen = open.indexOf(g) >= 0;
      btn.textContent = (isOpen ? "\u25be collapse " : "\u25b8 open ") + g;
    });
    buildTable();
    highlight(false);
    updateStep();
    if (state.fitted) fit(); else applyZoom(state.zoom);
  }
  function toggleGroup(group) {
    var open = (DATA.views[state.view] ? DATA.views[state.view].open : []).slice(), at_ = open.indexOf(group);
    if (at_ >= 0) open.splice(at_, 1); else open.push(group);
    var key = "open:" + DATA.groups.filter(function (g) { return open.indexOf(g) >= 0; }).join(",");
    if (!views[key]) key = DATA.views[state.view] && DATA.views[state.view].open.length ? DATA.all_closed : DATA.all_open;
    showView(key);
  }

  // ------------------------------------------------------------------ loops
  function setLoop(k, on) {
    state.loopsOff[k] = !on;
    root.querySelectorAll('.loop-overlay[data-loop="' + k + '"], .loop-tag[data-loop="' + k + '"], .loop-chip[data-loop="'
                          + k + '"], .gains .dot[data-loop="' + k + '"]').forEach(function (el) {
      el.style.display = on ? "" : "none";
    });
    root.querySelectorAll('.block[data-loop="' + k + '"]').forEach(function (el) {
      el.querySelector("rect").setAttribute("fill", on ? el.getAttribute("data-loop-fill") : el.getAttribute("data-plain-fill"));
      el.querySelectorAll("text").forEach(function (t) { t.setAttribute("fill", on ? "#ffffff" : "#000000"); });
    });
    var box = root.querySelector('input[data-loop-toggle="' + k + '"]');
    if (box) { box.checked = on; box.parentNode.classList.toggle("off", !on); }
  }

  // ------------------------------------------------------------------ Bokeh
  var bokehDoc = null, waiting = [];
  function findDoc() {
    if (!window.Bokeh || !Bokeh.documents) return null;
    for (var d = 0; d < Bokeh.documents.length; d++) {
      if (Bokeh.documents[d].get_model_by_name("lstmds_signal")) return Bokeh.documents[d];
    }
    return null;
  }
  function withDoc(cb) {
    if (bokehDoc) { cb(bokehDoc); return; }
    waiting.push(cb);
    if (waiting.length === 1) poll();
  }
  function poll() {
    bokehDoc = findDoc();
    if (!bokehDoc) { setTimeout(poll, 25); return; }
    var cbs = waiting; waiting = [];
    cbs.forEach(function (cb) { cb(bokehDoc); });
  }
  function plotted() {  // the lines to draw: [{name, j, p}] for the selected signals, at most MAX_LINES
    var lines = [];
    state.signals.forEach(function (name) {
      var p = portOf(name);
      if (!p || !p.values) return;
      for (var j = 0; j < p.n && lines.length < MAX_LINES; j++) lines.push({name: name, j: j, p: p});
    });
    return lines;
  }
  function lineLabels(lines) {
    var shorts = {}, labels = [];
    state.signals.forEach(function (n) { var s = shortName(n); shorts[s] = (shorts[s] || 0) + 1; });
    lines.forEach(function (l) {
      var s = shortName(l.name), shown = shorts[s] > 1 ? l.name : s;
      labels.push(l.p.n === 1 ? shown : shown + "[" + l.j + "]");
    });
    return labels;
  }
  function replot() {
    var b = state.b;
    withDoc(function (doc) {
      var lines = plotted(), n = lines.length, labels = lineLabels(lines);
      var nan = new Float64Array(K).fill(NaN), data = {t: times}, band = false;
      for (var j = 0; j < MAX_LINES; j++) {
        var l = lines[j], withBand = DATA.stride > 1 && l && l.p.lo && !l.p.constant;
        band = band || Boolean(withBand);
        data["y" + j] = l ? series(l.p.values, l.p, b, l.j) : nan;
        data["lo" + j] = withBand ? series(l.p.lo, l.p, b, l.j) : nan;
        data["hi" + j] = withBand ? series(l.p.hi, l.p, b, l.j) : nan;
        doc.get_model_by_name("lstmds_band" + j).visible = Boolean(withBand);
      }
      doc.get_model_by_name("lstmds_signal").data = data;
      for (j = 0; j < MAX_LINES; j++) doc.get_model_by_name("lstmds_line" + j).visible = j < n;
      var legend = doc.get_model_by_name("lstmds_legend");
      legend.items.forEach(function (item, j) {
        item.label = {value: j < n ? labels[j] : ""};
        item.visible = j < n;
      });
      var missing = state.signals.filter(function (name) { var p = portOf(name); return !p || !p.values; });
      var total = 0;
      state.signals.forEach(function (name) { var p = portOf(name); if (p && p.values) total += p.n; });
      var title = !state.signals.length ? "click a wire or a block to plot its signal"
        : !n ? missing.join(", ") + ": not recorded in this run (run the diagram with probes=[\"*\"])"
        : state.signals.filter(function (s) { return missing.indexOf(s) < 0; }).join(" and ") + " over time"
          + (state.signals.length === 1 && total > 1 ? ", " + total + " components" : "")
          + (total > MAX_LINES ? " (first " + MAX_LINES + " lines shown)" : "")
          + (DATA.batch ? ", sequence " + DATA.sequences[b] : "") + (band ? "; band: min\u2013max between shown steps" : "");
      doc.get_model_by_name("lstmds_plot").title.text = title;
    });
  }
  function moveCursor() {
    withDoc(function (doc) { doc.get_model_by_name("lstmds_cursor").location = times[state.i]; });
  }

  // ------------------------------------------------------------------ selection and step
  function colourOf(name) {  // the colour of the signal's first line in the plot
    var lines = plotted();
    for (var k = 0; k < lines.length; k++) if (lines[k].name === name) return PALETTE[k % PALETTE.length];
    return "#1f77b4";
  }
  function highlight(scroll) {
    root.querySelectorAll(".wire.selected, .block.selected").forEach(function (el) { el.classList.remove("selected"); el.style.removeProperty("--sel"); });
    table.querySelectorAll("tr").forEach(function (tr) {
      var on = state.signals.indexOf(tr.getAttribute("data-row")) >= 0;
      tr.classList.toggle("selected", on);
      tr.querySelector("input").checked = on;
    });
    state.signals.forEach(function (name) {
      var sel = CSS.escape(name), colour = colourOf(name);
      root.querySelectorAll('.wire[data-signal="' + sel + '"]').forEach(function (el) {
        el.classList.add("selected");
        el.style.setProperty("--sel", colour);
      });
    });
    var first = state.signals.length ? table.querySelector('tr[data-row="' + CSS.escape(state.signals[0]) + '"]') : null;
    if (first && scroll !== false) {  // bring its row into view if it is not, the table's top row whole
      var head = table.parentNode.querySelector("thead").offsetHeight;
      if (first.offsetTop < valuebox.scrollTop + head || first.offsetTop + first.offsetHeight > valuebox.scrollTop + valuebox.clientHeight) {
        var most = valuebox.scrollHeight - valuebox.clientHeight, top = 0;
        table.querySelectorAll("tr").forEach(function (tr) {  // the last row top at or before the row, that can scroll up
          var y = tr.offsetTop - head;
          if (y <= first.offsetTop - head && y <= most) top = y;
        });
        valuebox.scrollTop = top;
      }
    }
  }
  function select(names) {  // plot these signals (a name or a list), and only these
    state.signals = (Array.isArray(names) ? names : (names ? [names] : [])).filter(function (n, k, all) {
      return n && all.indexOf(n) === k;
    });
    highlight();
    replot();
    updateNow();
  }
  function add(name) {  // add a signal to those plotted, or take it away if it is plotted
    var at_ = state.signals.indexOf(name), next = state.signals.slice();
    if (at_ >= 0) next.splice(at_, 1); else next.push(name);
    select(next);
  }
  function updateNow() {
    var now = document.getElementById("lstmds-now"), parts = [];
    state.signals.forEach(function (name) {
      var p = portOf(name);
      parts.push(p && p.values ? name + " = " + vecText(p, state.i, 8) : name + ": not recorded");
    });
    now.textContent = parts.length ? "at k = " + DATA.k[state.i] + ": " + parts.join(";  ") : "";
    now.title = now.textContent;
  }
  function updateStep() {
    var i = state.i, c = viewCache(state.view);
    document.getElementById("lstmds-step").textContent =
      "step k = " + DATA.k[i] + " of " + (DATA.steps - 1) + "   t = " + fmt(times[i]) + " s";
    document.getElementById("lstmds-values-k").textContent = "k = " + DATA.k[i];
    c.badges.forEach(function (bd) {
      var p = bd.p, scale = p.absmax > 0 ? BAR_H / p.absmax : 0;
      for (var j = 0; j < bd.rects.length; j++) {
        var h = at(p, state.b, i, j) * scale, r = bd.rects[j];
        r.setAttribute("y", h >= 0 ? bd.y0 - h : bd.y0);
        r.setAttribute("height", Math.abs(h));
        r.setAttribute("class", h >= 0 ? "pos" : "neg");
      }
      bd.el.setAttribute("data-k", DATA.k[i]);
      bd.title.textContent = p.name + " at k = " + DATA.k[i] + ": " + vecText(p, i, 12);
    });
    table.querySelectorAll("tr").forEach(function (tr) {
      var p = portOf(tr.getAttribute("data-row"));
      tr.lastChild.textContent = p && p.values ? vecText(p, i, 8) : "not recorded";
    });
    updateNow();
    moveCursor();
  }
  var slider = document.getElementById("lstmds-slider");
  function setStep(i) {
    state.i = Math.max(0, Math.min(K - 1, Math.round(i)));
    slider.value = state.i;
    updateStep();
  }
  function setTime(t) {  // the shown step nearest to time t (a click in the plot)
    var best = 0;
    for (var i = 1; i < K; i++) if (Math.abs(times[i] - t) < Math.abs(times[best] - t)) best = i;
    setStep(best);
  }
  function setSequence(b) {
    state.b = b;
    var sel = document.getElementById("lstmds-sequence");
    if (sel) sel.value = String(b);
    replot();
    updateStep();
  }

  // ------------------------------------------------------------------ zoom and pan
  var diagram = root.querySelector(".diagram"), zoomLevel = document.getElementById("lstmds-zoom-level");
  function natural(svg) { return [parseFloat(svg.getAttribute("width")), parseFloat(svg.getAttribute("height"))]; }
  function applyZoom(s) {
    var svg = views[state.view], wh = natural(svg);
    state.zoom = s;
    svg.style.width = (wh[0] * s) + "px";
    svg.style.height = (wh[1] * s) + "px";
    zoomLevel.textContent = Math.round(s * 100) + "%";
  }
  function fitScale() {
    var wh = natural(views[state.view]);
    return Math.min(2, (diagram.clientWidth - 4) / wh[0], (diagram.clientHeight - 4) / wh[1]);
  }
  function fit() { state.fitted = true; applyZoom(fitScale()); }
  function setZoom(s, keepCentre) {  // a scale, or "fit" / "auto"
    if (s === "fit") { fit(); return; }
    if (s === "auto") s = Math.max(Math.min(fitScale(), 1.25), DATA.legible_scale);
    var cx = (diagram.scrollLeft + diagram.clientWidth / 2) / state.zoom, cy = (diagram.scrollTop + diagram.clientHeight / 2) / state.zoom;
    state.fitted = false;
    applyZoom(Math.max(0.15, Math.min(3, s)));
    if (keepCentre !== false) {
      diagram.scrollLeft = cx * state.zoom - diagram.clientWidth / 2;
      diagram.scrollTop = cy * state.zoom - diagram.clientHeight / 2;
    }
  }
  function centreOn(loop) { lstmdsDiagram.centreOn(views[state.view], diagram, loop); }
  document.getElementById("lstmds-zoom-in").addEventListener("click", function () { setZoom(state.zoom * 1.25); });
  document.getElementById("lstmds-zoom-out").addEventListener("click", function () { setZoom(state.zoom / 1.25); });
  document.getElementById("lstmds-zoom").addEventListener("click", function () { setZoom("fit"); });
  var dragged = lstmdsDiagram.pannable(diagram);

  // ------------------------------------------------------------------ events
  slider.addEventListener("input", function () { setStep(parseInt(slider.value, 10)); });
  var seqSelect = document.getElementById("lstmds-sequence");
  if (seqSelect) seqSelect.addEventListener("change", function () { setSequence(parseInt(seqSelect.value, 10)); });
  var play = document.getElementById("lstmds-play");
  play.addEventListener("click", function () {
    if (state.timer) { clearInterval(state.timer); state.timer = null; play.textContent = "\u25b6 play"; return; }
    if (state.i >= K - 1) setStep(0);
    play.textContent = "\u275a\u275a pause";
    state.timer = setInterval(function () {
      if (state.i >= K - 1) { clearInterval(state.timer); state.timer = null; play.textContent = "\u25b6 play"; return; }
      setStep(state.i + 1);
    }, Math.max(40, Math.round(8000 / K)));
  });
  root.querySelectorAll("input[data-loop-toggle]").forEach(function (box) {
    box.addEventListener("change", function () { setLoop(box.getAttribute("data-loop-toggle"), box.checked); });
  });
  root.addEventListener("click", function (ev) {
    if (dragged()) return;  // the end of a drag of the diagram, not a click
    var el = ev.target.closest("[data-toggle], .wire[data-signal], [data-for], [data-shows], tr[data-row]");
    if (!el || !root.contains(el)) return;
    if (el.hasAttribute("data-toggle")) { toggleGroup(el.getAttribute("data-toggle")); return; }
    var name = el.getAttribute("data-signal") || el.getAttribute("data-for") || el.getAttribute("data-row")
               || el.getAttribute("data-shows");
    var adding = ev.shiftKey || ev.ctrlKey || ev.metaKey || (ev.target.tagName === "INPUT" && el.hasAttribute("data-row"));
    if (adding) add(name); else select(name);
    if (el.classList.contains("block")) el.classList.add("selected");
  });
  root.addEventListener("dblclick", function (ev) {
    var el = ev.target.closest(".block[data-subsystem]");
    if (el) toggleGroup(el.getAttribute("data-subsystem"));
  });
  root.addEventListener("keydown", function (ev) {
    var el = ev.target.closest && ev.target.closest("[data-toggle]");
    if (el && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); toggleGroup(el.getAttribute("data-toggle")); }
  });

  window.lstmdsInspector = {
    select: select, add: add, setStep: setStep, setTime: setTime, setSequence: setSequence, setLoop: setLoop,
    toggleGroup: toggleGroup, showView: showView, setZoom: setZoom,
    value: function (name, i, b, j) { var p = portOf(name); return at(p, b, i, j); },
    state: function () { return {signal: state.signals.length ? state.signals[0] : null, signals: state.signals.slice(),
                                  step: DATA.k[state.i], index: state.i, sequence: state.b, view: state.view,
                                  zoom: state.zoom, loopsOff: Object.assign({}, state.loopsOff)}; }
  };
  showView(DATA.default_view);
  select(DATA.default_signals || (DATA.default_signal ? [DATA.default_signal] : []));
  setZoom("auto", false);
  if (DATA.focus !== null && fitScale() < state.zoom) centreOn(DATA.focus);
  valuebox.scrollTop = 0;
  highlight();
})();
"""

"""The stylesheet and the script of the signal inspector page (plain CSS and JavaScript, no build step).

:mod:`lstmds_sim.drawing.inspector` writes them inline into the page, beside
BokehJS (also inline) and the run's data (a JSON block with the arrays in
base64, float64 little-endian). The script

* decodes the arrays once;
* on a click on a wire (``.wire[data-signal]``), its label or badge
  (``data-for``), a block (``data-shows``) or a row of the value table, plots
  that signal over time in the Bokeh figure (one line per component, the
  selected sequence of a batched run; a min-max band where the run was
  decimated) by replacing the data of the ``ColumnDataSource`` named
  ``lstmds_signal``;
* on the time slider (or a click in the plot), moves the cursor in the plot, every value badge on the
  diagram and the table of values at step k;
* shows and hides loops (overlays, delay colours, Theorem 4 tags) and switches
  between views with subsystems open or collapsed;
* offers ``window.lstmdsInspector`` (select, setStep, setTime, setSequence,
  setLoop, toggleGroup, showView, state) for scripts and tests.
"""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = r"""
:root { --ink: #1d1d1f; --muted: #5f6368; --line: #d0d4da; --ok: #1a7f37; --fail: #c62828; --accent: #111; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", Verdana, "Segoe UI", sans-serif; color: var(--ink); background: #fafbfc; }
#lstmds-inspector { padding: 0 16px 24px; }
header h1 { font-size: 19px; margin: 14px 0 4px; }
header p { margin: 2px 0; font-size: 13px; color: var(--muted); }
header p.note { color: #8a5300; }
.bar { position: sticky; top: 0; z-index: 5; background: #fafbfc; border-bottom: 1px solid var(--line);
       display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 8px 0; font-size: 13px; }
.bar input[type=range] { width: min(560px, 50vw); }
.bar button, .groups button { font: inherit; font-size: 12px; padding: 3px 10px; border: 1px solid #9aa0a6;
       background: white; border-radius: 4px; cursor: pointer; }
.bar button:hover, .groups button:hover { background: #eef1f4; }
#lstmds-step { font-variant-numeric: tabular-nums; min-width: 15em; }
.loops { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 10px 0 4px; font-size: 13px; }
.loops label { display: flex; align-items: flex-start; gap: 6px; cursor: pointer; max-width: 760px; }
.loops .swatch { display: inline-block; width: 26px; height: 5px; border-radius: 2px; margin-top: 7px; flex: none; }
.loops .iss { display: block; font-size: 12px; }
.loops label.off { opacity: 0.45; }
.ok { color: var(--ok); } .fail { color: var(--fail); } .none { color: var(--muted); }
.groups { margin: 4px 0; font-size: 13px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.diagram { overflow: auto; border: 1px solid var(--line); background: white; border-radius: 6px; margin-top: 6px; }
.diagram { max-height: 72vh; }
.diagram svg.view { display: block; margin: 0 auto; }
.diagram.fit svg.view { max-width: 100%; max-height: 64vh; width: auto; height: auto; }
.diagram.fitw svg.view { max-width: 100%; width: auto; height: auto; }
.diagram text { font-family: "DejaVu Sans", Verdana, sans-serif; }
.wire path { fill: none; }
.wire .base { stroke: #505050; stroke-width: 1.2; }
.wire.on-loop .base { stroke-width: 1.2; }
.wire .loop-overlay { stroke-width: 3; stroke-linecap: butt; }
.wire .halo { stroke: #ffd54f; stroke-width: 9; stroke-opacity: 0; stroke-linecap: round; }
.wire .hit { stroke: transparent; stroke-width: 12; pointer-events: stroke; cursor: pointer; }
.wire:hover .halo { stroke-opacity: 0.45; }
.wire.selected .halo { stroke-opacity: 0.9; }
.wire.selected .base { stroke: var(--accent); stroke-width: 2; }
.block { cursor: pointer; }
.block rect { stroke: #303030; stroke-width: 1.1; }
.block:hover rect { stroke-width: 2.2; }
.block.selected rect { stroke: #e0a800; stroke-width: 3; }
.block text { text-anchor: middle; pointer-events: none; }
.block .name { font-size: 12px; }
.block .kind { font-size: 9.5px; font-style: italic; }
.block .gains { font-size: 9.5px; }
.block .gains .ok { fill: var(--ok); } .block .gains .fail { fill: var(--fail); } .block .gains .none { fill: #5f6368; }
.block.collapsed rect { stroke: #6a4fb3; stroke-width: 1.6; stroke-dasharray: 5 3; }
.toggle { cursor: pointer; } .toggle rect { fill: white; stroke: #6a4fb3; }
.toggle text { font-size: 13px; text-anchor: middle; fill: #6a4fb3; font-weight: bold; pointer-events: none; }
.frame rect { fill: #f7f5fc; stroke: #b3a6d9; stroke-dasharray: 6 4; }
.frame-title { font-size: 11px; fill: #5a4399; cursor: pointer; }
.frame-title:hover { text-decoration: underline; }
.wire-label { font-size: 9.5px; fill: #333; cursor: pointer; }
.badge line { stroke: #b0b0b0; stroke-width: 0.8; }
.badge rect { fill: #3367d6; } .badge rect.neg { fill: #d93025; }
.branch { fill: black; }
.loop-tag rect { fill: white; stroke-width: 1.6; }
.loop-tag text { font-size: 11px; text-anchor: middle; font-weight: bold; }
.loop-tag.ok text { fill: var(--ok); } .loop-tag.fail text { fill: var(--fail); }
.lower { display: flex; gap: 16px; margin-top: 12px; align-items: flex-start; }
.plotbox { flex: 1 1 64%; min-width: 0; background: white; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.plotbox h2, .valuebox h2 { font-size: 14px; margin: 2px 0 6px; }
#lstmds-now { font-size: 12px; color: var(--muted); margin: 0 0 6px; font-variant-numeric: tabular-nums;
              white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.valuebox { position: relative; flex: 1 1 36%; min-width: 280px; background: white; border: 1px solid var(--line); border-radius: 6px;
            padding: 8px; max-height: 420px; overflow: auto; }
.valuebox table { border-collapse: collapse; width: 100%; font-size: 12px; font-variant-numeric: tabular-nums; }
.valuebox td { padding: 2px 6px; border-bottom: 1px solid #eef0f2; vertical-align: top; }
.valuebox td:first-child { white-space: nowrap; color: #174ea6; }
.valuebox tr { cursor: pointer; } .valuebox tr:hover { background: #f1f3f4; }
.valuebox tr.selected { background: #fff3c4; }
footer { font-size: 12px; color: var(--muted); margin-top: 12px; }
"""

JS = r"""
(function () {
  "use strict";
  var root = document.getElementById("lstmds-inspector");
  var DATA = JSON.parse(document.getElementById("lstmds-data").textContent);
  var MAX_LINES = DATA.max_lines, BAR_H = DATA.badge_height;

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
  var state = {signal: null, i: 0, b: 0, view: DATA.default_view, loopsOff: {}, timer: null, zoom: undefined};

  function portOf(name) { var id = DATA.signals[name]; return id === undefined ? null : ports[id]; }
  function idx(p, b, i, j) { return ((p.shared ? 0 : b) * p.nk + (p.constant ? 0 : i)) * p.n + j; }
  function at(p, b, i, j) { return p.values[idx(p, b, i, j)]; }
  function series(arr, p, b, j) {
    var out = new Float64Array(K);
    for (var i = 0; i < K; i++) out[i] = arr[idx(p, b, i, j)];
    return out;
  }
  function fmt(v) {
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a < 1e-3 || a >= 1e5) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }
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
  var table = document.getElementById("lstmds-values");
  function buildTable() {
    var rows = viewCache(state.view).rows, html = [];
    rows.forEach(function (name) {
      html.push('<tr data-row="' + esc(name) + '"><td>' + esc(name) + "</td><td></td></tr>");
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
    highlight();
    updateStep();
    if (state.zoom !== undefined && state.zoom !== "") autoZoom();
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
    root.querySelectorAll('.loop-overlay[data-loop="' + k + '"], .loop-tag[data-loop="' + k + '"]').forEach(function (el) {
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
  function replot() {
    var name = state.signal, b = state.b;
    withDoc(function (doc) {
      var p = portOf(name), n = p && p.values ? Math.min(p.n, MAX_LINES) : 0;
      var nan = new Float64Array(K).fill(NaN), data = {t: times};
      var band = DATA.stride > 1 && p && p.lo && !p.constant;
      for (var j = 0; j < MAX_LINES; j++) {
        data["y" + j] = j < n ? series(p.values, p, b, j) : nan;
        data["lo" + j] = band && j < n ? series(p.lo, p, b, j) : nan;
        data["hi" + j] = band && j < n ? series(p.hi, p, b, j) : nan;
      }
      doc.get_model_by_name("lstmds_signal").data = data;
      var short = shortName(name);
      for (j = 0; j < MAX_LINES; j++) {
        doc.get_model_by_name("lstmds_line" + j).visible = j < n;
        doc.get_model_by_name("lstmds_band" + j).visible = Boolean(band) && j < n;
      }
      var legend = doc.get_model_by_name("lstmds_legend");
      legend.items.forEach(function (item, j) {
        item.label = {value: p && p.n === 1 ? short : short + "[" + j + "]"};
        item.visible = j < n;
      });
      var title = !name ? "click a wire or a block to plot its signal"
        : !p || !p.values ? name + ": not recorded in this run (run the diagram with probes=[\"*\"])"
        : name + " over time" + (p.n > 1 ? ", " + p.n + " components" : "") + (p.n > MAX_LINES ? " (first " + MAX_LINES + " shown)" : "")
          + (DATA.batch ? ", sequence " + DATA.sequences[b] : "") + (band ? "; band: min\u2013max between shown steps" : "");
      doc.get_model_by_name("lstmds_plot").title.text = title;
    });
  }
  function moveCursor() {
    withDoc(function (doc) { doc.get_model_by_name("lstmds_cursor").location = times[state.i]; });
  }

  // ------------------------------------------------------------------ selection and step
  function highlight() {
    root.querySelectorAll(".wire.selected, .block.selected").forEach(function (el) { el.classList.remove("selected"); });
    table.querySelectorAll("tr.selected").forEach(function (el) { el.classList.remove("selected"); });
    if (!state.signal) return;
    var sel = CSS.escape(state.signal);
    root.querySelectorAll('.wire[data-signal="' + sel + '"]').forEach(function (el) { el.classList.add("selected"); });
    var row = table.querySelector('tr[data-row="' + sel + '"]');
    if (row) {
      row.classList.add("selected");
      var box = table.closest(".valuebox");  // scroll the table, not the page
      box.scrollTop = Math.max(0, table.parentNode.offsetTop + row.offsetTop - 60);  // near the top
    }
  }
  function select(name) {
    state.signal = name;
    highlight();
    replot();
    updateNow();
  }
  function updateNow() {
    var now = document.getElementById("lstmds-now"), p = portOf(state.signal);
    if (!state.signal) { now.textContent = ""; return; }
    now.textContent = p && p.values ? state.signal + " at k = " + DATA.k[state.i] + ": " + vecText(p, state.i, 12)
                                    : state.signal + ": not recorded";
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
  // zoom: "fit" (the whole diagram in view), "fitw" (as wide as the page, scrolled), "" (actual size, scrolled)
  var zoom = document.getElementById("lstmds-zoom"), diagram = root.querySelector(".diagram");
  var ZOOMS = ["fit", "fitw", ""], NEXT = {fit: "fit to width", fitw: "actual size", "": "fit to window"};
  function setZoom(mode) {
    ZOOMS.forEach(function (z) { if (z) diagram.classList.toggle(z, z === mode); });
    state.zoom = mode;
    zoom.textContent = NEXT[mode];
  }
  zoom.addEventListener("click", function () { setZoom(ZOOMS[(ZOOMS.indexOf(state.zoom) + 1) % ZOOMS.length]); });
  function autoZoom() {  // the whole diagram if it stays legible (at least 45 % of its size), else the width
    var svg = views[state.view], w = parseFloat(svg.getAttribute("width")), h = parseFloat(svg.getAttribute("height"));
    var scale = Math.min(1, diagram.clientWidth / w, 0.64 * window.innerHeight / h);
    setZoom(scale >= 0.45 ? "fit" : "fitw");
  }
  root.querySelectorAll("input[data-loop-toggle]").forEach(function (box) {
    box.addEventListener("change", function () { setLoop(box.getAttribute("data-loop-toggle"), box.checked); });
  });
  root.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-toggle], .wire[data-signal], [data-for], [data-shows], tr[data-row]");
    if (!el || !root.contains(el)) return;
    if (el.hasAttribute("data-toggle")) { toggleGroup(el.getAttribute("data-toggle")); return; }
    var name = el.getAttribute("data-signal") || el.getAttribute("data-for") || el.getAttribute("data-row")
               || el.getAttribute("data-shows");
    select(name);
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
    select: select, setStep: setStep, setTime: setTime, setSequence: setSequence, setLoop: setLoop, toggleGroup: toggleGroup,
    showView: showView, value: function (name, i, b, j) { var p = portOf(name); return at(p, b, i, j); },
    state: function () { return {signal: state.signal, step: DATA.k[state.i], index: state.i, sequence: state.b,
                                  view: state.view, zoom: state.zoom, loopsOff: Object.assign({}, state.loopsOff)}; }
  };
  showView(DATA.default_view);
  autoZoom();
  select(DATA.default_signal);
})();
"""

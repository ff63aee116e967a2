"""The JavaScript the two diagram pages share: the inspector (``lstmds inspect``) and the live page (``lstmds live``).

Both show a diagram's SVG in a scrolling box that pans with the mouse, centre it on a loop's wires when a loop is
picked, and print values the same way. :data:`DIAGRAM_JS` defines ``lstmdsDiagram`` (one object, no other global
name); each page's own script calls it.
"""

from __future__ import annotations

__all__ = ["DIAGRAM_JS"]

DIAGRAM_JS = r"""
var lstmdsDiagram = {
  // a value as the pages print it: four significant digits, exponents for the very small and very large
  fmt: function (v) {
    if (!isFinite(v)) return String(v);
    var a = Math.abs(v);
    if (a === 0) return "0";
    if (a < 1e-3 || a >= 1e5) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  },
  // scroll the box `diagram` so that the loop's wires, delay and tag (inside `container`) are in its middle
  centreOn: function (container, diagram, loop) {
    var box = null;
    container.querySelectorAll('[data-loop="' + loop + '"]').forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (!r.width && !r.height) return;
      box = box ? {l: Math.min(box.l, r.left), t: Math.min(box.t, r.top), r: Math.max(box.r, r.right), b: Math.max(box.b, r.bottom)}
                : {l: r.left, t: r.top, r: r.right, b: r.bottom};
    });
    if (!box) return;
    var d = diagram.getBoundingClientRect();
    diagram.scrollLeft += (box.l + box.r) / 2 - (d.left + d.width / 2);
    diagram.scrollTop += (box.t + box.b) / 2 - (d.top + d.height / 2);
  },
  // drag the box `diagram` with the left button; the returned function says whether the last press was a drag
  // (then the click that ends it is not a click on a wire)
  pannable: function (diagram) {
    var pan = null;
    diagram.addEventListener("mousedown", function (ev) {
      if (ev.button === 0) pan = {x: ev.clientX, y: ev.clientY, left: diagram.scrollLeft, top: diagram.scrollTop, moved: false};
    });
    window.addEventListener("mousemove", function (ev) {
      if (!pan) return;
      var dx = ev.clientX - pan.x, dy = ev.clientY - pan.y;
      if (!pan.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
      pan.moved = true;
      diagram.classList.add("panning");
      diagram.scrollLeft = pan.left - dx;
      diagram.scrollTop = pan.top - dy;
    });
    window.addEventListener("mouseup", function () {
      if (pan && pan.moved) { diagram.classList.remove("panning"); setTimeout(function () { pan = null; }, 0); }
      else pan = null;
    });
    return function () { return !!(pan && pan.moved); };
  }
};
"""

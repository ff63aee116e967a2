"""What a fresh Python process sees; run by conftest.fresh_processes (as `python -c`), never imported by pytest.

conftest starts this script twice at the same time, with different PYTHONHASHSEED values (conftest.HASH_SEEDS)
and JAX_ENABLE_X64=0, and parses the one JSON line it prints last. Two test modules read it:

* test_house: importing lstmds_sim loads nothing heavy, and importing every module, or training, changes
  nothing process-wide (environment, umask, JAX's float64 switch); training itself runs in float64.
* test_determinism: the probes below give bit-for-bit the same results in both processes. Each digests
  its arrays and files byte for byte (sha256 of dtype, shape and raw bytes), and also a run with another
  seed or input, which must differ, so that equal digests cannot come from digesting nothing.

One process is started instead of one per check because importing JAX, bdsim, scipy and matplotlib and
compiling the training loop is most of the cost. Every check is wrapped so that one failing check shows
up as its own test's failure. The environment variable PROBE_PROGRESS ("lines" or "callback") picks how
the training probe shows its progress.
"""

import contextlib
import hashlib
import importlib
import io
import json
import os
import pkgutil
import sys
import tempfile
import traceback
from pathlib import Path

results = {}


def check(fn):
    try:
        results[fn.__name__] = fn()
    except Exception:  # noqa: BLE001 -- any failure becomes that check's test failure
        results[fn.__name__] = {"error": traceback.format_exc()}


# --------------------------------------------------------------------------- the house (test_house)
# nothing heavy may be loaded before this line
import lstmds_sim  # noqa: F401 -- the first import is what is checked

light = not any(name in sys.modules for name in ("jax", "bdsim", "matplotlib", "scipy"))
# third-party imports may set variables of their own (JAX sets TF_CPP_MIN_LOG_LEVEL): import them first
import bdsim  # noqa: F401
import jax
import matplotlib  # noqa: F401
import networkx  # noqa: F401
import numpy as np
import optax  # noqa: F401
import scipy.signal  # noqa: F401
import tqdm  # noqa: F401

ENVIRON = dict(os.environ)
UMASK = os.umask(0o027)
os.umask(UMASK)


def process_wide():
    """What a process-wide setting looks like now, compared with before lstmds_sim's modules were imported."""
    umask = os.umask(UMASK)  # sets it back to the original and returns the current one
    return {"environ": dict(os.environ) == ENVIRON, "umask": umask == UMASK, "x64": bool(jax.config.jax_enable_x64),
            "jax_default_float": str(jax.numpy.ones(1).dtype)}


def imports():
    import lstmds_sim.blocks
    import lstmds_sim.diagrams

    for package in (lstmds_sim, lstmds_sim.blocks, lstmds_sim.diagrams):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    return {"light": light, **process_wide(),
            "modules": sorted(m for m in sys.modules if m.startswith("lstmds_sim."))}


check(imports)


# --------------------------------------------------------------------------- determinism (test_determinism)
def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, (bytes, bytearray)):
            h.update(b"bytes")
            h.update(part)
        else:
            a = np.ascontiguousarray(part)
            assert a.dtype.kind in "biuf", f"digest of a {a.dtype} array"  # raw bytes of numbers only
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def training():
    """A small network fitted to a teacher network's output, three times (twice alike, once with another
    learning rate); also the house's float64 check."""
    import lstmds_sim as L

    rng = np.random.default_rng(60)
    teacher = L.LSTMParams.random(1, 3, 1, rng=61, low=-1.0, high=1.0, output_bias=True)
    u = rng.standard_normal((200, 1))
    y = L.simulate(teacher, u).y
    start = L.LSTMParams.random(1, 3, 1, rng=62, low=-0.5, high=0.5)
    opts = L.TrainOptions(learning_rate=0.01, max_epochs=300, verbose_frequency=100, gradient_threshold=1.0)
    calls, printed = [], io.StringIO()
    progress = "lines" if os.environ.get("PROBE_PROGRESS") == "lines" else (lambda *args: calls.append(args))
    with contextlib.redirect_stdout(printed):
        r = L.train(start, u, y, opts, progress=progress)
    again = L.train(start, u, y, opts, progress=False)  # in the same process, the training loop now compiled
    other = L.train(start, u, y, opts.replace(learning_rate=0.011), progress=False)

    def arrays(p):
        return [getattr(p, k) for k in ("W", "R", "b", "F", "bF") if getattr(p, k) is not None]

    return {
        "sha256": digest(r.history, *arrays(r.params), *arrays(r.best_params)),
        "again_sha256": digest(again.history, *arrays(again.params), *arrays(again.best_params)),
        "other_sha256": digest(other.history, *arrays(other.params), *arrays(other.best_params)),
        "initial_loss": r.initial_loss, "final_loss": r.final_loss,
        "best_loss": float(r.history[r.best_epoch]), "calls": [list(c) for c in calls],
        "lines": printed.getvalue().splitlines(),
        "dtypes": sorted({str(r.history.dtype), *(str(a.dtype) for a in arrays(r.params))}),
        "after": process_wide(),
    }


def diagram_graphs():
    from lstmds_sim.diagrams import lstm_layer, lstm_stack
    from lstmds_sim.drawing.graph import find_feedback_loops, graph_from_blockdiagram
    from lstmds_sim.drawing.layout import layout

    seen = {}
    for lab in (lstm_layer, lstm_stack):
        graph = graph_from_blockdiagram(lab.build_diagram())
        seen[graph.name] = {
            "nodes": [(n.id, n.kind) for n in graph.nodes],
            "edges": [(e.src, e.dst, e.src_port, e.dst_port, e.label) for e in graph.edges],
            "loops": [(loop.delay, sorted(loop.nodes)) for loop in find_feedback_loops(graph)],
            "layout": sorted((node, repr(xy)) for node, xy in layout(graph).items()),
            "layout_again": sorted((node, repr(xy)) for node, xy in layout(graph).items()),
        }
    return seen


def rendered_lstm_layer():
    from lstmds_sim.diagrams import lstm_layer
    from lstmds_sim.drawing.graph import graph_from_blockdiagram
    from lstmds_sim.drawing.render import render

    folder = Path(tempfile.mkdtemp())
    graph = graph_from_blockdiagram(lstm_layer.build_diagram())
    files = render(graph, folder / "lstm_layer") + render(graph, folder / "again")  # twice in one process
    return {p.name: {"size": p.stat().st_size, "sha256": digest(p.read_bytes())} for p in files}


def identification_data():
    from lstmds_sim.learning.dataset import generate_identification_data

    a, b = (generate_identification_data(n_train=300, n_val=200, seed=seed) for seed in (5, 6))
    return {"n": int(a.u.size), "sha256": digest(a.u, a.y, a.y_clean), "other_sha256": digest(b.u, b.y, b.y_clean)}


def scenarios():
    from lstmds_sim.safety.scenario import ScenarioClass, draw_scenarios

    cls = ScenarioClass(0.7, horizon=600)
    a, b = draw_scenarios(50, cls, 5, rng=11), draw_scenarios(50, cls, 5, rng=12)
    return {"shape": list(a.u.shape), "sha256": digest(a.u, a.h0, a.c0), "other_sha256": digest(b.u, b.h0, b.c0)}


for probe in (training, diagram_graphs, rendered_lstm_layer, identification_data, scenarios):
    check(probe)
print(json.dumps(results))

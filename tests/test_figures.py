"""The labs' figures read as a student needs them to: what can be checked by code, checked on the artists.

Fast: each test draws one figure headless (Agg) from a few made-up numbers and looks at its lines,
texts and legends; nothing is compared with saved pictures. The last test checks that the labs are
numbered one way everywhere (README, `lstmds list`, notebook titles, references between labs).
"""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D

from lstmds_sim.drawing.plots import differences, pzmap, stairs

POLES = [0.913 + 0.042j, 0.913 - 0.042j, 0.86 + 0.47j, 0.86 - 0.47j]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legends(fig) -> list:
    return [legend for ax in fig.axes for legend in ([ax.get_legend()] if ax.get_legend() else [])] + fig.legends


def _box_in_data(ax, text):
    """A text's extent in ``ax``'s data coordinates: (x0, x1, y0, y1)."""
    renderer = ax.figure.canvas.get_renderer()
    box = text.get_window_extent(renderer).transformed(ax.transData.inverted())
    return box.x0, box.x1, box.y0, box.y1


# ----------------------------------------------------------------------------- pole-zero maps
@pytest.mark.parametrize("systems", [
    {"true": ([0.9608, -0.26, -98.0], POLES), "trained": ([0.95, 4.5j, -4.5j], POLES)},
    {"true": ([0.9608, -0.26, -3.52], POLES),  # the random-start lab: far zeros left, far poles in two corners
     "best random start": ([-17, -3.52, -4.19, 0, 0.2, 0.49], [1.99 + 1.89j, 1.99 - 1.89j, -0.15, 0.05 + 0.12j])},
    {"true": ([0.96, -0.26, -3.52], POLES), "lr 0.0001": ([7.36, -1.6, 0.959, -0.31, 0], POLES),  # the basin lab
     "lr 0.001": ([2.58, 0.93, 0.02 + 0.57j, 0.02 - 0.57j], POLES), "lr 0.01": ([1.02 + 0.7j, 1.02 - 0.7j, 0.49], POLES)},
])
def test_pole_zero_labels_sit_inside_the_map_next_to_their_markers_and_clear_of_everything(systems):
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    pzmap(ax, systems)
    fig.canvas.draw()
    markers = np.concatenate([c.get_offsets() for c in ax.collections])
    labels = [t for t in ax.texts if t.get_text()]
    far = sum(max(abs(p.real), abs(p.imag)) > 1.5 for zeros, poles in systems.values()
              for p in np.atleast_1d(np.asarray([*zeros, *poles], dtype=complex)))
    assert far and labels
    boxes = []
    for text in labels:
        x0, x1, y0, y1 = _box_in_data(ax, text)
        assert -1.5 <= x0 and x1 <= 1.5 and -1.5 <= y0 and y1 <= 1.5, text.get_text()  # inside the axes
        inside = (markers[:, 0] > x0) & (markers[:, 0] < x1) & (markers[:, 1] > y0) & (markers[:, 1] < y1)
        assert not inside.any(), (text.get_text(), markers[inside])  # covers no pole or zero
        nearest = np.hypot(np.clip(0, x0, x1), np.clip(0, y0, y1))
        farthest = max(np.hypot(x, y) for x in (x0, x1) for y in (y0, y1))
        assert not nearest < 1.0 < farthest, text.get_text()  # does not cross the unit circle
        for other in boxes:  # nor another label
            assert x1 <= other[0] or other[1] <= x0 or y1 <= other[2] or other[3] <= y0
        boxes.append((x0, x1, y0, y1))
    for zoom in ax.child_axes:  # the inset says what its axes are, and the zoomed box is clear of labels
        assert zoom.get_xlabel() and zoom.get_ylabel()
        zx0, zx1 = zoom.get_xlim()
        zy0, zy1 = zoom.get_ylim()
        for x0, x1, y0, y1 in boxes:
            assert x1 <= zx0 or zx1 <= x0 or y1 <= zy0 or zy1 <= y0


def test_a_label_moved_away_from_its_marker_is_joined_to_it():
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    pzmap(ax, {"true": ([0.96], POLES), "random": ([-17, -3.52, -4.19], POLES)})
    fig.canvas.draw()
    (label,) = [t for t in ax.texts if t.get_text()]
    x0, x1, y0, y1 = _box_in_data(ax, label)
    marker = -1.395  # the far zeros are drawn at the left edge, on the real axis
    if np.hypot(max(x0 - marker, 0, marker - x1), max(y0, 0, -y1)) > 0.1:
        leaders = [line for line in ax.lines if len(line.get_xdata()) == 2 and line.get_xdata()[0] == marker]
        assert leaders


# ----------------------------------------------------------------------------- step plots and differences
def test_a_step_plot_holds_its_last_sample_for_a_period_instead_of_ending_in_a_stub():
    _, ax = plt.subplots()
    t = np.arange(5) * 0.1
    stairs(ax, t, {"a": np.arange(5.0), "b": np.arange(5.0) + 1})
    for line in ax.lines:
        x, y = line.get_xdata(), line.get_ydata()
        assert x[-1] == pytest.approx(0.5) and y[-1] == y[-2]  # t[-1] + one period, level


def test_differences_that_coincide_all_stay_visible_and_an_exact_zero_says_so():
    _, ax = plt.subplots()
    t = np.arange(6) * 0.1
    differences(ax, t, {"y1": np.zeros(6), "y2": np.array([0, 1e-16, 0, 0, 2e-16, 0])})
    first, second = ax.lines[:2]
    assert first.get_linewidth() > second.get_linewidth() + 0.5  # the one underneath is wider
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["y1 (0 at every step)", "y2"]


# ----------------------------------------------------------------------------- the LSTM labs
def test_loop_signals_keep_the_loops_colours_for_the_loops_and_explain_f_equal_one():
    from lstmds_sim.drawing.lstm_figures import loop_signals
    from lstmds_sim.drawing.render import LOOP_SCHEME

    t = np.arange(20) * 0.1
    rng = np.random.default_rng(0)
    fig = loop_signals(t, rng.random((20, 3)), rng.random((20, 3)), rng.random((20, 3)), title="loops")
    loop_hues = {to_hex(c) for c in LOOP_SCHEME.values()} | {to_hex(c) for c in ("tab:blue", "tab:orange")}
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_label().startswith("unit"):
                assert to_hex(line.get_color()) not in loop_hues
    assert to_hex(fig.axes[0].yaxis.label.get_color()) == LOOP_SCHEME["cell state"]
    assert to_hex(fig.axes[2].yaxis.label.get_color()) == LOOP_SCHEME["hidden state"]
    assert any("f = 1" in text.get_text() for text in fig.axes[1].texts)


def test_the_accuracy_plot_says_what_n_and_m_are():
    from lstmds_sim.drawing.lstm_figures import accuracy_vs_scale

    table = [{"scale": s, "error_n+m": s**2, "error_n": s**2 / 3} for s in (1e-3, 1e-2, 1e-1)]
    fig = accuracy_vs_scale(table, reference_row=1, n=4, m=1)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "n: states of the linear\nsystem (4)" in texts and "m: its inputs (1)" in texts
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2] == ["Nn = n + m = 5 units", "Nn = n = 4 units"]


# ----------------------------------------------------------------------------- the training labs
def test_a_training_setting_has_one_colour_in_the_loss_the_validation_and_the_pole_zero_plots():
    from lstmds_sim.drawing.lstm_figures import systems_pzmap
    from lstmds_sim.drawing.training_figures import basin_loss, validation_panels

    rates = ("lr 0.0001", "lr 0.001", "lr 0.01")
    curves = {f"balanced, {r}": np.geomspace(1e-5, 1, 50) for r in rates} | {"canonical, lr 0.0001": np.ones(50)}
    loss = basin_loss(curves, dotted={"canonical, lr 0.0001"}, title="loss")
    in_loss = {line.get_label(): to_hex(line.get_color()) for line in loss.axes[0].lines if not line.get_label().startswith("_")}
    t = np.arange(10) * 0.01
    panels = validation_panels(t, np.zeros(10), [(f"{r}: error", "LSTM, trained", np.ones(10)) for r in rates])
    system = {"zeros": [[0.5, 0.0]], "poles": [[0.9, 0.1], [0.9, -0.1]]}
    pz = systems_pzmap({"true": system, **{r: system for r in rates}}, title="pz", inset=None)
    in_pz = {}
    for collection in pz.axes[0].collections:
        label = collection.get_label().split(":")[0]
        colours = collection.get_edgecolor() if len(collection.get_edgecolor()) else collection.get_facecolor()
        in_pz.setdefault(label, to_hex(colours[0]))
    for k, rate in enumerate(rates):
        colour = in_loss[f"balanced, {rate}"]
        assert in_pz[rate] == colour
        assert to_hex(panels.axes[k].title.get_color()) == colour
        assert to_hex(panels.axes[k].lines[1].get_color()) == colour
    assert in_loss["canonical, lr 0.0001"] == in_loss["balanced, lr 0.0001"]  # the same rate, dotted
    assert in_pz["true"] not in {in_loss[label] for label in in_loss}  # the truth has a colour of its own
    assert len(_legends(panels)) == 1  # one legend, not one per panel


# ----------------------------------------------------------------------------- the pH labs
def test_the_ph_axis_is_not_stretched_by_the_lstms_first_samples():
    from lstmds_sim.drawing.ph_figures import identification_validation

    t = np.arange(200) * 10.0
    plant = 7 + 0.5 * np.sin(t / 300)
    lstm = plant + 0.02
    lstm[:5] = [3.4, 5.0, 6.2, 6.8, 7.0]  # the washout: from a random initial state
    fig = identification_validation(t, plant + 0.01, plant, lstm, np.full(200, 15.5), fit_percent=90.0, washout=10)
    low, high = fig.axes[0].get_ylim()
    assert low > 6.0 and high < 8.0
    assert any("LSTM starts at pH 3.40" in text.get_text() for text in fig.axes[0].texts)


def test_the_plant_agreement_names_its_runs():
    from lstmds_sim.drawing.ph_figures import plant_agreement

    t = np.arange(30) * 10.0
    fig = plant_agreement(t, np.zeros((2, 30)), np.zeros((2, 30)) + 1e-16, np.zeros(10))
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels == ["training input", "validation input"]


# ----------------------------------------------------------------------------- the scenario lab
def _rows():
    rho = np.linspace(0.1, 1.0, 10)
    plant = 0.1 + 0.9 * rho**2
    return [{"rho_u": float(r), "rho_y_lstm": 0.45, "rho_y_lstm_after_transient": float(p), "rho_y_plant": float(p),
             "analytic_iss_bound": 0.6 + 0.6 * float(r), "lyapunov_bound": 2.97} for r, p in zip(rho, plant)]


def test_figure_3b_shows_every_curve_and_gives_the_scenario_bounds_the_room():
    from lstmds_sim.drawing.scenario_figures import reachable_set

    fig = reachable_set(_rows(), trivial_bound=2.97, n=2964, eps=0.01, beta=1e-6)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    after = next(line for label, line in lines.items() if "after the first" in label)
    plant = next(line for label, line in lines.items() if label.startswith("plant"))
    assert after.get_zorder() > plant.get_zorder() and after.get_markersize() > plant.get_markersize()
    assert after.get_markerfacecolor() == "none"  # a ring: the plant's square shows inside it
    trivial = next(line for label, line in lines.items() if label.startswith("trivial"))
    lyapunov = next(line for label, line in lines.items() if label.startswith("ISS-Lyapunov"))
    assert trivial.get_linewidth() > lyapunov.get_linewidth() + 2 and trivial.get_zorder() < lyapunov.get_zorder()
    assert "equal to the trivial bound" in lyapunov.get_label()
    low, high = ax.get_ylim()  # every curve on the axes, the scenario bounds (0.1 to 1) over half the height
    assert low <= 0.1 and high >= 2.97
    assert ax.get_yscale() == "log" and np.log(1.0 / 0.1) / np.log(high / low) > 0.5


def test_figure_3a_names_its_scenarios_and_shows_the_plant_under_the_lstm():
    from lstmds_sim.drawing.scenario_figures import example_scenarios

    rng = np.random.default_rng(0)
    y = rng.standard_normal((4, 50))
    fig = example_scenarios({"u": rng.standard_normal((4, 50)), "y": y, "plant": y}, Ts=10.0, rho_u=1.0)
    top, bottom = fig.axes
    assert [t.get_text() for t in top.get_legend().get_texts()] == [f"scenario {k}" for k in range(1, 5)]
    assert len(bottom.get_legend().get_texts()) == 2
    for k in range(4):  # the plant wide and underneath (drawn first), the LSTM thin on top, the same colour
        plant, lstm = bottom.lines[2 * k], bottom.lines[2 * k + 1]
        assert plant.get_linewidth() > 2 * lstm.get_linewidth() and plant.get_color() == lstm.get_color()
        assert plant.get_linestyle() == "-"
    assert all(isinstance(h, Line2D) for h in bottom.get_legend().legend_handles)


# ----------------------------------------------------------------------------- one numbering, one name per picture
def test_the_labs_are_numbered_one_way_everywhere_and_the_readmes_picture_is_the_diagram():
    import re
    from pathlib import Path

    from lstmds_sim import diagrams

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for k, name in enumerate(diagrams.LABS, start=1):
        text = (root / "diagrams" / f"{name}.py").read_text()
        assert f"# # Lab {k}:" in text, name  # the notebook's title
        assert re.search(rf'^"""Lab {k}:', text, re.MULTILINE), name  # the docstring `lstmds list` shows
        assert re.search(rf"^{k}\. `{name}`", readme, re.MULTILINE), name  # the README's list
        for other, named in re.findall(r"\b[Ll]ab (\d+)\b \(`(\w+)`\)", text):  # "lab 7 (`ph_identification`)"
            assert diagrams.LABS[int(other) - 1] == named, (name, other, named)
        assert not re.search(r"\b[Ll]ab 1b\b|\b[Ll]ab (?:9|[1-9]\d)\b", text), name
    # the README's picture is the diagram, named as the labs name their diagram pictures
    pictures = re.findall(r"\]\((docs/images/[^)]+)\)", readme)
    assert "docs/images/lstm_layer_diagram.png" in pictures and all((root / p).is_file() for p in pictures)
    assert "lstm_layer_loops" not in readme  # the lab's time plot of the two loops has that name

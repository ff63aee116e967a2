"""Small plotting helpers shared by the labs (matplotlib Axes in, nothing global)."""

from __future__ import annotations

import numpy as np


def stairs(ax, t, series: dict, *, title: str | None = None, ylabel: str | None = None) -> None:
    """Sample-and-hold plot of several signals (name -> 1-D array), like MATLAB's ``stairs``."""
    styles = [dict(color="tab:blue", lw=2.5, alpha=0.55), dict(color="k", lw=1.0, ls="--"),
              dict(color="tab:red", lw=1.0), dict(color="tab:green", lw=1.0)]
    for (name, values), style in zip(series.items(), styles * 3):
        ax.step(t, values, where="post", label=name, **style)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    if ylabel:
        ax.set_ylabel(ylabel)


def pzmap(ax, systems: dict, *, title: str = "pole-zero map") -> None:
    """Poles (x) and zeros (o) of several systems (name -> (zeros, poles)) with the unit circle."""
    theta = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(theta), np.sin(theta), color="0.6", lw=0.8)
    colors = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
    sizes = [90, 45, 30, 20]
    for (name, (zeros, poles)), color, size in zip(systems.items(), colors, sizes):
        zeros, poles = np.asarray(zeros, dtype=complex), np.asarray(poles, dtype=complex)
        ax.scatter(poles.real, poles.imag, marker="x", s=size, color=color, label=f"{name} poles")
        ax.scatter(zeros.real, zeros.imag, marker="o", s=size, facecolors="none", edgecolors=color, label=f"{name} zeros")
    ax.axhline(0, color="0.85", lw=0.6)
    ax.axvline(0, color="0.85", lw=0.6)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("Re z")
    ax.set_ylabel("Im z")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")


def loss_curves(ax, curves: dict, *, title: str, xlabel: str = "epoch", ylabel: str = "training loss (MSE)",
                styles: dict | None = None) -> None:
    """Loss histories (label -> 1-D array) on a log scale."""
    for label, history in curves.items():
        ax.semilogy(history, label=label, **(styles or {}).get(label, {}))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)

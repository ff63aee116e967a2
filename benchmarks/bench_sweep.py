"""Reach of the streamed scenario sweep: eps = 1e-3, beta = 1e-6 (N = 29,632 per rho_u), 10 values of rho_u.

Runs ``lstmds scenario`` as a child process (the LSTM through the batched
diagram and the matrices, the plant through the PHPLANT diagram, the posterior
check on N fresh scenarios; 2000 steps each) on ``--workers`` local Dask
workers (0: serial, in the one process), by default with ``--backend jax
--chunk 512`` (the diagrams compiled once per worker: the configuration that
meets the goal of 5 minutes in 1 GB; ``--backend numpy --chunk 2048`` is the
interpreter's run measured before), and measures it from outside:

* wall time of the whole command (start-up, cluster, sweep, figures);
* peak memory of the whole process tree (the command, Dask's scheduler, nannies
  and workers): the largest sum of RSS and of PSS (RSS
  counts pages shared between processes once per process; PSS splits them;
  RSS every second, PSS every 3 s), and the largest single process;
* scenario-steps per second per core of each stage, from the seconds the
  chunks report (wall time inside each chunk, summed over the workers; on a
  busy machine also their CPU seconds), and what eps = 1e-5 would take on K
  workers at that rate (compiling is once per worker and does not grow with N);
* the load average before and after (the machine may be shared).

The model is trained quickly (300 SLSQP iterations; the timing does not depend
on its quality) unless ``--model`` is given.

    python benchmarks/bench_sweep.py [--eps 1e-3] [--workers 2] [--backend jax|numpy] [--chunk N]
                                     [--model FILE] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lstmds_sim.safety.scenario import sample_size

#: The stages of the sweep and how many scenarios each runs, per rho_u: (results' timing key, set).
STAGES = (("lstm_diagram_s", "bound"), ("lstm_matrix_s", "bound"), ("plant_diagram_s", "bound"),
          ("posterior_s", "posterior"))


def quick_model(path: Path, seed: int = 0) -> Path:
    """An ISS-certified LSTM trained the lab's way, cut to 300 SLSQP iterations."""
    from lstmds_sim.learning.experiments import train_iss_model

    return train_iss_model(300, seed).save(path, overwrite=True)


class TreeMemory:
    """Samples the memory of a process and all its descendants in a thread; keeps the peaks (MiB)."""

    def __init__(self, pid: int, every: float = 1.0, pss_every: int = 3):
        import psutil

        self.psutil, self.root, self.every, self.pss_every = psutil, psutil.Process(pid), every, pss_every
        self.rss = self.pss = self.single = 0.0
        self.start = time.perf_counter()
        self.pss_at = 0.0  # seconds after the start when the sum of PSS peaked
        self.pss_parts: dict[int, float] = {}  # pid -> PSS (MiB) at that moment
        self.processes = 0
        self.by_process: dict[int, tuple[str, float, float]] = {}  # pid -> (what it is, largest RSS, PSS in MiB)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        tick = 0
        while not self.stop.is_set():
            tick += 1
            full = tick % self.pss_every == 1  # PSS reads /proc/PID/smaps: costly, so every few samples
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except self.psutil.NoSuchProcess:
                return
            rss = pss = 0.0
            parts = {}
            for proc in procs:
                try:
                    info = proc.memory_full_info() if full else proc.memory_info()
                except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                    continue
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
                parts[proc.pid] = getattr(info, "pss", info.rss) / 2**20
                self.single = max(self.single, info.rss / 2**20)
                what, most, most_pss = self.by_process.get(proc.pid, (None, 0.0, 0.0))
                if what is None:
                    try:
                        what = " ".join(proc.cmdline())[-60:]
                    except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                        what = "?"
                if full:
                    most_pss = max(most_pss, getattr(info, "pss", info.rss) / 2**20)
                self.by_process[proc.pid] = (what, max(most, info.rss / 2**20), most_pss)
            self.rss = max(self.rss, rss / 2**20)
            if full and pss / 2**20 > self.pss:
                self.pss, self.pss_at, self.pss_parts = pss / 2**20, time.perf_counter() - self.start, parts
            self.processes = max(self.processes, len(procs))
            self.stop.wait(self.every)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eps", type=float, default=1e-3)
    parser.add_argument("--beta", type=float, default=1e-6)
    parser.add_argument("--workers", type=int, default=2, help="local Dask workers; 0 runs serially")
    parser.add_argument("--backend", choices=("numpy", "jax"), default="jax",
                        help="how the sweep runs its diagrams (default: %(default)s, compiled once per worker; "
                             "numpy: the interpreter, the configuration measured before)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="scenarios per chunk (default: 512 with jax, 2048 with numpy: two workers and the "
                             "command stay under 1 GB of PSS)")
    parser.add_argument("--horizon", type=int, default=2000)
    parser.add_argument("--rho-u", nargs="+", default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_sweep_"))
    out.mkdir(parents=True, exist_ok=True)
    model = Path(args.model) if args.model else quick_model(out / "model.npz")

    command = [sys.executable, "-m", "lstmds_sim.io.cli", "scenario", "--eps", str(args.eps), "--beta",
               str(args.beta), "--horizon", str(args.horizon), "--model", str(model), "--out", str(out / "sweep")]
    command += ["--workers", str(args.workers)] if args.workers else []
    command += ["--backend", args.backend, "--chunk", str(args.chunk or (512 if args.backend == "jax" else 2048))]
    command += ["--rho-u", *args.rho_u] if args.rho_u else []
    print("running:", " ".join(command[2:]), flush=True)
    load_before = [round(x, 2) for x in os.getloadavg()]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "CI": "1"})  # progress as lines, not a bar
    memory = TreeMemory(proc.pid)
    log = []
    for line in proc.stdout:
        log.append(line)
        if "rho_u" in line and "rho_y*" in line:
            print(f"  [{time.perf_counter() - start:6.0f} s]{line.rstrip()}", flush=True)
    proc.wait()
    wall = time.perf_counter() - start
    memory.finish()
    if proc.returncode:
        sys.exit("".join(log[-20:]) + f"\nthe sweep failed (exit {proc.returncode})")

    results = json.loads((out / "sweep" / "results.json").read_text())
    n_rho, horizon, n = len(results["sweep"]), results["horizon"], results["N"]
    fresh = results["sweep"][0]["posterior"]["fresh_scenarios"]
    timing = results["timing"]
    per_set = {"bound": n * horizon * n_rho, "posterior": fresh * horizon * n_rho}
    rates = {key: per_set[part] / timing[key] for key, part in STAGES}
    compile_s = timing.get("compile_s", 0.0)  # once per worker process and stage: does not grow with N
    core_s = sum(timing[k] for k, _ in STAGES) + timing["draw_s"]  # wall seconds in the chunks, all workers
    scenario_steps = sum(per_set[part] for _, part in STAGES)
    n_5 = sample_size(1e-5, args.beta)
    core_s_5 = core_s * n_5 / n  # the work grows linearly with N (bound and fresh sets of N each)
    per_worker_compile = compile_s / max(1, args.workers)
    report = {
        "eps": args.eps, "beta": args.beta, "N": n, "rho_u values": n_rho, "horizon": horizon,
        "workers": args.workers or "serial", "chunk": results["chunk"], "cores": os.cpu_count(),
        "backend": results.get("backend", "numpy"), "compilations": results.get("compilations", 0),
        "load average before": load_before, "load average after": [round(x, 2) for x in os.getloadavg()],
        "scenarios_evaluated": results["scenarios_evaluated"],
        "wall_s": round(wall, 1), "sweep_s (in the lab)": round(timing["total_s"], 1),
        "chunk seconds (wall, summed over workers)": round(core_s, 1),
        "compile seconds (summed over workers)": round(compile_s, 1),
        "chunk CPU seconds (summed over workers)": round(timing["cpu_s"], 1),
        "peak memory, sum of RSS [MiB]": round(memory.rss), "peak memory, sum of PSS [MiB]": round(memory.pss),
        "largest single process RSS [MiB]": round(memory.single), "processes": memory.processes,
        "sum of PSS peaked at [s]": round(memory.pss_at),
        "PSS by process at that moment [MiB]": {pid: round(v) for pid, v in memory.pss_parts.items()},
        "peak RSS / PSS by process [MiB]": {f"{pid} {what}": [round(most), round(most_pss)]
                                            for pid, (what, most, most_pss) in memory.by_process.items()},
        "scenario-steps per second per core": {key: f"{rate / 1e6:.2f} M" for key, rate in rates.items()},
        "all stages (scenario-steps per chunk second)": f"{scenario_steps / core_s / 1e6:.2f} M",
        "all stages (scenario-steps per CPU second)": f"{scenario_steps / timing['cpu_s'] / 1e6:.2f} M",
        "eps = 1e-5 (at the chunk seconds' rate)": {"N": n_5, "core-hours": round(core_s_5 / 3600, 1),
                       **{f"hours on {k} workers": round((core_s_5 / k + per_worker_compile) / 3600, 2)
                          for k in (2, 16, 64, 256)}},
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()

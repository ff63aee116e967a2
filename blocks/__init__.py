"""lstmds-sim block library for bdsim.

bdsim discovers these blocks by scanning ``lstmds_sim/blocks/*.py`` (this folder,
installed inside the package); diagram scripts get them as ``bd.HADAMARD(...)``
etc. from :func:`lstmds_sim.blockdiagram`.

Signals are ndarrays whose last axis is the signal vector; an optional leading
axis is the batch (B independent sequences simulated at once).
"""

url = "https://github.com/lstmds-sim/lstmds-sim/blob/main/blocks/"

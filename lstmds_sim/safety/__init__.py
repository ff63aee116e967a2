"""Safety: the ISS certificate (Theorem 4), guaranteed reachable-set bounds, the scenario approach."""

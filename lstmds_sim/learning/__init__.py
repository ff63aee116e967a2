"""Learning: training an LSTM (JAX + optax), identification data and metrics, ISS-constrained identification."""

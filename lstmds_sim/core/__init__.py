"""The simulation core: LSTM parameters, the matrix twin, the bdsim engine, the diagram builder, the cross-check."""

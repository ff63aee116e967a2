"""Drawing: the diagram as a graph, its layout, the rendered picture with its feedback loops, lab plots."""

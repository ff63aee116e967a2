"""The labs: diagram scripts, each runnable as ``lstmds run NAME`` or ``python diagrams/NAME.py``."""

#: The labs in teaching order (``lstmds list`` shows them so).
LABS = (
    "lstm_layer", "lstm_stack", "lstm_vs_linear", "training_basin", "training_random",
    "ph_plant", "ph_identification", "scenario_safety",
)

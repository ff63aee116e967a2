"""The dynamical systems the LSTM is studied beside: linear (LTI) systems and the pH neutralisation plant."""

"""Input and output: .npz files, the output folder of a run, the labs' shared options, the ``lstmds`` command."""

"""One module per command: each exposes a run function taking a frozen options object."""

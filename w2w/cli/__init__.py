"""The `w2w` command: main.py wires the commands (one function each) and prints; nothing heavy is
imported at start-up."""

"""The motion generator: text to a clip with the shipped motion-world model (generator.py)."""

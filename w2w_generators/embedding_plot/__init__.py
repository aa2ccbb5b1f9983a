"""The word-embedding plot: the generator, its live half and the 2,000-word vocabulary explorer."""

"""w2w: presentation-as-code for the talk "From Words to Worlds"."""

__version__ = "0.1.0"

"""`python -m w2w`: the same as the `w2w` command."""

from .entry import main

main()

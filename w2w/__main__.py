"""`python -m w2w`: the same as the `w2w` command."""

from w2w.entry import main

main()

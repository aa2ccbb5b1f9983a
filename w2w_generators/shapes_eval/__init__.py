"""The shapes model judged against its captions: the evaluation and its sweep."""

"""The sound model heard on the slides: the `sound` generator (the model and its world are sound/)."""

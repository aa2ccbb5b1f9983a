"""The speaker's paired phone remote (`w2w present --remote`) and the rehearsal recording
(`--rehearse`): pairing (pairing.py), the remote token's scope (scope.py), the routes (routes.py),
the deck as served with its script (served_deck.py), the rehearsal recorder (rehearse.py) and the
phone's page (static/). docs/remote.md describes them."""

"""The plug-in boundary: the protocol generators follow (protocol.py), what their runs share
(running.py) and how they are found (registry.py, entry points of group `w2w.generators`).
Generators import none of these directly: they use `w2w.plugin_api`."""

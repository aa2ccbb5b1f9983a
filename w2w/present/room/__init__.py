"""The room's door of `w2w present --audience`: its routes and roles (door.py), its state and rules
(state.py), the built deck's slides as the phones see them (deck_slides.py), and its pages
(static/)."""

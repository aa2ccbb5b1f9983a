"""`w2w present`: the built site plus a local live API that runs the generators during the talk.

server.py (the command), app.py (routes, static site), security.py (Host/Origin/token checks),
limits.py (request, head and body limits in w2w's words), jobs.py (one model job at a time,
bounded queue), supervisor.py (the model process: start, deadline, restart, give up), child.py
(that process: loading, warm-up, steps), models.py (which generators go live, and their warm-up);
with --audience: audience.py (the room's routes and roles), room.py (its state and rules),
broadcast.py (the one SSE broadcaster), slides.py (the built deck's slides), static/ (its pages).
Importing this package imports nothing heavy; the server's libraries load in `server.present`,
and torch only ever in the model process.
"""

"""`w2w present`: the built site plus a local live API that runs the generators during the talk.

app.py (routes, static site), security.py (Host/Origin/token checks), jobs.py (one model job at a
time, bounded queue), models.py (loading and warming the models), server.py (the command).
Importing this package imports nothing heavy; the server's libraries load in `server.present`.
"""

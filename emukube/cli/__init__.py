"""The `emukube` command: one module per verb group, registered on the Typer app in app.py.

The only package that prints or writes files for the user; the logic is in client/, lifecycle/,
views/ and diagnose/."""

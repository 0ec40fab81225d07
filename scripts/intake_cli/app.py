"""`intake`: one CLI, with the client commands at the top and the ops commands under `intake ops`."""

from __future__ import annotations

import typer

from intake_cli import client, ops

app = typer.Typer(no_args_is_help=True, help="Intake: upload files, query your index, operate the pipeline.")
client.register(app)
app.add_typer(ops.app, name="ops")


@app.callback()
def _root() -> None:
    """Intake's command line (the local cloud by default)."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()

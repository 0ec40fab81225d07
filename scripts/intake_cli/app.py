"""`intake`: one CLI, with the client commands at the top and the ops commands under `intake ops`.

Layout: user_commands and ops_commands are the typer layer; they call the API client (api, cognito,
transfer, config) and the AWS-side operations (target, dlq, status, records), and print through
output. Only output and the *_commands modules know typer or rich.
"""

from __future__ import annotations

import typer

from intake_cli import ops_commands, user_commands

app = typer.Typer(no_args_is_help=True, help="Intake: upload files, query your index, operate the pipeline.")
user_commands.register(app)
app.add_typer(ops_commands.app, name="ops")


@app.callback()
def _root() -> None:
    """Intake's command line (the local cloud by default)."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""`make soak`: thousands of uploads through the local cloud while it misbehaves, then an exact ledger.

`python -m soak [--uploads N] [--concurrency C] [fault rates...] [--json]` (PYTHONPATH=scripts).
The faults are injected by the local cloud (`localcloud.faults`); the uploads take the CLI's own
path (`intake_cli.api.IntakeApi.upload_file`); the ledger is read from the emulator's state.
"""

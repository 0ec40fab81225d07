"""Fault injection for the soak (`make soak`): the local cloud misbehaving as AWS may, each fault at a
set rate and counted. Nothing here is known to `functions/` or `shared/`: the functions see only
what AWS could do to them.

One file per concern:
- `rates.py`: the rates, and the counts of what was injected (by kind);
- `aws_errors.py`: each service's own throttling and 5xx answers (S3, DynamoDB, SNS, SES);
- `middleware.py`: a WSGI middleware in front of the emulator that, for requests signed by a function
  role's credentials only, answers throttling, a 5xx or a connection reset before the request is
  performed (botocore retries them), acknowledges some of the pollers' SQS deletes without performing
  them (the messages come back: a redelivery), and delays some stage receives (stages finish in
  different orders);
- `s3_events.py`: some S3 event notifications published twice;
- `kills.py`: a busy execution environment's process killed mid-invocation (consumers, the API);
- `pollers.py`: an event source mapping poller stopped and started again;
- `poison.py`: one message per consumer queue that its consumer cannot read (it must reach the DLQ);
- `plan.py`: all of them together on a running local cloud.
"""

from .plan import FaultPlan
from .rates import Counts, Rates

__all__ = ["Counts", "FaultPlan", "Rates"]

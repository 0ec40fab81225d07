"""API Gateway for the local cloud: the deployed REST API, served on http://127.0.0.1:3000.

moto stores REST APIs but cannot invoke them, and has no Cognito authorizer. This package reads what the
template deployed and serves it as API Gateway does for a REST API, one module per concern:

- :mod:`.waf`: AWS WAF, the rate-based rules of the WebACL associated with the stage;
- :mod:`.throttle`: the stage's throttling (method settings: a token bucket per method, 429);
- :mod:`.access_log`: the stage's access log lines (AccessLogSetting format) into its log group;
- :mod:`.routes`: the API definition (resources, methods, integrations, authorizers, gateway responses)
  and routing;
- :mod:`.authorizer`: the Cognito user pool authorizer (JWT verification, claims as strings);
- :mod:`.permissions`: the function's resource policy check (SourceArn);
- :mod:`.proxy`: the Lambda proxy event and the reply a proxy result stands for;
- :mod:`.web`: the upload page and its config.js;
- :mod:`.server`: HTTP, by werkzeug;
- :mod:`.front`: :class:`ApiFront`, which puts them together.
"""

from .authorizer import CognitoVerifier, claims_as_strings
from .front import API_PORT, ApiFront
from .messages import Reject, Reply, Request
from .permissions import invoke_permitted
from .proxy import proxy_event, proxy_reply
from .routes import ApiDefinition

__all__ = [
    "API_PORT",
    "ApiDefinition",
    "ApiFront",
    "CognitoVerifier",
    "Reject",
    "Reply",
    "Request",
    "claims_as_strings",
    "invoke_permitted",
    "proxy_event",
    "proxy_reply",
]

"""A local stand-in for the Lambda Python runtime: a handler runs the way Lambda runs it.

* :mod:`local.runtime.function` (the caller's side): :class:`LambdaFunction` runs an invocation in a fresh Python
  process, or (``warm``) in an execution environment forked from a fork server and kept warm and frozen between
  invocations; :class:`Invocation` is its outcome, as Lambda and CloudWatch Logs would show it.
* :mod:`local.runtime.bootstrap` (the function's side): the process entry that imports the handler, calls it with a
  :class:`LambdaContext` and enforces the timeout. It runs as a script and imports nothing from ``local``.

The Lambda API the provider calls (AddPermission, RemovePermission) is served by the emulator
(:mod:`local.emulator.awslambda`), beside the other AWS APIs.
"""

from .bootstrap import LambdaContext
from .function import LOCAL_RESPONSE_HOSTS, Invocation, LambdaFunction

__all__ = ["LOCAL_RESPONSE_HOSTS", "Invocation", "LambdaContext", "LambdaFunction"]

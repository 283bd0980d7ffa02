"""A local stand-in for CloudFormation's custom-resource machinery.

* :class:`ResponseServer`: the HTTPS side of the pre-signed ``ResponseURL``, recording every answer.
* :class:`StackDriver`: create / update / delete stack operations over a template's custom resources,
  with rollback, cleanup and polling through EventBridge rules (the state machine, ``driver.py``); the
  protocol checks of the answers (``answers.py``); the order of the requests (``schedule.py``); the
  timeline and its table (``timeline.py``).
* :class:`NativePlayer` (``native.py``): the native types the driver plays against the emulator
  (``AWS::Connect::PhoneNumber``).

The CloudFormation rules that are implemented, and where they are documented, are listed in
:mod:`local.cloudformation.driver`.
"""

from .answers import RequestRecord
from .driver import Stack, StackDriver, StackOperationError, StackResource, is_custom_resource, schedule_interval_s
from .server import ResponseServer
from .template import NO_VALUE, ResolutionError, Resolver, TemplateError, load_template, stringify
from .timeline import TimelineRecord

__all__ = [
    "NO_VALUE",
    "RequestRecord",
    "ResolutionError",
    "Resolver",
    "ResponseServer",
    "Stack",
    "StackDriver",
    "StackOperationError",
    "StackResource",
    "TemplateError",
    "TimelineRecord",
    "is_custom_resource",
    "load_template",
    "schedule_interval_s",
    "stringify",
]

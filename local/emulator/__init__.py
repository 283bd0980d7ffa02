"""Local emulator of the AWS APIs the traffic distribution group provider calls.

    from local.emulator import Emulator

    with Emulator() as emu:
        instance_arn = emu.add_instance(home_region="us-east-1", replica_region="us-west-2")
        os.environ["AWS_ENDPOINT_URL"] = emu.endpoint_url
        ...

One endpoint serves Amazon Connect (traffic distribution groups and their agents, tags,
instances and their replicas: ReplicateInstance, DescribeInstance, DeleteInstance; claimed
phone numbers), EventBridge rules and Lambda permissions (what crhelper's polling uses); the
SigV4 credential scope of each request says which service and Region it is for. Routing,
parsing, validation and responses come from botocore's own service models. See
:class:`Emulator` for the knobs and the inspection API (``groups``, ``instance``,
``deleted_instances``, ``phone_numbers``, ``calls``, ...).

What can go wrong on AWS is a knob, off by default: lifecycle delays and failures
(``set_delays``, ``fail_creation``, ``fail_deletion``, ``fail_replication``,
``fail_replica_deletion``), eventual consistency after a
Create (``set_visibility_lag``), ``ResourceNotReadyException`` (``fail_create_not_ready``),
per-call faults (``inject_fault``: throttle, 5xx, dropped connections, concurrent
modification), Regional outages (``set_outage``), the per-Region request-rate quota
(``set_throttle``) and EventBridge partial failures (``fail_targets``). CloudWatch alarms change state with
``set_alarm_state``, which gives the "CloudWatch Alarm State Change" event that the failover function takes.
"""

from local.emulator.core import Emulator
from local.emulator.errors import ApiError

__all__ = ["ApiError", "Emulator"]

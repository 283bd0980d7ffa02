"""AWS Lambda resource policies: AddPermission / RemovePermission, as crhelper calls them.

crhelper grants ``events.amazonaws.com`` the right to invoke the function from its polling
rule (``StatementId = LogicalResourceId + 8 random chars``, which the model limits to 100
characters of ``[a-zA-Z0-9-_]``) and removes the statement when polling ends. Functions
themselves are not modelled: any function name is accepted, its policy is created on the
first AddPermission.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from local.emulator.errors import ApiError

_MAX_POLICY_BYTES = 20480  # AWS: a function's resource-based policy is limited to 20 KB


def _function_parts(ref: str) -> tuple[str, str | None]:
    """Name and qualifier from a name, partial ARN (``123:function:f``) or full ARN."""
    parts = ref.split(":")
    if "function" in parts:
        index = parts.index("function")
        return parts[index + 1], parts[index + 2] if len(parts) > index + 2 else None
    return parts[0], parts[1] if len(parts) > 1 else None


class LambdaBackend:
    """Policies per (Region, function name, qualifier). Not thread-safe on its own (see Emulator)."""

    OPERATIONS = frozenset({"AddPermission", "RemovePermission"})

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.policies: dict[tuple[str, str, str | None], dict[str, dict[str, Any]]] = {}

    def handle(self, operation: str, params: dict[str, Any], region: str, now: float) -> dict[str, Any]:
        if operation == "AddPermission":
            return self._add_permission(params, region)
        return self._remove_permission(params, region)

    def snapshot(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for (region, function, qualifier), statements in self.policies.items():
            for sid, statement in statements.items():
                condition = statement.get("Condition", {})
                out.append(
                    {
                        "FunctionName": function,
                        "Qualifier": qualifier,
                        "Region": region,
                        "StatementId": sid,
                        "SourceArn": condition.get("ArnLike", {}).get("AWS:SourceArn"),
                        "Principal": next(iter(statement["Principal"].values())),
                        "Action": statement["Action"],
                        "Statement": copy.deepcopy(statement),
                    }
                )
        return out

    def function_arn(self, ref: str, region: str, qualifier: str | None = None) -> str:
        """The ARN of the function ``ref`` (name, partial or full ARN) names in ``region``."""
        name, _ = _function_parts(ref)
        return f"arn:aws:lambda:{region}:{self.account_id}:function:{name}" + (f":{qualifier}" if qualifier else "")

    def _key(self, params: dict[str, Any], region: str) -> tuple[str, str, str | None]:
        name, qualifier = _function_parts(params["FunctionName"])
        return region, name, params.get("Qualifier") or qualifier

    def _add_permission(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        key = self._key(params, region)
        sid = params["StatementId"]
        policy = self.policies.get(key, {})
        if sid in policy:
            raise ApiError(
                "ResourceConflictException",
                f"The statement id ({sid}) provided already exists. "
                "Please provide a new statement id, or remove the existing statement.",
            )
        region_, name, qualifier = key
        resource = self.function_arn(name, region_, qualifier)
        principal = params["Principal"]
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
            "Action": params["Action"],
            "Resource": resource,
        }
        condition: dict[str, Any] = {}
        if params.get("SourceArn"):
            condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
        if params.get("SourceAccount"):
            condition["StringEquals"] = {"AWS:SourceAccount": params["SourceAccount"]}
        if condition:
            statement["Condition"] = condition
        size = len(json.dumps({"Version": "2012-10-17", "Statement": [*policy.values(), statement]}))
        if size > _MAX_POLICY_BYTES:
            raise ApiError(
                "PolicyLengthExceededException",
                f"The final policy size ({size}) is bigger than the limit ({_MAX_POLICY_BYTES}).",
            )
        self.policies.setdefault(key, {})[sid] = statement
        return {"Statement": json.dumps(statement)}

    def _remove_permission(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        key = self._key(params, region)
        policy = self.policies.get(key)
        if not policy:
            raise ApiError("ResourceNotFoundException", "No policy is associated with the given resource.")
        sid = params["StatementId"]
        if sid not in policy:
            raise ApiError("ResourceNotFoundException", f"Statement {sid} is not found in resource policy.")
        del policy[sid]
        if not policy:
            del self.policies[key]
        return {}

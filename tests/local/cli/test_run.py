"""`make local`: a user's template against the emulator, with the demo's checks, and failures as CloudFormation
reports them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from local.cli.run import World, main

ROOT = Path(__file__).resolve().parents[3]
INSTANCE = "arn:aws:connect:eu-central-1:111122223333:instance/0f6c1c6e-1111-4222-8333-444455556666"
DEFAULT_GROUP = (
    "arn:aws:connect:eu-central-1:111122223333:traffic-distribution-group/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)
GROUP = """
  Tdg:
    Type: Custom::TrafficDistributionGroup
    Properties:
      ServiceToken: !ImportValue connect-tdg-provider-ServiceToken
      ServiceTimeout: 60
      Name: !Ref GroupName
      Description: !Ref Purpose
      InstanceId: !Ref ConnectInstanceArn
"""
PARAMETERS = """
Parameters:
  ConnectInstanceArn: {Type: String}
  GroupName: {Type: String, Default: local-tdg}
  Purpose: {Type: String, Default: Tried locally}
Resources:
"""


def local_run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100, "make local prints more than 100 columns"
    return code, out


def write(tmp_path: Path, resources: str) -> str:
    path = tmp_path / "stack.yaml"
    path.write_text(PARAMETERS + resources)
    return str(path)


def test_create_update_delete_of_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = local_run(
        capsys,
        "examples/failover.yaml",
        "--params",
        f"ConnectInstanceArn={INSTANCE} PrimaryRegion=eu-central-1 ReplicaRegion=eu-west-2 "
        f"ActiveRegion=eu-central-1 DefaultTdgArn={DEFAULT_GROUP}",
        "--update-params",
        "ActiveRegion=eu-west-2",
    )

    assert code == 0, out
    made = "instance/…55556666 in eu-central-1, replicated to eu-west-2; default group tdg/…eeeeeeee"
    assert f"\n  {made}\n" in out
    assert "eu-central-1 (account 111122223333)" in out
    for done in ("create: CREATE_COMPLETE", "update: UPDATE_COMPLETE", "delete: DELETE_COMPLETE"):
        assert done in out
    assert "!GetAtt DefaultTdgDistribution.SignInDistribution = eu-central-1=true,eu-west-2=true" in out
    assert f"!Ref DefaultTdgDistribution = tdg/…{DEFAULT_GROUP[-8:]}" in out
    assert out.rstrip().endswith("LOCAL RUN OK: every operation completed, nothing was left behind.")


def test_a_typo_rolls_back_and_fails_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = write(tmp_path, GROUP + "      Descripton: typo\n")

    code, out = local_run(capsys, stack, "--params", f"ConnectInstanceArn={INSTANCE}")

    assert code == 1
    assert "create: ROLLBACK_COMPLETE" in out and "delete: DELETE_COMPLETE" in out
    assert "- CreateStack Create Tdg FAILED: Unknown property Descripton." in out
    assert "Traceback" not in out


def test_an_update_that_rolls_back_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A new Description means a new group, whose name the current group still holds.
    stack = write(tmp_path, GROUP)

    code, out = local_run(
        capsys, stack, "--params", f"ConnectInstanceArn={INSTANCE}", "--update-params", "Purpose='New words'"
    )

    assert code == 1
    assert "update: UPDATE_ROLLBACK_COMPLETE" in out and "delete: DELETE_COMPLETE" in out
    assert "- UpdateStack Update Tdg FAILED: Cannot replace the group: the name 'local-tdg' is still held" in out


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("", "ValidationError: Parameters: [ConnectInstanceArn] must have values"),
        (f"ConnectInstanceArn={INSTANCE} ActiveRegion=eu-west-1", "ValidationError: ActiveRegion must equal"),
    ],
)
def test_a_refused_operation_is_reported_as_cloudformation_does(
    capsys: pytest.CaptureFixture[str], params: str, message: str
) -> None:
    code, out = local_run(capsys, "examples/failover.yaml", "--params", params)

    assert code == 1
    assert message in out
    assert "Traceback" not in out


def test_native_resources_get_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    phone = "  Phone:\n    Type: AWS::Connect::PhoneNumber\n    Properties: {TargetArn: !Ref Tdg, CountryCode: US}\n"
    stack = write(tmp_path, GROUP + phone)

    code, out = local_run(capsys, stack, "--params", f"ConnectInstanceArn={INSTANCE}")

    assert code == 0, out
    lines = [line for line in out.splitlines() if "Phone (AWS::Connect::PhoneNumber)" in line]
    assert [line.strip() for line in lines] == [
        "Phone (AWS::Connect::PhoneNumber): not played locally; its !Ref and !GetAtt are placeholders."
    ]


def test_bad_arguments_say_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    assert local_run(capsys, "examples/stack.yaml", "--params", "ConnectInstanceArn") == (
        2,
        "make local: 'ConnectInstanceArn' is not Key=Value\n",
    )
    code, out = local_run(capsys, "missing.yaml")
    assert code == 2 and out.startswith("make local: [Errno 2] No such file or directory")


def test_make_local_without_a_template_prints_its_usage() -> None:
    done = subprocess.run(["make", "--no-print-directory", "local"], cwd=ROOT, capture_output=True, text=True)

    assert done.returncode == 2
    assert done.stdout.startswith("usage: make local TEMPLATE=path/to/stack.yaml")


# --- the instances the parameters name --------------------------------------------------------------


def test_instances_come_from_arns_ids_and_default_group_arns() -> None:
    world = World.from_parameters(
        {
            "ConnectInstanceArn": INSTANCE,
            "OtherInstanceId": "11111111-2222-4333-8444-555555555555",
            "DefaultTdgArn": DEFAULT_GROUP,
            "RegionalGroup": "arn:aws:connect:ap-northeast-1:111122223333:traffic-distribution-group/"
            "bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee",
            "Replica": "eu-west-2",
            "QueueId": "99999999-2222-4333-8444-555555555555",
        },
        "us-east-1",
    )

    assert world.account == "111122223333"
    assert world.instances == {
        "eu-central-1": "0f6c1c6e-1111-4222-8333-444455556666",
        "us-east-1": "11111111-2222-4333-8444-555555555555",
        "ap-northeast-1": "",  # made for the group named in a parameter
    }
    assert world.default_groups["eu-central-1"] == DEFAULT_GROUP.rsplit("/", 1)[1]
    assert (world.replica_of("eu-central-1"), world.replica_of("eu-west-2")) == ("eu-west-2", "eu-central-1")
    assert world.notes == []


def test_the_emulator_has_one_account_and_one_instance_per_region() -> None:
    world = World.from_parameters(
        {"A": INSTANCE, "B": INSTANCE.replace("111122223333", "444455556666").replace("0f6c", "1f6c")}, "us-east-1"
    )

    assert world.account == "111122223333"
    assert len(world.notes) == 2


def test_an_instance_the_emulator_cannot_make_is_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    instance_id = INSTANCE.rsplit("/", 1)[1]
    code, out = local_run(
        capsys,
        "examples/stack.yaml",
        "--params",
        f"ConnectInstanceArn={INSTANCE}",
        "--region",
        "us-east-1",
        "--update-params",
        f"ConnectInstanceId={instance_id}",
    )

    assert code == 1  # the template has no ConnectInstanceId: the update is refused
    assert f"note: instance …{instance_id[-8:]} in us-east-1 is not made" in out
    assert "Traceback" not in out

"""The aws-auth mapUsers merge, without mocks; property tests over many live values."""

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from eks_cicd_access.aws_auth import (
    AwsAuthError,
    check_authentication_mode,
    map_users_entry,
    merge_map_users,
)

OURS = map_users_entry("arn:aws:iam::123412341234:user/my-test-iam-user", "my-test-user", ["my-test-role"])

RECIPE_STYLE = """\
- userarn: arn:aws:iam::123412341234:user/alice
  username: alice
  groups:
    - system:masters
# a comment someone left
- userarn: arn:aws:iam::123412341234:user/team-b
  username: team-b
  groups: [team-b]
"""

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.@", min_size=1, max_size=20)
arns = names.map(lambda n: f"arn:aws:iam::123412341234:user/{n}")
entries = st.fixed_dictionaries(
    {"userarn": arns, "username": names, "groups": st.lists(names, max_size=3)},
    optional={"extra": st.one_of(st.integers(), st.booleans(), names)},
)
entry_lists = st.lists(entries, max_size=8)


def arn_of(entry):
    return entry.get("userarn") if isinstance(entry, dict) else None


@given(entry_lists, st.sampled_from(["yaml", "flow", "json"]))
def test_merge_keeps_every_other_entry_in_order(existing, style):
    """However the live mapUsers is written, every other entry survives unchanged and in order."""
    writers: dict[str, Callable[[Any], str]] = {
        "yaml": yaml.safe_dump,
        "flow": lambda v: yaml.safe_dump(v, default_flow_style=True),
        "json": json.dumps,
    }
    live = writers[style](existing)
    merged = yaml.safe_load(merge_map_users(live, OURS))
    others_before = [e for e in existing if arn_of(e) != OURS["userarn"]]
    others_after = [e for e in merged if arn_of(e) != OURS["userarn"]]
    assert others_after == others_before


@given(entry_lists, st.integers(min_value=0, max_value=3), st.data())
def test_merge_has_exactly_one_entry_for_our_arn(existing, copies, data):
    """Ours appears exactly once, with our username and groups, even if the live value had duplicates of our ARN."""
    for _ in range(copies):
        stale = {"userarn": OURS["userarn"], "username": "stale", "groups": ["old"]}
        existing.insert(data.draw(st.integers(min_value=0, max_value=len(existing))), stale)
    merged = yaml.safe_load(merge_map_users(yaml.safe_dump(existing), OURS))
    assert [e for e in merged if arn_of(e) == OURS["userarn"]] == [OURS]


@given(entry_lists)
def test_merge_is_idempotent(existing):
    """A second run on the first run's result yields the identical string: no perpetual diff."""
    once = merge_map_users(yaml.safe_dump(existing), OURS)
    assert merge_map_users(once, OURS) == once


def test_existing_entry_is_replaced_in_place():
    """An entry with our ARN is updated where it stands, not moved or duplicated."""
    live = yaml.safe_dump(
        [
            {"userarn": "arn:aws:iam::1:user/a", "username": "a", "groups": []},
            {"userarn": OURS["userarn"], "username": "old-name", "groups": ["old"]},
            {"userarn": "arn:aws:iam::1:user/b", "username": "b", "groups": []},
        ]
    )
    merged = yaml.safe_load(merge_map_users(live, OURS))
    assert [e["username"] for e in merged] == ["a", "my-test-user", "b"]
    assert merged[1] == OURS


def test_no_op_keeps_foreign_formatting_and_comments():
    """When our entry is already there exactly, the live string is returned byte for byte."""
    live = RECIPE_STYLE + yaml.safe_dump([OURS])
    assert merge_map_users(live, OURS) is live


@pytest.mark.parametrize("live", [None, "", "   \n", "null\n", "[]\n"])
def test_missing_or_empty_map_users_starts_a_list(live):
    """No mapUsers key (only mapRoles) or an empty one gives a list holding just our entry."""
    assert yaml.safe_load(merge_map_users(live, OURS)) == [OURS]


def test_entries_of_other_shapes_are_kept():
    """Entries that are not {userarn,...} mappings are someone else's business: kept as they are."""
    live = yaml.safe_dump(["odd-string", {"username": "no-arn"}, 42])
    assert yaml.safe_load(merge_map_users(live, OURS)) == ["odd-string", {"username": "no-arn"}, 42, OURS]


@pytest.mark.parametrize(
    ("live", "message"),
    [
        ("- userarn: [unclosed\n", "is not valid YAML"),
        ("userarn: arn:aws:iam::1:user/a\nusername: a\n", "must be a YAML list.*got dict"),
        ("just a string\n", "must be a YAML list.*got str"),
    ],
)
def test_unparseable_map_users_is_a_clear_error(live, message):
    """A broken mapUsers is reported with the fix (kubectl edit), never overwritten."""
    with pytest.raises(AwsAuthError, match=message) as raised:
        merge_map_users(live, OURS)
    assert "kubectl edit configmap aws-auth -n kube-system" in str(raised.value)
    assert "Nothing was written" in str(raised.value)


@pytest.mark.parametrize("mode", ["CONFIG_MAP", "API_AND_CONFIG_MAP", None])
def test_modes_that_read_aws_auth_pass(mode):
    """Clusters that read aws-auth (or report no mode) are accepted."""
    check_authentication_mode("c", mode)


def test_api_mode_is_refused_with_the_fix():
    """An API-only cluster ignores aws-auth: the error says to use access entries."""
    with pytest.raises(AwsAuthError, match=r"authentication mode 'API'.*identity_mapping='access-entry'"):
        check_authentication_mode("my-cluster-1", "API")

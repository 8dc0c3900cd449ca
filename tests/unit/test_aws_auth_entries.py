"""The pure aws-auth edits, without mocks or a server: byte-level and property tests."""

import json
from typing import Any

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from eks_cicd_access.aws_auth.entries import (
    MAP_ROLES,
    MAP_USERS,
    AwsAuthError,
    check_authentication_mode,
    dump_entries,
    entries_for,
    map_key,
    parse_entries,
    strip_role_path,
    with_entry,
    without_arn,
)
from testbed.aws_auth_seed import NODE_ROLES

OUR_ARN = "arn:aws:iam::123412341234:user/my-test-iam-user"
OURS = MAP_USERS.entry(OUR_ARN, "my-test-user", ["my-test-role"])

#: How eksctl (Go yaml.Marshal: sorted keys, 2-space indent), Terraform (yamlencode: quoted keys)
#: and a person with kubectl edit write the same kind of list.
EKSCTL = "- groups:\n  - system:masters\n  userarn: arn:aws:iam::123412341234:user/alice\n  username: alice\n"
TERRAFORM = '- "groups":\n  - "team-b"\n  "userarn": "arn:aws:iam::123412341234:user/team-b"\n  "username": "team-b"\n'
BY_HAND = (
    "# CI users, ask #platform before editing\n"
    "  - userarn: arn:aws:iam::123412341234:user/carol   # on-call\n"
    "    username: carol\n"
    "    groups: [ops, 'read-only']\n"
    "\n"
    "  - {userarn: 'arn:aws:iam::123412341234:user/dave', username: dave}\n"
)


# --- byte-level expectations -------------------------------------------------------------


@pytest.mark.parametrize("live", [EKSCTL, TERRAFORM, BY_HAND, EKSCTL + TERRAFORM])
def test_adding_ours_leaves_the_live_text_as_a_prefix(live):
    """Appending our entry changes no byte of what was there: layout, quoting and comments stay."""
    merged = with_entry(MAP_USERS, live, OURS)
    assert merged.startswith(live)
    assert yaml.safe_load(merged) == [*yaml.safe_load(live), OURS]


def test_our_entry_is_indented_like_the_others():
    """In a list indented by two spaces, our entry is indented the same way (it must parse as one list)."""
    merged = with_entry(MAP_USERS, BY_HAND, OURS)
    assert merged[len(BY_HAND) :] == (
        "  - userarn: arn:aws:iam::123412341234:user/my-test-iam-user\n"
        "    username: my-test-user\n"
        "    groups:\n"
        "    - my-test-role\n"
    )


def test_replacing_ours_in_place_keeps_the_neighbours_bytes():
    """A stale entry of ours between two foreign ones is rewritten; the text before and after it is untouched."""
    stale = "- userarn: arn:aws:iam::123412341234:user/my-test-iam-user\n  username: old\n  groups: [old]\n"
    merged = with_entry(MAP_USERS, EKSCTL + stale + TERRAFORM, OURS)
    assert merged == EKSCTL + yaml.safe_dump([OURS], sort_keys=False) + TERRAFORM


def test_removing_ours_gives_back_the_exact_text():
    """Adding and then removing our entry restores the original string exactly, comments included."""
    for live in (EKSCTL, TERRAFORM, BY_HAND, EKSCTL + TERRAFORM):
        assert without_arn(MAP_USERS, with_entry(MAP_USERS, live, OURS), OUR_ARN) == live


def test_removal_takes_every_copy_of_our_arn_and_nothing_else():
    """Duplicates of our ARN (any case, any key spelling) all go; a comment above the next entry stays."""
    ours_twice = (
        "- userarn: arn:aws:iam::123412341234:user/MY-TEST-IAM-USER\n  username: x\n"
        "# alice is the admin\n"
        + EKSCTL
        + '- UserArn: "arn:aws:iam::123412341234:user/my-test-iam-user"\n  username: y\n'
    )
    assert without_arn(MAP_USERS, ours_twice, OUR_ARN) == "# alice is the admin\n" + EKSCTL


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (
            '[{"userarn": "arn:aws:iam::1:user/a"}, {"userarn": "arn:aws:iam::1:user/b"}]',
            '[{"userarn": "arn:aws:iam::1:user/a"}, {"userarn": "arn:aws:iam::1:user/b"}, ' + json.dumps(OURS) + "]",
        ),
        ("[]", "- " + yaml.safe_dump(OURS, sort_keys=False).replace("\n", "\n  ").rstrip(" ")),
    ],
)
def test_a_flow_list_stays_a_flow_list(live, expected):
    """A JSON or flow-style list gets our entry as JSON before the closing bracket; an empty one becomes a list."""
    assert with_entry(MAP_USERS, live, OURS) == expected


def test_flow_removal_takes_one_comma_with_each_entry():
    """Removing from a flow list leaves a valid list with the other entries' text untouched."""
    a, b = '{"userarn": "arn:aws:iam::1:user/a"}', "{userarn: 'arn:aws:iam::1:user/b', username: b}"
    ours = json.dumps(OURS)
    for live, left in [
        (f"[{ours}, {a}, {b}]", f"[{a}, {b}]"),
        (f"[{a}, {ours}, {b}]", f"[{a}, {b}]"),
        (f"[{a}, {b}, {ours}]", f"[{a}, {b}]"),
        (f"[{ours}]", "[]"),
        (f"[{a}, {ours}, {ours}, {b}, {ours}]", f"[{a}, {b}]"),
    ]:
        assert without_arn(MAP_USERS, live, OUR_ARN) == left, live


def test_no_op_returns_the_same_string():
    """When our entry is already there exactly once, the live string itself comes back: nothing to write."""
    live = EKSCTL + yaml.safe_dump([OURS]) + TERRAFORM
    assert with_entry(MAP_USERS, live, OURS) is live
    assert without_arn(MAP_USERS, EKSCTL, OUR_ARN) is EKSCTL


def test_an_exact_entry_followed_by_a_duplicate_is_not_a_no_op():
    """Our exact entry, then a second entry for our ARN: the duplicate is removed, the first kept in place."""
    exact = yaml.safe_dump([OURS], sort_keys=False)
    duplicate = "- userarn: arn:aws:iam::123412341234:user/my-test-iam-user\n  username: other\n"
    assert with_entry(MAP_USERS, exact + EKSCTL + duplicate, OURS) == exact + EKSCTL


def test_a_renamed_principal_is_replaced_where_it_stood():
    """With replacing=[old ARN], the old entry's place gets the new entry; a later copy of the old one goes."""
    old = "- userarn: arn:aws:iam::123412341234:user/ci-old\n  username: ci\n"
    merged = with_entry(
        MAP_USERS, EKSCTL + old + TERRAFORM + old, OURS, replacing=[OUR_ARN.replace("my-test-iam-user", "ci-old")]
    )
    assert merged == EKSCTL + yaml.safe_dump([OURS], sort_keys=False) + TERRAFORM


def test_our_entry_with_other_key_order_counts_as_present():
    """Key order does not matter: eksctl's sorted keys with our values are our entry."""
    live = (
        "- groups:\n  - my-test-role\n  userarn: arn:aws:iam::123412341234:user/my-test-iam-user\n"
        "  username: my-test-user\n"
    )
    assert with_entry(MAP_USERS, live, OURS) is live


@pytest.mark.parametrize("live", [None, "", "   \n", "null\n", "[]\n", "~"])
def test_missing_or_empty_key_starts_a_list(live):
    """No key, or an empty one, gives a block list holding just our entry."""
    assert with_entry(MAP_USERS, live, OURS) == yaml.safe_dump([OURS], sort_keys=False)


def test_comments_alone_are_kept():
    """A key holding only a comment keeps it above our entry."""
    assert with_entry(MAP_USERS, "# managed by hand\n", OURS) == "# managed by hand\n" + yaml.safe_dump(
        [OURS], sort_keys=False
    )


def test_a_comment_without_a_final_newline_gets_one():
    """A comment that ends the value without a newline is kept on its own line, not joined to ours."""
    assert with_entry(MAP_USERS, "# managed by hand", OURS) == "# managed by hand\n" + yaml.safe_dump(
        [OURS], sort_keys=False
    )


def test_a_last_entry_without_a_final_newline_is_not_joined_to_ours():
    """A value ending without a newline keeps its bytes; ours starts on a line of its own."""
    live = TERRAFORM.removesuffix("\n")  # quoted keys: a fresh serialization would not keep them
    assert with_entry(MAP_USERS, live, OURS) == TERRAFORM + yaml.safe_dump([OURS], sort_keys=False)


def test_dashes_of_nested_lists_are_not_taken_for_entries():
    """An entry holding a nested list and then an indentless one is edited in place, byte for byte."""
    nested = (
        "- userarn: arn:aws:iam::123412341234:user/alice\n  username: alice\n  groups:\n    - team-a\n  extra:\n  - x\n"
    )
    assert with_entry(MAP_USERS, nested, OURS) == nested + yaml.safe_dump([OURS], sort_keys=False)


def test_entries_of_other_shapes_are_kept_verbatim():
    """Strings, numbers and entries without an ARN are not ours: they keep their bytes."""
    live = "- odd-string\n- 42\n- username: no-arn\n  extra: {a: 1}\n"
    merged = with_entry(MAP_USERS, live, OURS)
    assert merged.startswith(live)
    assert without_arn(MAP_USERS, merged, OUR_ARN) == live


def test_anchors_fall_back_to_a_fresh_serialization_that_keeps_every_entry():
    """A list using anchors cannot be cut safely by text; it is re-serialized with every entry's data."""
    live = "- &ci {userarn: 'arn:aws:iam::1:user/a', username: a}\n- *ci\n"
    merged = with_entry(MAP_USERS, live, OURS)
    assert yaml.safe_load(merged) == [*yaml.safe_load(live), OURS]
    assert "&" not in merged


DAVE = "- {userarn: 'arn:aws:iam::1:user/dave', username: dave}\n"
STALE = f"- userarn: {OUR_ARN}\n  username: stale\n"


def test_stale_copies_right_after_a_foreign_entry_are_replaced_in_place():
    """Two stale copies of ours, adjacent, after a foreign entry (block or flow): ours replaces them, and the
    foreign entry keeps its bytes (no fresh dump)."""
    assert with_entry(MAP_USERS, DAVE + STALE + STALE, OURS) == DAVE + yaml.safe_dump([OURS], sort_keys=False)
    a, stale = '{"userarn": "arn:aws:iam::1:user/a"}', json.dumps({"userarn": OUR_ARN, "username": "stale"})
    assert with_entry(MAP_USERS, f"[{a}, {stale}, {stale}]", OURS) == f"[{a}, {json.dumps(OURS)}]"


def test_an_entry_with_a_block_scalar_is_cut_at_its_own_end():
    """A block scalar (``|``) ends just after its newline: replacing or removing that entry leaves the next one's
    bytes, and ours goes in before a trailing comment, not after it."""
    block = f"- userarn: {OUR_ARN}\n  username: |\n    stale\n"
    assert with_entry(MAP_USERS, block + DAVE, OURS) == yaml.safe_dump([OURS], sort_keys=False) + DAVE
    assert without_arn(MAP_USERS, block + DAVE, OUR_ARN) == DAVE
    literal = "- userarn: arn:aws:iam::1:user/dave\n  username: |\n    dave\n"
    assert with_entry(MAP_USERS, literal + "# end of list\n", OURS) == (
        literal + yaml.safe_dump([OURS], sort_keys=False) + "# end of list\n"
    )


@pytest.mark.parametrize(
    "live",
    [
        "- {userarn: 'arn:aws:iam::1:user/a', groups: &g [x]}\n- {userarn: 'arn:aws:iam::1:user/b', groups: *g}\n",
        "- !!map {userarn: 'arn:aws:iam::1:user/a'}\n",
    ],
    ids=["anchor-inside-an-entry", "tag"],
)
def test_anchors_and_tags_inside_entries_fall_back_to_a_fresh_serialization(live):
    """An anchor, alias or tag anywhere in the list is not cut by text: the list is dumped afresh, every entry's
    data kept and no anchor or tag left."""
    merged = with_entry(MAP_USERS, live, OURS)
    assert yaml.safe_load(merged) == [*yaml.safe_load(live), OURS]
    assert "&" not in merged and "*" not in merged and "!!" not in merged


@pytest.mark.parametrize("count", [1, 3])
def test_a_flow_list_of_any_length_gets_ours_before_its_bracket(count):
    """Appending to a flow list of one or of three entries keeps it a flow list, ours last."""
    entries = [json.dumps({"userarn": f"arn:aws:iam::1:user/{n}"}) for n in "abc"[:count]]
    live = "[" + ", ".join(entries) + "]"
    assert with_entry(MAP_USERS, live, OURS) == "[" + ", ".join([*entries, json.dumps(OURS)]) + "]"


_EDGE_OTHER = "- userarn: arn:aws:iam::1:user/other\n  username: other\n  groups: []\n"
_EDGE_OURS = f"- userarn: {OUR_ARN}\n  username: my-test-user\n  groups:\n  - my-test-role\n"
_EDGE_OLD = f"- userarn: {OUR_ARN}\n  username: old\n  groups: []\n"
# "\u017f" (long s) upper-cases to "S" but lower-cases to itself: not our ARN as EKS (Go's ToLower) compares
_EDGE_LONG_S = "- userarn: arn:aws:iam::123412341234:user/my-te\u017ft-iam-user\n  username: other\n  groups: []\n"


def _indented(text: str) -> str:
    return "".join("  " + line for line in text.splitlines(keepends=True))


@pytest.mark.parametrize(
    ("op", "live", "expected"),
    [
        pytest.param("with", _EDGE_LONG_S, _EDGE_LONG_S + _EDGE_OURS, id="case-fold-is-lower"),
        pytest.param("without", "\n" + _EDGE_OLD + _EDGE_OTHER, "\n" + _EDGE_OTHER, id="leading-newline-remove"),
        pytest.param("with", "\n" + _EDGE_OTHER, "\n" + _EDGE_OTHER + _EDGE_OURS, id="leading-newline-append"),
        pytest.param("without", "\ufeff" + _EDGE_OLD + _EDGE_OTHER, "\ufeff" + _EDGE_OTHER, id="bom-remove"),
        pytest.param("with", "\ufeff" + _EDGE_OTHER, "\ufeff" + _EDGE_OTHER + _EDGE_OURS, id="bom-append"),
        pytest.param(
            "with",
            "# a\n# b\n" + _indented(_EDGE_OTHER),
            "# a\n# b\n" + _indented(_EDGE_OTHER + _EDGE_OURS),
            id="comments-above-indented-list",
        ),
    ],
)
def test_unusual_layouts_are_still_edited_in_place(op: str, live: str, expected: str) -> None:
    """A leading newline or BOM, comments above an indented list, and a look-alike ARN that is not ours as EKS
    compares: the edit is made in place and every foreign byte is kept."""
    if op == "with":
        assert with_entry(MAP_USERS, live, OURS) == expected
    else:
        assert without_arn(MAP_USERS, live, OUR_ARN) == expected


def test_removing_the_only_entry_leaves_only_the_comments():
    """Removing our entry when it is the only one leaves the comments around it (or nothing), never ``[]``."""
    assert without_arn(MAP_USERS, "# keep\n" + dump_entries([OURS]), OUR_ARN) == "# keep\n"
    assert without_arn(MAP_USERS, dump_entries([OURS]), OUR_ARN) == ""


def test_a_fresh_value_writes_non_ascii_as_it_is():
    """A fresh value writes a non-ASCII username as it is, not as an escape."""
    entry = MAP_USERS.entry(OUR_ARN, "zoë", ["my-test-role"])
    written = with_entry(MAP_USERS, None, entry)
    assert "username: zoë\n" in written and yaml.safe_load(written) == [entry]
    assert dump_entries([{"username": "zé"}]) == "- username: zé\n"


# --- mapRoles: the node roles -----------------------------------------------------------------


def test_map_roles_entry_strips_the_path():
    """A role's mapRoles entry names it without its IAM path, as EKS compares it."""
    entry = MAP_ROLES.entry("arn:aws:iam::1:role/ci/deployers/web-ci", "web-ci", ["g"])
    assert entry == {"rolearn": "arn:aws:iam::1:role/web-ci", "username": "web-ci", "groups": ["g"]}


@pytest.mark.parametrize(
    ("arn", "stripped"),
    [
        ("arn:aws:iam::1:role/a", "arn:aws:iam::1:role/a"),
        ("arn:aws:iam::1:role/p/q/a", "arn:aws:iam::1:role/a"),
        ("arn:aws-us-gov:iam::1:role/p/a", "arn:aws-us-gov:iam::1:role/a"),
        ("arn:aws:iam::1:user/p/a", "arn:aws:iam::1:user/p/a"),
        ("arn:aws:sts::1:role/x/y", "arn:aws:sts::1:role/x/y"),
        ("arn:aws:iam::1:role/team:role/a", "arn:aws:iam::1:role/a"),
        ("arn:aws:iam::1:role/a:role/b/c", "arn:aws:iam::1:role/c"),
    ],
)
def test_strip_role_path(arn, stripped):
    """Only IAM role ARNs lose their path; users keep it (EKS matches users as written)."""
    assert strip_role_path(arn) == stripped


def test_node_roles_survive_our_role_byte_for_byte():
    """Adding and removing a CI role leaves the node roles' text exactly as it was."""
    role = "arn:aws:iam::123412341234:role/ci/web-ci"
    entry = MAP_ROLES.entry(role, "web-ci", ["web"])
    merged = with_entry(MAP_ROLES, NODE_ROLES, entry)
    assert merged.startswith(NODE_ROLES)
    assert entries_for(MAP_ROLES, merged, role) == [entry]
    assert without_arn(MAP_ROLES, merged, role) == NODE_ROLES


def test_a_role_mapped_with_its_path_is_ours():
    """An old entry that named our role with its path (which EKS never matches) is replaced by the right one."""
    live = NODE_ROLES + "- rolearn: arn:aws:iam::123412341234:role/ci/web-ci\n  username: web-ci\n"
    entry = MAP_ROLES.entry("arn:aws:iam::123412341234:role/ci/web-ci", "web-ci", [])
    merged = with_entry(MAP_ROLES, live, entry)
    assert merged.startswith(NODE_ROLES)
    assert yaml.safe_load(merged)[-1] == entry
    assert len(yaml.safe_load(merged)) == 2


def test_a_user_with_our_role_name_is_not_ours():
    """mapRoles only matches rolearn: a user entry with the same name in mapUsers is another principal."""
    assert MAP_ROLES.arn_of({"userarn": "arn:aws:iam::1:role/a"}) is None
    assert not MAP_USERS.is_ours({"userarn": "arn:aws:iam::1:user/a"}, "arn:aws:iam::1:user/b")


def test_unknown_key_is_refused():
    """Only mapUsers and mapRoles map principals; any other key is a ValueError naming key."""
    assert map_key("mapRoles") is MAP_ROLES
    with pytest.raises(ValueError, match="key: 'mapAccounts' is not one of"):
        map_key("mapAccounts")


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("live", "message"),
    [
        ("- userarn: [unclosed\n", "is not valid YAML"),
        ("userarn: arn:aws:iam::1:user/a\nusername: a\n", "must be a YAML list.*got dict"),
        ("just a string\n", "must be a YAML list.*got str"),
    ],
)
def test_unparseable_key_is_a_clear_error(live, message):
    """A broken mapUsers is reported with the fix (kubectl edit), never overwritten or removed from."""
    for edit in (lambda: with_entry(MAP_USERS, live, OURS), lambda: without_arn(MAP_USERS, live, OUR_ARN)):
        with pytest.raises(AwsAuthError, match=message) as raised:
            edit()
        assert "data.mapUsers" in str(raised.value)
        assert "kubectl edit configmap aws-auth -n kube-system" in str(raised.value)
        assert "Nothing was written" in str(raised.value)


def test_a_broken_map_roles_names_map_roles():
    """The error names the key that is broken."""
    with pytest.raises(AwsAuthError, match=r"data\.mapRoles must be a YAML list of \{rolearn"):
        parse_entries(MAP_ROLES, "rolearn: x\n")


@pytest.mark.parametrize("mode", ["CONFIG_MAP", "API_AND_CONFIG_MAP", None])
def test_modes_that_read_aws_auth_pass(mode):
    """Clusters that read aws-auth (or report no mode) are accepted."""
    check_authentication_mode("c", mode)


def test_api_mode_is_refused_with_the_fix():
    """An API-only cluster ignores aws-auth: the error says to use access entries."""
    with pytest.raises(AwsAuthError, match=r"authentication mode 'API'.*identity_mapping='access-entry'"):
        check_authentication_mode("my-cluster-1", "API")


# --- properties over many live values ------------------------------------------------------

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.@", min_size=1, max_size=12)
arns = names.map(lambda n: f"arn:aws:iam::123412341234:user/{n}")
foreign_entries = st.one_of(
    st.fixed_dictionaries(
        {"userarn": arns, "username": names, "groups": st.lists(names, max_size=3)},
        optional={"extra": st.one_of(st.integers(), st.booleans(), names)},
    ),
    names.map(lambda n: f"odd-{n}"),
    st.integers(),
)
STYLES = ("block", "indented", "eksctl", "flow", "json", "commented")


def render(entries: list[Any], style: str) -> tuple[str, list[str]]:
    """A live value holding ``entries`` in ``style``, and each entry's own text."""
    if style in ("flow", "json"):
        texts = [
            yaml.safe_dump(e, default_flow_style=True).strip()
            if style == "flow" and isinstance(e, dict)
            else json.dumps(e)
            for e in entries
        ]
        return "[" + ", ".join(texts) + "]", texts
    texts = []
    for entry in entries:
        text = yaml.safe_dump([entry], default_flow_style=False, sort_keys=style == "eksctl")
        if style == "indented":
            text = "".join("  " + line for line in text.splitlines(keepends=True))
        if style == "commented":
            text = text.replace("\n", "  # kept\n", 1)
        texts.append(text)
    glue = "# next entry\n" if style == "commented" else ""
    return glue.join(texts), texts


def assert_in_order(haystack: str, needles: list[str]) -> None:
    at = 0
    for needle in needles:
        found = haystack.find(needle, at)
        assert found >= 0, f"{needle!r} is no longer in {haystack!r}"
        at = found + len(needle)


@given(st.lists(foreign_entries, max_size=8), st.sampled_from(STYLES), st.integers(0, 3), st.data())
def test_foreign_entries_keep_their_bytes_and_order(foreign, style, copies, data):
    """Whatever the live layout and however many stale copies of ours it holds, every foreign entry keeps
    its exact text and order; ours ends up exactly once, and removing it leaves only the foreign ones."""
    assume(all(not MAP_USERS.is_ours(e, OUR_ARN) for e in foreign))
    entries = list(foreign)
    for _ in range(copies):
        stale = {"userarn": OUR_ARN.upper().replace("ARN:AWS:IAM", "arn:aws:iam"), "username": "stale"}
        entries.insert(data.draw(st.integers(0, len(entries))), stale)
    live, texts = render(entries, style)
    foreign_texts = [t for e, t in zip(entries, texts, strict=True) if not MAP_USERS.is_ours(e, OUR_ARN)]

    merged = with_entry(MAP_USERS, live, OURS)
    assert_in_order(merged, foreign_texts)
    parsed = yaml.safe_load(merged)
    assert [e for e in parsed if not MAP_USERS.is_ours(e, OUR_ARN)] == foreign
    assert [e for e in parsed if MAP_USERS.is_ours(e, OUR_ARN)] == [OURS]
    assert with_entry(MAP_USERS, merged, OURS) is merged, "a second run must write nothing"

    removed = without_arn(MAP_USERS, merged, OUR_ARN)
    assert removed is not None
    assert_in_order(removed, foreign_texts)
    assert (yaml.safe_load(removed) or []) == foreign


role_names = st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,20}", fullmatch=True)
node_roles = st.fixed_dictionaries(
    {
        "rolearn": st.tuples(st.sampled_from(["", "service-role/", "a/b/"]), role_names).map(
            lambda t: f"arn:aws:iam::123412341234:role/{t[0]}{t[1]}"
        ),
        "username": st.sampled_from(
            ["system:node:{{EC2PrivateDNSName}}", "system:node:{{SessionName}}", "admin:{{SessionName}}"]
        ),
        "groups": st.lists(st.sampled_from(["system:bootstrappers", "system:nodes", "system:node-proxier"])),
    }
)
OUR_ROLE = "arn:aws:iam::123412341234:role/ci/deployers/web-ci"


@given(st.lists(node_roles, max_size=8), st.sampled_from(STYLES))
def test_node_roles_keep_their_bytes_whatever_the_layout(roles, style):
    """Adding our role to any list of node roles, in any layout, leaves each node role's exact text in order;
    our entry names the role without its path; removing it leaves exactly the node roles."""
    assume(all(not MAP_ROLES.is_ours(r, OUR_ROLE) for r in roles))
    live, texts = render(roles, style)
    ours = MAP_ROLES.entry(OUR_ROLE, "web-ci", ["deployers"])
    merged = with_entry(MAP_ROLES, live, ours)
    assert_in_order(merged, texts)
    parsed = yaml.safe_load(merged)
    assert parsed[:-1] == roles and parsed[-1] == {
        "rolearn": "arn:aws:iam::123412341234:role/web-ci",
        "username": "web-ci",
        "groups": ["deployers"],
    }
    removed = without_arn(MAP_ROLES, merged, OUR_ROLE)
    assert removed is not None
    assert_in_order(removed, texts)
    assert (yaml.safe_load(removed) or []) == roles

"""The resource types the stand-in serves, each a thin adapter over boto3 against moto.

A ``Kind`` names pulumi-aws 7.x's input properties (camelCase, as on the wire),
the ones that force a replacement, the outputs that are secret, and four
operations. Every operation returns the whole state as read back from moto
(inputs with their defaults, plus the computed outputs), so what the engine
stores is what moto holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi_aws
from botocore.exceptions import ClientError

#: The engine's plain-value spelling of a resource's state or inputs.
State = dict[str, Any]


class StandinError(Exception):
    """Something the stand-in refuses to do: unknown types, arguments it does not implement, moto's gaps."""


@dataclass
class Aws:
    """The boto3 clients of one provider configuration, all against moto's endpoint."""

    iam: Any
    eks: Any
    region: str


@dataclass(frozen=True)
class Kind:
    token: str
    #: Every input pulumi-aws has for the type; a key outside it is refused by Check.
    inputs: frozenset[str]
    #: The inputs the stand-in implements; any other input that is set is refused by Check.
    supported: frozenset[str]
    replace_on: frozenset[str]
    #: Outputs only known after a create (unknown in a preview).
    computed: frozenset[str]
    create: Callable[[Aws, State], tuple[str, State]]
    read: Callable[[Aws, str, State], State | None]
    delete: Callable[[Aws, str, State], None]
    update: Callable[[Aws, str, State, State], State] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    secret_outputs: frozenset[str] = frozenset()
    #: Autonamed when absent, as pulumi-aws does: ``<logical name>-<7 hex digits>``.
    autoname: str | None = None


def optional_computed(token: str) -> frozenset[str]:
    """The inputs of ``token`` that pulumi-aws takes as optional and computes when absent (``thumbprintLists``: the
    provider fills it in), read from the installed SDK's own metadata: an optional argument of its ``...Args``
    class whose output property is not ``Optional``. Such an input, left out, is no change from what was read."""
    module, name = token.split(":")[1].split("/")[0], token.split(":")[2]
    sdk = getattr(pulumi_aws, module)
    parameters = inspect.signature(getattr(sdk, f"{name}Args").__init__).parameters
    found = set()
    for parameter in parameters.values():
        output = getattr(getattr(sdk, name), parameter.name, None)
        returns = str(output.fget.__annotations__.get("return", "")) if isinstance(output, property) else ""
        if parameter.default is not inspect.Parameter.empty and returns and "Optional" not in returns:
            head, *rest = parameter.name.split("_")
            found.add(head + "".join(word.capitalize() for word in rest))
    return frozenset(found)


def _tags(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]


def _tag_map(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def _same_document(given: Any, stored: Any) -> Any:
    """The policy document as given when it means what moto holds (pulumi-aws compares them as JSON)."""
    document = json.loads(stored) if isinstance(stored, str) else stored
    if isinstance(given, str):
        try:
            if json.loads(given) == document:
                return given
        except ValueError:
            pass
    return json.dumps(document)


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NoSuchEntity", "ResourceNotFoundException")


def _retag(client: Any, action: str, ident: Mapping[str, str], old: State, new: State) -> None:
    """tag_X / untag_X for the difference between the old and the new ``tags``."""
    before, after = old.get("tags") or {}, new.get("tags") or {}
    gone = [k for k in before if k not in after]
    if gone:
        getattr(client, f"untag_{action}")(**ident, TagKeys=gone)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    if changed:
        getattr(client, f"tag_{action}")(**ident, Tags=_tags(changed))


# -- aws:iam/policy:Policy ------------------------------------------------------------------------


def _policy_read(aws: Aws, ident: str, state: State) -> State | None:
    try:
        policy = aws.iam.get_policy(PolicyArn=ident)["Policy"]
    except ClientError as error:
        if _missing(error):
            return None
        raise
    version = aws.iam.get_policy_version(PolicyArn=ident, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    tags = _tag_map(policy.get("Tags"))
    return {
        "name": policy["PolicyName"],
        "path": policy["Path"],
        "description": policy.get("Description", state.get("description")),
        "policy": _same_document(state.get("policy"), version["Document"]),
        "tags": state.get("tags"),
        "tagsAll": tags,
        "arn": policy["Arn"],
        "policyId": policy["PolicyId"],
        "attachmentCount": float(policy.get("AttachmentCount", 0)),
    }


def _policy_create(aws: Aws, inputs: State) -> tuple[str, State]:
    extra = {"Description": inputs["description"]} if inputs.get("description") else {}
    arn = aws.iam.create_policy(
        PolicyName=inputs["name"],
        Path=inputs["path"],
        PolicyDocument=inputs["policy"],
        Tags=_tags(inputs.get("tags")),
        **extra,
    )["Policy"]["Arn"]
    return arn, _read_back(_policy_read, aws, arn, inputs)


def _policy_update(aws: Aws, ident: str, old: State, new: State) -> State:
    if json.loads(old["policy"]) != json.loads(new["policy"]):
        versions = aws.iam.list_policy_versions(PolicyArn=ident)["Versions"]
        for version in sorted((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])[
            : max(0, len(versions) - 4)
        ]:
            aws.iam.delete_policy_version(PolicyArn=ident, VersionId=version["VersionId"])
        aws.iam.create_policy_version(PolicyArn=ident, PolicyDocument=new["policy"], SetAsDefault=True)
    _retag(aws.iam, "policy", {"PolicyArn": ident}, old, new)
    return _read_back(_policy_read, aws, ident, new)


def _policy_delete(aws: Aws, ident: str, state: State) -> None:
    for version in aws.iam.list_policy_versions(PolicyArn=ident)["Versions"]:
        if not version["IsDefaultVersion"]:
            aws.iam.delete_policy_version(PolicyArn=ident, VersionId=version["VersionId"])
    aws.iam.delete_policy(PolicyArn=ident)


# -- aws:iam/user:User ------------------------------------------------------------------------------


def _user_read(aws: Aws, ident: str, state: State) -> State | None:
    try:
        user = aws.iam.get_user(UserName=state.get("name") or ident)["User"]
    except ClientError as error:
        if _missing(error):
            return None
        raise
    return {
        "name": user["UserName"],
        "path": user["Path"],
        "forceDestroy": state.get("forceDestroy", False),
        "tags": state.get("tags"),
        "tagsAll": _tag_map(user.get("Tags")),
        "arn": user["Arn"],
        "uniqueId": user["UserId"],
    }


def _user_create(aws: Aws, inputs: State) -> tuple[str, State]:
    aws.iam.create_user(UserName=inputs["name"], Path=inputs["path"], Tags=_tags(inputs.get("tags")))
    return inputs["name"], _read_back(_user_read, aws, inputs["name"], inputs)


def _user_update(aws: Aws, ident: str, old: State, new: State) -> State:
    if (old["name"], old["path"]) != (new["name"], new["path"]):
        aws.iam.update_user(UserName=old["name"], NewUserName=new["name"], NewPath=new["path"])
    _retag(aws.iam, "user", {"UserName": new["name"]}, old, new)
    return _read_back(_user_read, aws, ident, new)


def _user_delete(aws: Aws, ident: str, state: State) -> None:
    aws.iam.delete_user(UserName=state.get("name") or ident)


# -- aws:iam/userPolicyAttachment, aws:iam/rolePolicyAttachment ------------------------------------------


def _attachment(kind: str) -> Kind:
    """``aws:iam/<kind>PolicyAttachment``: a managed policy attached to a user or a role; any change replaces it."""
    Kind_ = kind.capitalize()

    def read(aws: Aws, ident: str, state: State) -> State | None:
        try:
            attached = getattr(aws.iam, f"list_attached_{kind}_policies")(**{f"{Kind_}Name": state[kind]})
        except ClientError as error:
            if _missing(error):
                return None
            raise
        arns = {p["PolicyArn"] for p in attached["AttachedPolicies"]}
        return {kind: state[kind], "policyArn": state["policyArn"]} if state["policyArn"] in arns else None

    def create(aws: Aws, inputs: State) -> tuple[str, State]:
        getattr(aws.iam, f"attach_{kind}_policy")(**{f"{Kind_}Name": inputs[kind]}, PolicyArn=inputs["policyArn"])
        ident = f"{inputs[kind]}/{inputs['policyArn']}"
        return ident, _read_back(read, aws, ident, inputs)

    def delete(aws: Aws, ident: str, state: State) -> None:
        getattr(aws.iam, f"detach_{kind}_policy")(**{f"{Kind_}Name": state[kind]}, PolicyArn=state["policyArn"])

    return Kind(
        f"aws:iam/{kind}PolicyAttachment:{Kind_}PolicyAttachment",
        inputs=frozenset({kind, "policyArn"}),
        supported=frozenset({kind, "policyArn"}),
        replace_on=frozenset({kind, "policyArn"}),
        computed=frozenset(),
        create=create,
        read=read,
        delete=delete,
    )


# -- aws:iam/accessKey:AccessKey ----------------------------------------------------------------------


def ses_smtp_password_v4(secret: str, region: str) -> str:
    """The SES SMTP password derived from a secret access key (AWS's published algorithm, as pulumi-aws does)."""
    signature = ("AWS4" + secret).encode()
    for part in ("11111111", region, "ses", "aws4_request", "SendRawEmail"):
        signature = hmac.new(signature, part.encode(), hashlib.sha256).digest()
    return base64.b64encode(bytes([4]) + signature).decode()


def _key_read(aws: Aws, ident: str, state: State) -> State | None:
    try:
        keys = aws.iam.list_access_keys(UserName=state["user"])["AccessKeyMetadata"]
    except ClientError as error:
        if _missing(error):
            return None
        raise
    found = next((k for k in keys if k["AccessKeyId"] == ident), None)
    if found is None:
        return None
    return {
        "user": state["user"],
        "status": found["Status"],
        "pgpKey": state.get("pgpKey"),
        "createDate": found["CreateDate"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        # AWS shows a secret once, at creation: the state keeps it.
        "secret": state.get("secret"),
        "sesSmtpPasswordV4": state.get("sesSmtpPasswordV4"),
        "encryptedSecret": None,
        "encryptedSesSmtpPasswordV4": None,
        "keyFingerprint": None,
    }


def _key_create(aws: Aws, inputs: State) -> tuple[str, State]:
    if inputs.get("pgpKey"):
        raise StandinError("aws:iam/accessKey:AccessKey: pgpKey is not implemented by the stand-in (no PGP here)")
    key = aws.iam.create_access_key(UserName=inputs["user"])["AccessKey"]
    if inputs["status"] != key["Status"]:
        aws.iam.update_access_key(UserName=inputs["user"], AccessKeyId=key["AccessKeyId"], Status=inputs["status"])
    secret = key["SecretAccessKey"]
    state = {**inputs, "secret": secret, "sesSmtpPasswordV4": ses_smtp_password_v4(secret, aws.region)}
    return key["AccessKeyId"], _read_back(_key_read, aws, key["AccessKeyId"], state)


def _key_update(aws: Aws, ident: str, old: State, new: State) -> State:
    aws.iam.update_access_key(UserName=new["user"], AccessKeyId=ident, Status=new["status"])
    return _read_back(_key_read, aws, ident, {**old, **new})


def _key_delete(aws: Aws, ident: str, state: State) -> None:
    aws.iam.delete_access_key(UserName=state["user"], AccessKeyId=ident)


# -- aws:iam/role:Role -------------------------------------------------------------------------------


def _role_read(aws: Aws, ident: str, state: State) -> State | None:
    try:
        role = aws.iam.get_role(RoleName=ident)["Role"]
    except ClientError as error:
        if _missing(error):
            return None
        raise
    return {
        "name": role["RoleName"],
        "path": role["Path"],
        "assumeRolePolicy": _same_document(state.get("assumeRolePolicy"), role["AssumeRolePolicyDocument"]),
        "description": role.get("Description", state.get("description")),
        "maxSessionDuration": float(role.get("MaxSessionDuration", 3600)),
        "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "forceDetachPolicies": state.get("forceDetachPolicies", False),
        "tags": state.get("tags"),
        "tagsAll": _tag_map(role.get("Tags")),
        "arn": role["Arn"],
        "uniqueId": role["RoleId"],
        "createDate": role["CreateDate"].strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _role_create(aws: Aws, inputs: State) -> tuple[str, State]:
    extra: dict[str, Any] = {}
    if inputs.get("description"):
        extra["Description"] = inputs["description"]
    if inputs.get("permissionsBoundary"):
        extra["PermissionsBoundary"] = inputs["permissionsBoundary"]
    aws.iam.create_role(
        RoleName=inputs["name"],
        Path=inputs["path"],
        AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
        MaxSessionDuration=int(inputs["maxSessionDuration"]),
        Tags=_tags(inputs.get("tags")),
        **extra,
    )
    return inputs["name"], _read_back(_role_read, aws, inputs["name"], inputs)


def _role_update(aws: Aws, ident: str, old: State, new: State) -> State:
    if json.loads(old["assumeRolePolicy"]) != json.loads(new["assumeRolePolicy"]):
        aws.iam.update_assume_role_policy(RoleName=ident, PolicyDocument=new["assumeRolePolicy"])
    if (old.get("description"), old["maxSessionDuration"]) != (new.get("description"), new["maxSessionDuration"]):
        aws.iam.update_role(
            RoleName=ident, Description=new.get("description") or "", MaxSessionDuration=int(new["maxSessionDuration"])
        )
    if old.get("permissionsBoundary") != new.get("permissionsBoundary"):
        if new.get("permissionsBoundary"):
            aws.iam.put_role_permissions_boundary(RoleName=ident, PermissionsBoundary=new["permissionsBoundary"])
        else:
            aws.iam.delete_role_permissions_boundary(RoleName=ident)
    _retag(aws.iam, "role", {"RoleName": ident}, old, new)
    return _read_back(_role_read, aws, ident, new)


def _role_delete(aws: Aws, ident: str, state: State) -> None:
    if state.get("forceDetachPolicies"):
        for policy in aws.iam.list_attached_role_policies(RoleName=ident)["AttachedPolicies"]:
            aws.iam.detach_role_policy(RoleName=ident, PolicyArn=policy["PolicyArn"])
    aws.iam.delete_role(RoleName=ident)


# -- aws:iam/openIdConnectProvider:OpenIdConnectProvider -------------------------------------------------


def _oidc_read(aws: Aws, ident: str, state: State) -> State | None:
    try:
        found = aws.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ident)
    except ClientError as error:
        if _missing(error):
            return None
        raise
    given = state.get("url") or ""
    url = given if given.removeprefix("https://") == found["Url"] else f"https://{found['Url']}"
    return {
        "url": url,
        "clientIdLists": list(found["ClientIDList"]),
        "thumbprintLists": list(found.get("ThumbprintList") or []),
        "tags": state.get("tags"),
        "tagsAll": _tag_map(found.get("Tags")),
        "arn": ident,
    }


def _oidc_create(aws: Aws, inputs: State) -> tuple[str, State]:
    arn = aws.iam.create_open_id_connect_provider(
        Url=inputs["url"],
        ClientIDList=inputs["clientIdLists"],
        ThumbprintList=inputs.get("thumbprintLists") or [],
        Tags=_tags(inputs.get("tags")),
    )["OpenIDConnectProviderArn"]
    return arn, _read_back(_oidc_read, aws, arn, inputs)


def _oidc_update(aws: Aws, ident: str, old: State, new: State) -> State:
    if sorted(old["clientIdLists"]) != sorted(new["clientIdLists"]):
        raise StandinError(
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider: changing clientIdLists in place is not implemented "
            "(moto has no AddClientIDToOpenIDConnectProvider)"
        )
    if (old.get("thumbprintLists") or []) != (new.get("thumbprintLists") or []):
        aws.iam.update_open_id_connect_provider_thumbprint(
            OpenIDConnectProviderArn=ident, ThumbprintList=new.get("thumbprintLists") or []
        )
    _retag(aws.iam, "open_id_connect_provider", {"OpenIDConnectProviderArn": ident}, old, new)
    return _read_back(_oidc_read, aws, ident, new)


def _oidc_delete(aws: Aws, ident: str, state: State) -> None:
    aws.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=ident)


# -- aws:eks/accessEntry:AccessEntry -------------------------------------------------------------------
# Served by EKS's access-entry API as testbed/eks_access.py emulates it on moto's server (moto has none). The id is
# pulumi-aws's: "CLUSTER:PRINCIPAL_ARN". No update path changes the principal or the type: those replace.


def _entry_ident(ident: str) -> tuple[str, str]:
    cluster, _, principal = ident.partition(":")
    return cluster, principal


def _entry_read(aws: Aws, ident: str, state: State) -> State | None:
    cluster, principal = _entry_ident(ident)
    try:
        found = aws.eks.describe_access_entry(clusterName=cluster, principalArn=principal)["accessEntry"]
    except ClientError as error:
        if _missing(error):
            return None
        raise
    return {
        "clusterName": cluster,
        "principalArn": principal,
        "kubernetesGroups": sorted(found.get("kubernetesGroups") or []),
        "type": found["type"],
        "userName": found["username"],
        "tags": state.get("tags"),
        "tagsAll": dict(found.get("tags") or {}),
        "accessEntryArn": found["accessEntryArn"],
        "createdAt": found["createdAt"].isoformat(),
        "modifiedAt": found["modifiedAt"].isoformat(),
    }


def _entry_create(aws: Aws, inputs: State) -> tuple[str, State]:
    call: dict[str, Any] = {
        "clusterName": inputs["clusterName"],
        "principalArn": inputs["principalArn"],
        "type": inputs.get("type") or "STANDARD",
        "tags": inputs.get("tags") or {},
    }
    if inputs.get("kubernetesGroups"):
        call["kubernetesGroups"] = list(inputs["kubernetesGroups"])
    if inputs.get("userName"):
        call["username"] = inputs["userName"]
    aws.eks.create_access_entry(**call)
    ident = f"{inputs['clusterName']}:{inputs['principalArn']}"
    return ident, _read_back(_entry_read, aws, ident, inputs)


def _entry_update(aws: Aws, ident: str, old: State, new: State) -> State:
    cluster, principal = _entry_ident(ident)
    call: dict[str, Any] = {"clusterName": cluster, "principalArn": principal}
    call["kubernetesGroups"] = list(new.get("kubernetesGroups") or [])
    if new.get("userName"):
        call["username"] = new["userName"]
    aws.eks.update_access_entry(**call)
    return _read_back(_entry_read, aws, ident, new)


def _entry_delete(aws: Aws, ident: str, state: State) -> None:
    cluster, principal = _entry_ident(ident)
    aws.eks.delete_access_entry(clusterName=cluster, principalArn=principal)


# -- aws:eks/accessPolicyAssociation:AccessPolicyAssociation ------------------------------------------
# Served by the same emulation (AssociateAccessPolicy, ListAssociatedAccessPolicies, DisassociateAccessPolicy). The
# id is pulumi-aws's: "CLUSTER#PRINCIPAL_ARN#POLICY_ARN". Every input replaces (pulumi-aws has no update for it).


def _association_ident(ident: str) -> tuple[str, str, str]:
    cluster, principal, policy = ident.split("#", 2)
    return cluster, principal, policy


def _association_read(aws: Aws, ident: str, state: State) -> State | None:
    cluster, principal, policy = _association_ident(ident)
    try:
        held = aws.eks.list_associated_access_policies(clusterName=cluster, principalArn=principal)
    except ClientError as error:
        if _missing(error):
            return None
        raise
    found = next((p for p in held["associatedAccessPolicies"] if p["policyArn"] == policy), None)
    if found is None:
        return None
    scope = found["accessScope"]
    return {
        "clusterName": cluster,
        "principalArn": principal,
        "policyArn": policy,
        "accessScope": {"type": scope["type"], "namespaces": list(scope.get("namespaces") or [])},
        "associatedAt": found["associatedAt"].isoformat(),
        "modifiedAt": found["modifiedAt"].isoformat(),
    }


def _association_create(aws: Aws, inputs: State) -> tuple[str, State]:
    scope = dict(inputs["accessScope"])
    call_scope: dict[str, Any] = {"type": scope["type"]}
    if scope.get("namespaces"):
        call_scope["namespaces"] = list(scope["namespaces"])
    aws.eks.associate_access_policy(
        clusterName=inputs["clusterName"],
        principalArn=inputs["principalArn"],
        policyArn=inputs["policyArn"],
        accessScope=call_scope,
    )
    ident = f"{inputs['clusterName']}#{inputs['principalArn']}#{inputs['policyArn']}"
    return ident, _read_back(_association_read, aws, ident, inputs)


def _association_delete(aws: Aws, ident: str, state: State) -> None:
    cluster, principal, policy = _association_ident(ident)
    try:
        aws.eks.disassociate_access_policy(clusterName=cluster, principalArn=principal, policyArn=policy)
    except ClientError as error:
        if not _missing(error):  # gone with its entry: EKS deletes an entry's associations with it
            raise


def _read_back(read: Callable[[Aws, str, State], State | None], aws: Aws, ident: str, state: State) -> State:
    found = read(aws, ident, state)
    if found is None:
        raise StandinError(f"{ident}: written, but moto does not have it")
    return found


_TAGS = frozenset({"tags"})

KINDS: dict[str, Kind] = {
    kind.token: kind
    for kind in (
        Kind(
            "aws:iam/policy:Policy",
            inputs=frozenset(
                {"name", "namePrefix", "path", "description", "policy", "tags", "delayAfterPolicyCreationInMs"}
            ),
            supported=frozenset({"name", "path", "description", "policy"}) | _TAGS,
            replace_on=frozenset({"name", "namePrefix", "path", "description"}),
            computed=frozenset({"arn", "policyId", "attachmentCount", "tagsAll"}),
            create=_policy_create,
            read=_policy_read,
            update=_policy_update,
            delete=_policy_delete,
            defaults={"path": "/"},
            autoname="name",
        ),
        Kind(
            "aws:iam/user:User",
            inputs=frozenset({"name", "path", "permissionsBoundary", "forceDestroy", "tags"}),
            # moto keeps no user's permissions boundary (CreateUser drops it; no PutUserPermissionsBoundary).
            supported=frozenset({"name", "path", "forceDestroy"}) | _TAGS,
            replace_on=frozenset(),
            computed=frozenset({"arn", "uniqueId", "tagsAll"}),
            create=_user_create,
            read=_user_read,
            update=_user_update,
            delete=_user_delete,
            defaults={"path": "/", "forceDestroy": False},
        ),
        _attachment("user"),
        Kind(
            "aws:iam/accessKey:AccessKey",
            inputs=frozenset({"user", "pgpKey", "status"}),
            supported=frozenset({"user", "pgpKey", "status"}),
            replace_on=frozenset({"user", "pgpKey"}),
            computed=frozenset(
                {
                    "createDate",
                    "secret",
                    "sesSmtpPasswordV4",
                    "encryptedSecret",
                    "encryptedSesSmtpPasswordV4",
                    "keyFingerprint",
                }
            ),
            create=_key_create,
            read=_key_read,
            update=_key_update,
            delete=_key_delete,
            defaults={"status": "Active"},
            secret_outputs=frozenset({"secret", "sesSmtpPasswordV4"}),
        ),
        Kind(
            "aws:iam/role:Role",
            inputs=frozenset(
                {
                    "name",
                    "namePrefix",
                    "path",
                    "assumeRolePolicy",
                    "description",
                    "maxSessionDuration",
                    "permissionsBoundary",
                    "forceDetachPolicies",
                    "tags",
                    "inlinePolicies",
                    "managedPolicyArns",
                }
            ),
            supported=frozenset(
                {
                    "name",
                    "path",
                    "assumeRolePolicy",
                    "description",
                    "maxSessionDuration",
                    "permissionsBoundary",
                    "forceDetachPolicies",
                }
            )
            | _TAGS,
            replace_on=frozenset({"name", "namePrefix", "path"}),
            computed=frozenset({"arn", "uniqueId", "createDate", "tagsAll"}),
            create=_role_create,
            read=_role_read,
            update=_role_update,
            delete=_role_delete,
            defaults={"path": "/", "maxSessionDuration": 3600.0, "forceDetachPolicies": False},
            autoname="name",
        ),
        _attachment("role"),
        Kind(
            "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
            inputs=frozenset({"url", "clientIdLists", "thumbprintLists", "tags"}),
            supported=frozenset({"url", "clientIdLists", "thumbprintLists"}) | _TAGS,
            replace_on=frozenset({"url"}),
            computed=frozenset({"arn", "tagsAll"}),
            create=_oidc_create,
            read=_oidc_read,
            update=_oidc_update,
            delete=_oidc_delete,
        ),
        Kind(
            "aws:eks/accessEntry:AccessEntry",
            inputs=frozenset({"clusterName", "principalArn", "kubernetesGroups", "type", "userName", "tags", "region"}),
            supported=frozenset({"clusterName", "principalArn", "kubernetesGroups", "type", "userName"}) | _TAGS,
            replace_on=frozenset({"clusterName", "principalArn", "type"}),
            computed=frozenset({"accessEntryArn", "createdAt", "modifiedAt", "tagsAll"}),
            create=_entry_create,
            read=_entry_read,
            delete=_entry_delete,
            update=_entry_update,
            defaults={"type": "STANDARD"},
        ),
        Kind(
            "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
            inputs=frozenset({"clusterName", "principalArn", "policyArn", "accessScope", "region"}),
            supported=frozenset({"clusterName", "principalArn", "policyArn", "accessScope"}),
            replace_on=frozenset({"clusterName", "principalArn", "policyArn", "accessScope"}),
            computed=frozenset({"associatedAt", "modifiedAt"}),
            create=_association_create,
            read=_association_read,
            delete=_association_delete,
        ),
    )
}

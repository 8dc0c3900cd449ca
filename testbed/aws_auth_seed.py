"""What ``kube-system/aws-auth`` holds before we come, in the fast tier's stand-in API server and the cluster tier:
node roles, other teams' users, an account, and the deployer who runs ``pulumi up``. Test data, not AWS's."""

from __future__ import annotations

from testbed.apiserver.authenticator import Identity
from testbed.names import ACCOUNT

#: The account of the seeded entries (another account than moto's).
NODE_ROLES = (
    "- rolearn: arn:aws:iam::123412341234:role/eks-node-group-role\n"
    "  username: system:node:{{EC2PrivateDNSName}}\n"
    "  groups:\n"
    "    - system:bootstrappers\n"
    "    - system:nodes\n"
)
OTHER_USERS = (
    "- userarn: arn:aws:iam::123412341234:user/alice\n"
    "  username: alice\n"
    "  groups:\n"
    "    - system:masters\n"
    "- userarn: arn:aws:iam::123412341234:user/team-b-ci\n"
    "  username: team-b-ci\n"
    "  groups:\n"
    "    - team-b\n"
)
MAP_ACCOUNTS = "- '111122223333'\n"
#: The deployer (whoever runs `pulumi up`): a static token in system:masters on the test server.
ADMIN_TOKEN = "deployer-token"
DEPLOYER = Identity("deployer", ("system:masters",))


def user_arn(name: str) -> str:
    """An IAM user's ARN in the seeded entries' account."""
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


ALICE, TEAM_B = user_arn("alice"), user_arn("team-b-ci")
#: The foreign keys every aws-auth test starts from.
SEED = {"mapRoles": NODE_ROLES, "mapUsers": OTHER_USERS, "mapAccounts": MAP_ACCOUNTS}

"""Give a CI system deploy-and-rollback access to exactly one EKS namespace."""

from .args import EksCicdAccessArgs
from .cluster import cluster_kubeconfig
from .component import EksCicdAccess
from .kubecontext import context_kubeconfig
from .rbac import RoleRule
from .resolve import validate_args

__all__ = [
    "EksCicdAccess",
    "EksCicdAccessArgs",
    "RoleRule",
    "cluster_kubeconfig",
    "context_kubeconfig",
    "validate_args",
]

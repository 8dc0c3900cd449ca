"""The name Pulumi state knows ``AwsAuthEntryProvider`` by: every stack pickles the dynamic provider by reference to
``eks_cicd_access.aws_auth_entry.AwsAuthEntryProvider`` (``aws_auth/resource.py`` says so), and ``pulumi destroy``
unpickles it. Code imports ``eks_cicd_access.aws_auth.resource``."""

from .aws_auth.resource import AwsAuthEntryProvider

__all__ = ["AwsAuthEntryProvider"]

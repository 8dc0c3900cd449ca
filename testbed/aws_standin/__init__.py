"""A stand-in for the pulumi-aws provider plugin, in front of moto: test-only, never shipped.

The real provider cannot be built here (its module replaces the Terraform
provider with a local patched checkout), so the engine tier runs the program
against this plugin instead, found on ``PATH`` as ``pulumi-resource-aws``. It
serves exactly the resource types and invokes the component and the program use,
with pulumi-aws 7.x's property names and secret outputs, and keeps all state in
moto in server mode (a real HTTP endpoint on loopback): Check, Diff, Create,
Read, Update and Delete call boto3 against it. Anything else is a loud error.

What it is not: the AWS provider. It does not reproduce the Terraform
provider's retries, eventual-consistency waits, import or every argument, and
moto is not AWS (no real IAM evaluation, no real EKS).
"""

"""The ``eks-cicd-access`` provider plugin: the component and ``AwsAuthEntry`` for every Pulumi language.

- ``servicer``: the gRPC provider (Construct of the component; Check/Diff/CRUD of ``AwsAuthEntry``).
- ``schema``: the package schema, generated from the Python definitions (checked in as ``provider/schema.json``).
- ``naming``: the schema's names for what the component registers and returns.
"""

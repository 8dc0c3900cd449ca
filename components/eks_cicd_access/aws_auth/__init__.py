"""``kube-system/aws-auth``, edited without losing anyone's entry, in three layers.

- ``entries``: pure functions over the ConfigMap's text: parse, add, replace and remove one principal's entries,
  keeping every other byte (comments, layout, other teams' entries, the node roles).
- ``writer``: ``AuthConfigMap``, the compare-and-swap writer: read, edit, write with the read's resourceVersion,
  retry on conflict; concurrent edits in one process are coalesced.
- ``resource``: ``AwsAuthEntry``, the Pulumi resource over the writer (a dynamic resource in a Python program, the
  plugin's own in every other language).
"""

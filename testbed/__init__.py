"""Everything that stands in for AWS, EKS and Pulumi on this machine, for the tests, ``scripts/demo`` and
``benchmarks/``: test infrastructure, never shipped.

What is real and what is ours, part by part (each module's docstring says what it stands in for and what it does
not do):

- ``controlplane/``: a real Kubernetes control plane on loopback (kube-apiserver, controllers, scheduler, etcd,
  kwok, all built from source) with EKS's own aws-iam-authenticator as its token webhook; ``sts.py`` is our STS
  (a loopback proxy that checks each token's signature).
- ``apiserver/``: our stand-in API server for the fast tier (ConfigMaps, authentication and faults), checked against the
  real one by the cluster tier.
- ``aws_standin/``: our plugin in place of pulumi-aws, in front of moto in server mode.
- ``eks_access.py``: our emulation of EKS's access-entry API on moto's server.
- ``engine_host/`` and ``language_hosts/``: our stand-ins for the Python, Node.js and Go language hosts, which the
  Go module proxy does not serve.
- ``engine_stack.py``: the real Pulumi CLI driven against all of that; ``demo.py`` is ``scripts/demo``.
- ``mocks.py``: Pulumi's unit-test mocks for the fast tier; ``provider_host.py``: the engine's side of a dynamic
  resource (the SDK's own provider-host servicer, called in-process).
- ``names.py``: the one cluster name, region and pair of accounts everything here and in ``tests/`` uses.
- ``contention.py``, ``scale.py``, ``aws_auth_seed.py``, ``workload.py``: what tests and benchmarks share.
- ``docs.py``: the README's and ``docs/``'s marked commands and generated tables.

Each part's own tests sit beside it (``test_*.py``; ``pytest`` collects ``testbed/`` with ``tests/``). Nothing here
imports from ``tests/`` or ``benchmarks/``.
"""

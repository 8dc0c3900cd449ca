"""A real Kubernetes control plane (etcd, kube-apiserver, controllers, scheduler, kwok) for the ``cluster`` tier.

``fixture.ControlPlane`` runs it; ``tests/conftest.py`` offers it to tests as the
session-scoped ``control_plane`` fixture.
"""

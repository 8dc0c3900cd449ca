"""The eks-cicd-access plugin's entry point: the engine runs ``python <this directory> ENGINE_ADDRESS``."""

from eks_cicd_access.plugin.servicer import main

main()

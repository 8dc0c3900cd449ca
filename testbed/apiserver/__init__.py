"""A stand-in Kubernetes API server (ConfigMaps only) for the writer's quick checks and fault injection."""

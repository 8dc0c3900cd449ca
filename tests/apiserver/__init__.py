"""A stand-in Kubernetes API server for driving the real ``kubectl`` in tests."""

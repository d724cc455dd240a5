"""Defaults shared by the CLI and the library, kept import-light for fast start-up."""

DEFAULT_CONFIG_FILE = "gitops.yaml"
DEFAULT_KUBERNETES_MINOR = "1.34"

"""Defaults shared by the CLI and the library, kept import-light for fast start-up."""

DEFAULT_CONFIG_FILE = "gitops.yaml"
DEFAULT_KUBERNETES_MINOR = "1.34"
# the oldest Kubernetes the pinned components support (Argo CD 3.4 is tested on 1.32 to 1.35; the chart's
# kubeVersion says the same)
MIN_KUBERNETES = (1, 32)

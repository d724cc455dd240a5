"""kubectl-gitops: a GitOps platform on DigitalOcean or any Kubernetes cluster."""

__version__ = "0.1.0"

"""Generate JSON Schemas in kubeconform's layout (``schemas/crds/<group>/<kind>_<version>.json``) from
upstream CustomResourceDefinitions, for kinds whose CRDs are released as plain YAML.

The Argo CD and Tekton schemas in ``schemas/crds`` were written by hand (the fields this project renders,
checked against upstream by ``tests/test_chart_crds.py``). The kinds listed in :data:`KINDS` are generated
whole from their pinned upstream release instead, so a version bump is one run of this script:

    python release/crd_schemas.py --crds ../shared/reference/crds            # write
    python release/crd_schemas.py --crds ../shared/reference/crds --check    # exit 1 when out of date

``--crds`` is a directory holding one folder per upstream release, named as in :data:`KINDS` (the files of
``deploy/crds`` of that tag for cert-manager, ``config/crd/standard`` for Gateway API,
``charts/gateway-helm/charts/crds/crds/generated`` for Envoy Gateway). A release whose folder is missing is
skipped and said so (the test data holds cert-manager and Gateway API only). The conversion:
unknown fields are errors except where the CRD preserves them (``x-kubernetes-preserve-unknown-fields``),
``x-kubernetes-int-or-string`` is ``integer`` or ``string``, ``nullable`` adds ``null``, the other
``x-kubernetes-*`` keys go, every property keeps upstream's description (or says it has none), and
``apiVersion`` and ``kind`` are pinned to the one kind and version.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas" / "crds"
# upstream release folder -> (group, kind, version) generated from it
KINDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "cert-manager-v1.21.1": (
        ("cert-manager.io", "ClusterIssuer", "v1"),
        ("cert-manager.io", "Issuer", "v1"),
        ("cert-manager.io", "Certificate", "v1"),
    ),
    "gateway-api-v1.6.1": (
        ("gateway.networking.k8s.io", "GatewayClass", "v1"),
        ("gateway.networking.k8s.io", "Gateway", "v1"),
        ("gateway.networking.k8s.io", "HTTPRoute", "v1"),
        ("gateway.networking.k8s.io", "GRPCRoute", "v1"),
        # Envoy Gateway v1.9 reads ReferenceGrants at v1beta1 (served beside v1, one storage version)
        ("gateway.networking.k8s.io", "ReferenceGrant", "v1beta1"),
    ),
    "envoy-gateway-v1.9.0": (
        ("gateway.envoyproxy.io", "SecurityPolicy", "v1alpha1"),
    ),
}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def strict(node: Any) -> Any:
    """One node of a CRD's openAPIV3Schema as strict, described JSON Schema (draft 7)."""
    if not isinstance(node, dict):
        return node
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in node:
        out["properties"] = {}
        for name, sub in node["properties"].items():
            converted = strict(sub)
            converted.setdefault("description", f"{name} (no description upstream).")
            out["properties"][name] = converted
        if not node.get("x-kubernetes-preserve-unknown-fields") and "additionalProperties" not in node:
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            out[key] = strict(node[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node and not (key == "anyOf" and node.get("x-kubernetes-int-or-string")):
            out[key] = [strict(s) for s in node[key]]
    return out


def _crds(folder: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=_Loader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema and version.get("served", True):
                    found[(spec["group"], spec["names"]["kind"], version["name"])] = schema
    return found


def schema_for(release: str, key: tuple[str, str, str], upstream: dict[str, Any]) -> dict[str, Any]:
    """The kubeconform schema of ``key`` from its upstream openAPIV3Schema."""
    group, kind, version = key
    body = strict(upstream)
    properties = body.get("properties") or {}
    properties["apiVersion"] = {"description": "API group and version.", "enum": [f"{group}/{version}"]}
    properties["kind"] = {"description": "Kind.", "enum": [kind]}
    properties["metadata"] = {"type": "object", "description": "Standard object metadata."}
    body["additionalProperties"] = False
    required = [r for r in body.get("required") or [] if r not in ("apiVersion", "kind", "metadata")]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://kubectl-gitops.dev/schemas/crds/{group}/{kind.lower()}_{version}.json",
        "title": f"{kind} {group}/{version}",
        **{k: v for k, v in body.items() if k not in ("description", "required")},
        "description": f"{kind} ({group}/{version}), generated by release/crd_schemas.py from the upstream CRD of "
                       f"{release}. " + str(upstream.get("description") or "").strip(),
        "required": ["apiVersion", "kind", "metadata", *required],
    }


def generate(crds: Path, skipped: list[str] | None = None) -> dict[Path, str]:
    """Path -> JSON text of every generated schema (the releases without a folder under ``crds`` are appended
    to ``skipped``)."""
    files = {}
    for release, keys in KINDS.items():
        if not (crds / release).is_dir():
            if skipped is not None:
                skipped.append(release)
            continue
        upstream = _crds(crds / release)
        for key in keys:
            if key not in upstream:
                raise SystemExit(f"{crds / release}: no served CRD version for {key}")
            group, kind, version = key
            path = OUT / group / f"{kind.lower()}_{version}.json"
            files[path] = json.dumps(schema_for(release, key, upstream[key]), indent=2, sort_keys=False) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crds", type=Path, default=ROOT.parent / "shared" / "reference" / "crds",
                        help="directory with one folder of upstream CRDs per release")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a schema is out of date")
    args = parser.parse_args(argv)
    stale: list[Path] = []
    skipped: list[str] = []
    for path, text in generate(args.crds, skipped).items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for release in skipped:
        print(f"skipped: no folder {args.crds / release}")
    for path in stale:
        print(f"{'out of date' if args.check else 'written'}: {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

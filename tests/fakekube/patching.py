"""Patch formats and field ownership for the stand-in.

- RFC 7386 JSON merge patch, RFC 6902 JSON patch;
- strategic merge patch: lists merged by key for the keys in :data:`MERGE_KEYS`, ``$patch``
  (``replace``/``delete``), ``$deleteFromPrimitiveList/``, ``$retainKeys``; ``$setElementOrder/`` is
  accepted and ignored (order of merged lists is: existing items, then new ones);
- server-side apply: field sets per manager (``managedFields`` with ``FieldsV1``), conflicts,
  ``force``, removal of fields a manager stopped applying. Lists keyed in :data:`MERGE_KEYS` are
  associative, every other list is atomic (real servers also treat some scalar lists as sets).
"""

from __future__ import annotations

import copy
import json

MISSING = object()

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "params": "name",
    "tasks": "name",
    "finally": "name",
    "workspaces": "name",
    "results": "name",
    "steps": "name",
}
# Lists of scalars merged as a union by strategic merge patch.
PRIMITIVE_MERGE = {"finalizers"}


class PatchError(ValueError):
    """A patch that cannot be applied (answered with 422 or 400)."""


class ApplyConflict(Exception):
    def __init__(self, conflicts: list[tuple[str, tuple]]):
        super().__init__(conflicts)
        self.conflicts = conflicts


def list_key(name: str | None, items) -> str | None:
    """The merge key of list field ``name`` if every item is an object carrying it."""
    if not isinstance(items, list) or not items:
        key = MERGE_KEYS.get(name or "")
        return key if name != "ports" else None
    if not all(isinstance(i, dict) for i in items):
        return None
    if name == "ports":
        key = "containerPort" if all("containerPort" in i for i in items) else "port"
    else:
        key = MERGE_KEYS.get(name or "")
    if key and all(key in i for i in items):
        return key
    return None


# ---------------------------------------------------------------- JSON merge patch (RFC 7386)
def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------- JSON patch (RFC 6902)
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise PatchError(f"path /{'/'.join(parts)} does not exist")
    return node


def _get(doc, parts):
    node = doc
    for part in parts:
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise PatchError(f"path /{'/'.join(parts)} does not exist") from None
    return node


def _add(doc, parts, value):
    if not parts:
        return value
    parent = _parent(doc, parts)
    last = parts[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            index = int(last)
            if index > len(parent):
                raise PatchError("index out of range")
            parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise PatchError("cannot add to a scalar")
    return doc


def _remove(doc, parts):
    parent = _parent(doc, parts)
    last = parts[-1]
    try:
        if isinstance(parent, list):
            return parent.pop(int(last))
        return parent.pop(last)
    except (KeyError, IndexError, ValueError):
        raise PatchError(f"path /{'/'.join(parts)} does not exist") from None


def json_patch(doc, operations):
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        kind = op.get("op")
        parts = _pointer(op.get("path", ""))
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts)
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                parent = _parent(doc, parts)
                parent[int(parts[-1]) if isinstance(parent, list) else parts[-1]] = copy.deepcopy(
                    op.get("value")
                )
        elif kind == "move":
            value = _remove(doc, _pointer(op["from"]))
            doc = _add(doc, parts, value)
        elif kind == "copy":
            doc = _add(doc, parts, copy.deepcopy(_get(doc, _pointer(op["from"]))))
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise PatchError(f"test operation failed at {op.get('path')}")
        else:
            raise PatchError(f"unknown JSON patch operation {kind!r}")
    return doc


# ---------------------------------------------------------------- strategic merge patch
_DELETE = object()


def _strip_directives(value):
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not (isinstance(v, dict) and "$patch" in v)]
    return value


def strategic_merge(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return _DELETE
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if isinstance(result.get(name), list):
                result[name] = [item for item in result[name] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            result[key] = value
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(name, current, patch):
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    current = current if isinstance(current, list) else []
    key = list_key(name, [i for i in current + patch if isinstance(i, dict)] or patch)
    if key is None:
        if name in PRIMITIVE_MERGE:
            return current + [i for i in patch if i not in current]
        return _strip_directives(patch)
    result = copy.deepcopy(current)
    for item in patch:
        if not isinstance(item, dict):
            result.append(item)
            continue
        index = next(
            (
                n
                for n, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is not None:
            result[index] = strategic_merge(result[index], item)
        else:
            result.append(strategic_merge({}, item))
    return result


# ---------------------------------------------------------------- field sets (server-side apply)
IGNORED_META = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
}


def trackable(obj: dict, section: str) -> dict:
    """The part of ``obj`` whose fields are owned: ``main`` (no status) or ``status``."""
    if section == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in IGNORED_META}
    if meta:
        out["metadata"] = meta
    return out


def field_paths(value, name=None, prefix=()) -> set[tuple]:
    out: set[tuple] = set()
    if isinstance(value, dict):
        if not value and prefix:
            out.add(prefix)
        for k, v in value.items():
            out |= field_paths(v, k, prefix + ("f:" + k,))
    elif isinstance(value, list) and value and (key := list_key(name, value)):
        for item in value:
            item_path = prefix + ("k:" + json.dumps({key: item[key]}, separators=(",", ":")),)
            out.add(item_path)
            for k, v in item.items():
                out |= field_paths(v, k, item_path + ("f:" + k,))
    elif prefix:
        out.add(prefix)
    return out


def get_path(obj, path):
    node = obj
    for element in path:
        if element.startswith("f:"):
            if not isinstance(node, dict) or element[2:] not in node:
                return MISSING
            node = node[element[2:]]
        else:
            wanted = json.loads(element[2:])
            if not isinstance(node, list):
                return MISSING
            node = next(
                (i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())),
                MISSING,
            )
            if node is MISSING:
                return MISSING
    return node


def delete_path(obj, path) -> None:
    parent = get_path(obj, path[:-1])
    last = path[-1]
    if last.startswith("f:"):
        if isinstance(parent, dict):
            parent.pop(last[2:], None)
    elif isinstance(parent, list):
        wanted = json.loads(last[2:])
        parent[:] = [
            i for i in parent if not (isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items()))
        ]


def to_fields_v1(paths: set[tuple]) -> dict:
    root: dict = {}
    for path in sorted(paths):
        node = root
        for element in path:
            node = node.setdefault(element, {})
        if path and path[-1].startswith("k:"):
            node["."] = {}
    return root


def from_fields_v1(tree: dict, prefix=()) -> set[tuple]:
    out: set[tuple] = set()
    for key, sub in (tree or {}).items():
        if key == ".":
            out.add(prefix)
        elif not sub:
            out.add(prefix + (key,))
        else:
            out |= from_fields_v1(sub, prefix + (key,))
    return out


def apply_merge(current, config, name=None):
    """Merge an apply configuration into the live object (structural merge)."""
    if isinstance(config, dict):
        result = copy.deepcopy(current) if isinstance(current, dict) else {}
        for key, value in config.items():
            if value is None:
                continue
            result[key] = apply_merge(result.get(key), value, key)
        return result
    if isinstance(config, list) and isinstance(current, list):
        key = list_key(name, config)
        if key and list_key(name, current) == key:
            result = copy.deepcopy(current)
            for item in config:
                index = next((n for n, e in enumerate(result) if e.get(key) == item[key]), None)
                if index is None:
                    result.append(copy.deepcopy(item))
                else:
                    result[index] = apply_merge(result[index], item)
            return result
    return copy.deepcopy(config)


def _entries(managed):
    """managedFields entries as [entry, paths]."""
    return [[dict(e), from_fields_v1(e.get("fieldsV1") or {})] for e in managed or []]


def _pack(entries) -> list[dict]:
    out = []
    for entry, paths in entries:
        if not paths:
            continue
        entry = {k: v for k, v in entry.items() if k != "fieldsV1"}
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = to_fields_v1(paths)
        out.append(entry)
    return out


def _same(entry, manager, operation, subresource):
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and entry.get("subresource", "") == subresource
    )


def server_side_apply(current, config, *, manager, force, api_version, now, section="main"):
    """Apply ``config`` as ``manager``; returns the new object (managedFields set)."""
    current = copy.deepcopy(current)
    managed = current.get("metadata", {}).get("managedFields") or []
    subresource = "status" if section == "status" else ""
    entries = _entries(managed)
    new_paths = field_paths(trackable(config, section))
    conflicts = []
    for entry, paths in entries:
        if _same(entry, manager, "Apply", subresource):
            continue
        for path in sorted(paths & new_paths):
            if path[-1].startswith("k:"):
                continue
            live = get_path(current, path)
            if live is not MISSING and live != get_path(config, path):
                conflicts.append((entry.get("manager", ""), path))
    if conflicts and not force:
        raise ApplyConflict(conflicts)
    merged_part = apply_merge(trackable(current, section), trackable(config, section))
    merged = copy.deepcopy(current)
    if section == "status":
        if "status" in merged_part:
            merged["status"] = merged_part["status"]
    else:
        meta = merged.get("metadata", {})
        meta.update(merged_part.pop("metadata", {}))
        merged = {**{k: v for k, v in merged.items() if k in ("apiVersion", "kind", "status")}, **merged_part}
        merged["metadata"] = meta
    own = next((e for e in entries if _same(e[0], manager, "Apply", subresource)), None)
    old_paths = own[1] if own else set()
    others = [paths for entry, paths in entries if not _same(entry, manager, "Apply", subresource)]
    for path in sorted(old_paths - new_paths, key=len, reverse=True):
        if any(p[: len(path)] == path for paths in others for p in paths):
            continue
        delete_path(merged, path)
    if force:
        conflicting = {path for _, path in conflicts}
        for entry, paths in entries:
            if not _same(entry, manager, "Apply", subresource):
                paths -= conflicting
    if own is None:
        own = [{"manager": manager, "operation": "Apply"}, set()]
        if subresource:
            own[0]["subresource"] = subresource
        entries.append(own)
    own[0].update(apiVersion=api_version, time=now)
    own[1].clear()
    own[1].update(new_paths)
    merged.setdefault("metadata", {})["managedFields"] = _pack(entries)
    return merged


def track_update(old, new, *, manager, api_version, now, section="main") -> list[dict]:
    """managedFields after a non-apply write by ``manager`` turned ``old`` into ``new``."""
    subresource = "status" if section == "status" else ""
    entries = _entries((old or {}).get("metadata", {}).get("managedFields"))
    new_part = trackable(new, section)
    old_part = trackable(old, section) if old else {}
    new_paths = field_paths(new_part)
    old_paths = field_paths(old_part)
    changed = {p for p in new_paths if p not in old_paths or get_path(old_part, p) != get_path(new_part, p)}
    gone = old_paths - new_paths
    own = next((e for e in entries if _same(e[0], manager, "Update", subresource)), None)
    for entry, paths in entries:
        paths -= gone
        if own is None or entry is not own[0]:
            paths -= changed
    if changed:
        if own is None:
            own = [{"manager": manager, "operation": "Update"}, set()]
            if subresource:
                own[0]["subresource"] = subresource
            entries.append(own)
        own[1].update(changed)
        own[0].update(apiVersion=api_version, time=now)
    return _pack(entries)


def describe_path(path: tuple) -> str:
    out = ""
    for element in path:
        if element.startswith("f:"):
            out += "." + element[2:]
        else:
            wanted = json.loads(element[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in wanted.items()) + "]"
    return out

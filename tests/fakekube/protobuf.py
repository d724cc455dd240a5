"""Decoder for the Kubernetes protobuf request bodies the stand-in accepts.

Only what clients send for Secret, ConfigMap and Namespace is understood: the ``k8s\\x00``
``runtime.Unknown`` envelope and the messages below, written against the wire format
(varint / 64-bit / length-delimited / 32-bit) with field numbers from k8s.io/api and
k8s.io/apimachinery ``generated.proto``. The result is the object in its JSON form.
"""

from __future__ import annotations

import base64
import datetime as _dt

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    pass


class UnsupportedKind(ProtobufError):
    """A well-formed envelope holding a kind this decoder does not know."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def fields(buf: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) for each field; value is int or bytes."""
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ProtobufError("truncated length-delimited field")
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _str(value) -> str:
    return value.decode("utf-8")


def _map_entry(buf: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _, raw in fields(buf):
        if number == 1:
            key = _str(raw)
        elif number == 2:
            value = raw
    return key, value


def _time(buf: bytes) -> str:
    seconds = 0
    for number, _, raw in fields(buf):
        if number == 1:
            seconds = raw
    return _dt.datetime.fromtimestamp(seconds, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(buf: bytes) -> dict:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    ref: dict = {}
    for number, _, raw in fields(buf):
        if number in names:
            ref[names[number]] = _str(raw)
        elif number == 6:
            ref["controller"] = bool(raw)
        elif number == 7:
            ref["blockOwnerDeletion"] = bool(raw)
    return ref


def object_meta(buf: bytes) -> dict:
    strings = {1: "name", 2: "generateName", 3: "namespace", 4: "selfLink", 5: "uid", 6: "resourceVersion"}
    meta: dict = {}
    for number, _, raw in fields(buf):
        if number in strings:
            if raw:
                meta[strings[number]] = _str(raw)
        elif number == 7:
            meta["generation"] = raw
        elif number == 8:
            meta["creationTimestamp"] = _time(raw)
        elif number == 9:
            meta["deletionTimestamp"] = _time(raw)
        elif number == 10:
            meta["deletionGracePeriodSeconds"] = raw
        elif number in (11, 12):
            key, value = _map_entry(raw)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = _str(value)
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(raw))
        elif number == 14:
            meta.setdefault("finalizers", []).append(_str(raw))
        # 17 (managedFields) is dropped: clients do not send it on create/update.
    return meta


def _secret(buf: bytes) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "Secret"}
    for number, _, raw in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(raw)
        elif number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = base64.b64encode(value).decode()
        elif number == 3:
            obj["type"] = _str(raw)
        elif number == 4:
            key, value = _map_entry(raw)
            obj.setdefault("stringData", {})[key] = _str(value)
        elif number == 5:
            obj["immutable"] = bool(raw)
    return obj


def _config_map(buf: bytes) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "ConfigMap"}
    for number, _, raw in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(raw)
        elif number == 2:
            key, value = _map_entry(raw)
            obj.setdefault("data", {})[key] = _str(value)
        elif number == 3:
            key, value = _map_entry(raw)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(value).decode()
        elif number == 4:
            obj["immutable"] = bool(raw)
    return obj


def _namespace(buf: bytes) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "Namespace"}
    for number, _, raw in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(raw)
        elif number == 2:
            finalizers = [_str(v) for n, _, v in fields(raw) if n == 1]
            obj["spec"] = {"finalizers": finalizers} if finalizers else {}
    return obj


def _delete_options(buf: bytes) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "DeleteOptions"}
    for number, _, raw in fields(buf):
        if number == 1:
            obj["gracePeriodSeconds"] = raw
        elif number == 2:
            names = {1: "uid", 2: "resourceVersion"}
            obj["preconditions"] = {names[n]: _str(v) for n, _, v in fields(raw) if n in names}
        elif number == 3:
            obj["orphanDependents"] = bool(raw)
        elif number == 4:
            obj["propagationPolicy"] = _str(raw)
        elif number == 5:
            obj.setdefault("dryRun", []).append(_str(raw))
    return obj


DECODERS = {
    ("v1", "Secret"): _secret,
    ("v1", "ConfigMap"): _config_map,
    ("v1", "Namespace"): _namespace,
    ("v1", "DeleteOptions"): _delete_options,
    ("meta.k8s.io/v1", "DeleteOptions"): _delete_options,
}


def decode(body: bytes) -> dict:
    """Decode a ``k8s\\x00`` envelope holding a Secret, ConfigMap or Namespace."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic prefix")
    api_version = kind = ""
    raw = b""
    for number, _, value in fields(body[len(MAGIC) :]):
        if number == 1:  # TypeMeta
            for n, _, v in fields(value):
                if n == 1:
                    api_version = _str(v)
                elif n == 2:
                    kind = _str(v)
        elif number == 2:
            raw = value
    decoder = DECODERS.get((api_version, kind))
    if decoder is None:
        raise UnsupportedKind(f"the stand-in does not decode protobuf bodies of {api_version} {kind}")
    return decoder(raw)

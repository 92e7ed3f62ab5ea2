"""Cross-checks protocol/vectors with Python's msgpack (run by vectors-python.test.ts).

Every MessagePack payload of a valid frame (frames.json, and the frames of sequences.json) must
decode with msgpack; canonical ones must equal their JSON meaning, key order included, and
re-encode to the same bytes. Prints one JSON object: {"checked": n, "failures": [...]}.
"""
import json
import sys

import msgpack

MSGPACK_TYPES = {0x01, 0x02, 0x03, 0x04, 0x06, 0x08, 0x09, 0x0C}


def from_json(value):
    """The vectors' JSON form (README.md) as the Python value msgpack decodes to."""
    if isinstance(value, dict):
        if list(value.keys()) == ["$bin"]:
            return value["$bin"].encode("latin-1")
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def same(a, b):
    """Equality that also compares map key order, and never equates 1 with True or 1.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def reject_ext(code, data):
    raise ValueError(f"extension type {code}")


def check(name, frame_hex, meaning, canonical, failures):
    raw = bytes.fromhex(frame_hex)
    if raw[4] not in MSGPACK_TYPES:
        return 0
    payload = raw[10:]
    try:
        value = msgpack.unpackb(payload, raw=False, strict_map_key=True, ext_hook=reject_ext)
    except Exception as error:  # noqa: BLE001 - any failure is reported
        failures.append(f"{name}: msgpack cannot decode the payload: {error}")
        return 1
    expected = from_json(meaning)
    if canonical:
        if not same(value, expected):
            failures.append(f"{name}: decoded {value!r} but the vector means {expected!r}")
        again = msgpack.packb(value, use_bin_type=True)
        if again != payload:
            failures.append(f"{name}: re-encoded {again.hex()} differs from {payload.hex()}")
    elif isinstance(expected, dict):
        for key, item in expected.items():
            if not same(value.get(key), item):
                failures.append(f"{name}: key {key} decoded as {value.get(key)!r}, expected {item!r}")
    return 1


def main():
    directory = sys.argv[1]
    failures = []
    checked = 0
    with open(f"{directory}/frames.json", encoding="utf-8") as file:
        for vector in json.load(file)["vectors"]:
            checked += check(vector["name"], vector["hex"], vector["frame"]["payload"], vector["canonical"], failures)
    with open(f"{directory}/sequences.json", encoding="utf-8") as file:
        for sequence in json.load(file)["sequences"]:
            for index, step in enumerate(sequence["steps"]):
                frame = step.get("send")
                if frame is None or frame["type"] in ("PREFACE", "RAW") or "payload" not in frame:
                    continue
                if frame["type"] == "WINDOW":
                    continue
                checked += check(f"{sequence['name']} step {index}", step["hex"], frame["payload"], True, failures)
    print(json.dumps({"checked": checked, "msgpack": msgpack.version, "failures": failures}))


if __name__ == "__main__":
    main()

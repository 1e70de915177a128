#!/usr/bin/env python3
"""jsoncheck.py MANUAL COMMAND STATUS [--ndjson] < STDOUT: checks what
`abur --json COMMAND ...` wrote on stdout, exiting STATUS, against the
schema abur(8) documents in JSON OUTPUT.  Prints nothing and exits 0 when
it holds; else one line per problem and exits 1.

- exactly one top-level document (--ndjson: one object a line, progress
  events, and the document last);
- "schema" is 1 and "command" is COMMAND ("-": null, no command found);
- an error object is {schema, command, error, code, message} with code the
  exit status (never 0);
- a command's document has the keys its shape below requires;
- every key, at any depth, is in the manual's field table with one of the
  types it gives there (one spelling, one meaning);
- every KEY_epoch has KEY beside it: both null, or KEY the RFC 3339 UTC
  spelling of KEY_epoch; no time is an epoch number without its string.
"""
import datetime
import json
import re
import sys

SCHEMA = 1
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z
TOKEN = re.compile(r"^[A-Za-z0-9-]+$")
ERROR_KEYS = {"schema", "command", "error", "code", "message"}
PROGRESS_KEYS = {"event", "stage", "done", "total", "rate", "eta_s"}

# The keys each command's document must have (its variants by a key they
# carry), and the keys of the objects in its arrays.
SHAPES = {
    "backup": {"components": ["component", "result"]},
    "list": {"generations": ["component", "generation", "valid", "time", "time_epoch"]},
    "status": {"store": None, "components": ["component"], "verdict": None},
    "verify": {"generations": ["component", "generation", "valid", "problem"], "checked": None, "failed": None},
    "restore": {k: None for k in ("component", "generation", "root", "written", "strays", "strays_removed")},
    "export": {k: None for k in ("component", "generation", "time", "trigger", "file", "files", "raw_areas")},
    "ls": {"component": None, "generation": None, "time": None, "trigger": None,
           "entries": ["path", "type", "mode", "size", "mtime", "mtime_epoch"]},
    "diff": {"component": None, "from": None, "to": None, "changes": ["path", "change", "what"],
             "added": None, "deleted": None, "changed": None},
    "seal": {k: None for k in ("device", "generation", "used_bytes", "file_components")},
    "reimage": {k: None for k in ("device", "generation", "update_generation", "update_skipped", "written_bytes",
                                  "file_components")},
    "reimage/dry_run": {"dry_run": None, "disk": None, "partitions": ["number", "start", "size"],
                        "generation": None, "time": None, "update_generation": None,
                        "components": ["component", "generation"], "bytes": None},
    "reimage/settings_only": {"device": None, "settings_only": None, "file_components": None},
    "probe": {"sealed_disk_id": None, "store_found": None, "disks": ["device", "class", "reason"]},
    "config": {"file": None, "flash": None, "components": None},
    "config/key": {"key": None, "value": None},
    "flash": {"device": None, "image": None},
    "version": {"version": None, "board": None, "features": None},
    "agent": {"mode": None, "result": None},
    "forget": {"component": None, "generation": None, "tag": None},
    "prune": {"dry_run": None, "components": ["component", "removed_generations", "problem"]},
}
# Objects whose members are not fields of the table: config's mirror the
# keys of abur.ini(5), version's features are the build's feature names.
OPAQUE = {("config", k) for k in ("flash", "disk", "schedule", "daemon", "restore", "components")}
OPAQUE |= {("version", "features")}

TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list, "null": type(None)}


def field_table(manual):
    """{key: {type names}} from the manual's field table: '.B key' then a
    line '(TYPE[ or TYPE...]) ...', between the '.\\" fields:' markers."""
    text = open(manual, encoding="utf-8").read()
    m = re.search(r'^\.\\" fields:begin$(.*)^\.\\" fields:end$', text, re.M | re.S)
    if not m:
        sys.exit(f"jsoncheck: no field table in {manual}")
    table = {}
    for key, types in re.findall(r"^\.B (\S+)\n\((.*?)\)", m.group(1), re.M):
        table[key.replace("\\-", "-").replace("\\(**", "*")] = set(types.split(" or "))
    return table


def type_name(v):
    for name, t in TYPES.items():
        if type(v) is t:
            return name
    return "?"


class Check:
    def __init__(self, table):
        self.table = table
        self.problems = []

    def bad(self, msg):
        self.problems.append(msg)

    def fields(self, obj, where, command):
        if isinstance(obj, list):
            for i, v in enumerate(obj):
                self.fields(v, f"{where}[{i}]", command)
            return
        if not isinstance(obj, dict):
            return
        for k, v in obj.items():
            at = f"{where}.{k}"
            want = self.table.get("*_epoch" if k.endswith("_epoch") else k)
            if want is None:
                self.bad(f"{at}: not in the manual's field table")
            elif type_name(v) not in want:
                self.bad(f"{at}: {type_name(v)}, the field table says {' or '.join(sorted(want))}")
            self.time(obj, k, v, at)
            if where == "" and (command, k) in OPAQUE:
                continue
            self.fields(v, at, command)

    def time(self, obj, k, v, at):
        if k.endswith("_epoch"):
            base = k[: -len("_epoch")]
            if base not in obj:
                self.bad(f"{at}: no {base} beside it")
            elif v is None or obj[base] is None:
                # null is never, for both; a string null beside a number: a year past 9999
                if (v is None) != (obj[base] is None) and (v is None or 0 <= v <= MAX_TIME):
                    self.bad(f"{at}: {v!r} but {base} is {obj[base]!r}")
            elif not isinstance(obj[base], str) or not RFC3339.match(obj[base]):
                self.bad(f"{at}: {base} is {obj[base]!r}, not RFC 3339 UTC")
            else:
                t = datetime.datetime.fromtimestamp(v, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                if t != obj[base]:
                    self.bad(f"{at}: {v} is {t}, but {base} says {obj[base]}")
        elif isinstance(v, str) and RFC3339.match(v) and k + "_epoch" not in obj:
            self.bad(f"{at}: an RFC 3339 time without {k}_epoch")

    def document(self, doc, command, status):
        if not isinstance(doc, dict):
            return self.bad(f"the document is {type_name(doc)}, not an object")
        if doc.get("schema") != SCHEMA or type(doc.get("schema")) is not int:
            self.bad(f"schema is {doc.get('schema')!r}, not {SCHEMA}")
        want_cmd = None if command == "-" else command
        if doc.get("command", "absent") != want_cmd:
            self.bad(f"command is {doc.get('command', 'absent')!r}, not {want_cmd!r}")
        list(doc)[:2] == ["schema", "command"] or self.bad(f"the document starts {list(doc)[:2]}, not schema, command")
        if "error" in doc:
            self.error(doc, status)
        else:
            self.shape(doc, command)
        self.fields(doc, "", command)

    def error(self, doc, status):
        if set(doc) != ERROR_KEYS:
            self.bad(f"error object keys {sorted(doc)}, not {sorted(ERROR_KEYS)}")
        if not isinstance(doc.get("error"), str) or not TOKEN.match(doc["error"]):
            self.bad(f"error {doc.get('error')!r} is not a token")
        if doc.get("code") != status or status == 0:
            self.bad(f"code {doc.get('code')!r}, but the exit status is {status}")
        if not isinstance(doc.get("message"), str) or not doc["message"]:
            self.bad("message is empty")

    def shape(self, doc, command):
        variant = command
        for v in ("dry_run", "settings_only", "key"):
            if f"{command}/{v}" in SHAPES and v in doc:
                variant = f"{command}/{v}"
        shape = SHAPES.get(variant)
        if shape is None:
            return self.bad(f"{command}: no documented shape")
        for k, inner in shape.items():
            if k not in doc:
                self.bad(f"{variant}: no {k}")
            elif inner is not None:
                if not isinstance(doc[k], list):
                    self.bad(f"{variant}: {k} is not an array")
                    continue
                for i, e in enumerate(doc[k]):
                    for ik in inner:
                        if not isinstance(e, dict) or ik not in e:
                            self.bad(f"{variant}: {k}[{i}] has no {ik}")

    def progress(self, ev, n):
        if set(ev) != PROGRESS_KEYS or ev.get("event") != "progress":
            self.bad(f"line {n}: not a progress event: {ev}")
        self.fields(ev, f"line{n}", None)


def parse_one(text):
    """The one document of text, or raise ValueError."""
    dec = json.JSONDecoder()
    doc, end = dec.raw_decode(text.lstrip())
    rest = text.lstrip()[end:]
    if rest.strip():
        raise ValueError(f"more after the document: {rest[:80]!r}")
    if not text.endswith("\n") or text.count("\n") != 1:
        raise ValueError("the document is not one line")
    return doc


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    manual, command, status = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ndjson = "--ndjson" in sys.argv[4:]
    c = Check(field_table(manual))
    text = sys.stdin.read()
    try:
        if ndjson:
            lines = text.splitlines()
            if not lines:
                raise ValueError("no lines")
            evs = [json.loads(line) for line in lines]
            for n, ev in enumerate(evs[:-1], 1):
                c.progress(ev, n)
            doc = evs[-1]
        else:
            doc = parse_one(text)
    except ValueError as e:
        print(f"jsoncheck {command}: not one JSON document: {e}: {text[:200]!r}")
        return 1
    c.document(doc, command, status)
    for p in c.problems:
        print(f"jsoncheck {command}: {p}")
    return 1 if c.problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Checks the structure of a server's JSON log (LOG_FORMAT=json), as an operator relies on it.

Every "answered" line (one per request) carries the request's id, method, path, status and
latency, and a failed login is logged as a `security` event inside its request's span, so one
id ties the audit line to the request line. Usage: python3 .ci/check_logs.py LOG...
"""

import json
import re
import sys

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check(path: str) -> str:
    answered, security, failed_logins = [], [], []
    with open(path, encoding="utf-8") as log:
        for number, line in enumerate(log, 1):
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as err:
                sys.exit(f"{path}:{number}: not a JSON log line ({err}): {line[:200]}")
            fields, span = entry.get("fields", {}), entry.get("span", {})
            if fields.get("message") == "answered":
                answered.append((number, fields, span))
            if entry.get("target") == "security":
                security.append((number, fields, span))
                if fields.get("event") == "login_failed":
                    failed_logins.append((number, fields, span))
    if not answered:
        sys.exit(f"{path}: no request was logged; the check would prove nothing")
    for number, fields, span in answered:
        missing = [k for k in ("request_id", "method", "path") if k not in span]
        missing += [k for k in ("status",) if k not in fields]
        if missing or not UUID.match(str(span.get("request_id", ""))):
            sys.exit(f"{path}:{number}: request line without {missing or 'a UUID request_id'}")
    if not failed_logins:
        sys.exit(f"{path}: the browser tests fail logins on purpose, but no security event says so")
    for number, _, span in failed_logins:
        if not UUID.match(str(span.get("request_id", ""))):
            sys.exit(f"{path}:{number}: a failed-login event outside its request's span")
    return (
        f"ok: {path}: {len(answered)} request lines with id, method, path and status; "
        f"{len(security)} security events, {len(failed_logins)} failed logins tied to a request id"
    )


if __name__ == "__main__":
    for log_path in sys.argv[1:]:
        print(check(log_path))

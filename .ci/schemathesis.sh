#!/usr/bin/env bash
# A short Schemathesis pass against a running Plaza, driven by its own OpenAPI document.
#
#   PLAZA_URL=http://127.0.0.1:18181 PLAZA_TOKEN=<a user's JWT> .ci/schemathesis.sh
#
# Checks: no 5xx (`not_a_server_error`), answers match the documented schemas and
# content types. The per-operation example count is bounded so the pass takes a couple
# of minutes on two cores; PLAZA_SCHEMATHESIS_EXAMPLES changes it.
#
# Before the pass, a space with a chat, a post and a comment (and a spare space and chat
# for the deleting operations) is created as the token's user; path parameters take
# their ids most of the time, so the pass gets past the 404s.
#
# Left out: POST /api/auth/logout (it would revoke the token the pass runs with) and the
# deprecated `/api/topics` copies (the same handlers as `/api/spaces`;
# PLAZA_SCHEMATHESIS_DEPRECATED=1 includes them). Extra arguments go to `schemathesis run`.
set -euo pipefail

: "${PLAZA_URL:?PLAZA_URL: the base URL of a running Plaza, e.g. http://127.0.0.1:18181}"
: "${PLAZA_TOKEN:?PLAZA_TOKEN: a JWT of a user on that server}"
PLAZA_URL="${PLAZA_URL%/}"

VERSION="4.32.5"
VENV="${HOME}/.cache/plaza-ci-clients/schemathesis"
if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $VERSION" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION"
fi

REPORTS="${PLAZA_SCHEMATHESIS_REPORTS:-${HOME}/.cache/plaza-ci-clients/schemathesis-report}"
mkdir -p "$REPORTS"

# Real data to reach past the 404s (see above).
CONFIG="$REPORTS/schemathesis.toml"
"$VENV/bin/python" - "$CONFIG" <<'PY'
import json, os, sys, urllib.request

base, auth = os.environ["PLAZA_URL"], "jwt " + os.environ["PLAZA_TOKEN"]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", auth)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)

me = call("GET", "/api/users/me")
topic = {"topic": {"title": "Schemathesis", "type": "group"}, "invitees": []}
space = call("POST", "/api/spaces/invite", topic)["data"][0]["topicId"]
chat = call("POST", f"/api/spaces/{space}/chats", {"content": {"bodyText": "hello"}})["data"]["_id"]
idea = call("POST", f"/api/spaces/{space}/ideas", {"content": {"bodyText": "a post"}})["data"]["_id"]
call("POST", f"/api/spaces/{space}/chats", {"content": {"bodyText": "a comment"}, "parentMsg": idea})
# What deleting or archiving may consume, so the rest keeps its data.
spare = call("POST", "/api/spaces/invite", topic)["data"][0]["topicId"]
spare_chat = call("POST", f"/api/spaces/{spare}/chats", {"content": {"bodyText": "hi"}})["data"]["_id"]

values = {
    "space_id": [space],
    "message_id": [chat, idea],
    "user": ["me", me["_id"]],
    "user_id": [me["_id"]],
    "email": [me["username"]],
    "spare_space": [spare],
    "spare_message": [spare_chat],
}
spares = {
    "deleteSpace": ("space_id", "spare_space"),
    "updateSpace": ("space_id", "spare_space"),
    "removeMember": ("space_id", "spare_space"),
    "deleteMessage": ("message_id", "spare_message"),
}
with open(sys.argv[1], "w") as config:
    for name, found in values.items():
        config.write(f"[dictionaries.{name}]\nvalues = {json.dumps(found)}\n\n")
    config.write("[parameters]\n")
    for name in values:
        if not name.startswith("spare_"):
            config.write(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}\n')
    for operation, (name, dictionary) in spares.items():
        config.write(f'\n[[operations]]\ninclude-operation-id = "{operation}"\n')
        config.write(f'parameters = {{ "path.{name}" = {{ dictionary = "{dictionary}", probability = 0.8 }} }}\n')
PY

OPTIONAL=()
[ "${PLAZA_SCHEMATHESIS_DEPRECATED:-0}" = 1 ] || OPTIONAL+=(--exclude-deprecated)

# Schemathesis keeps its crash cache in the working directory: keep it with the reports.
cd "$REPORTS"
exec "$VENV/bin/schemathesis" --config-file "$CONFIG" run "$PLAZA_URL/api/openapi.json" \
  --url "$PLAZA_URL" \
  --header "Authorization: jwt $PLAZA_TOKEN" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${PLAZA_SCHEMATHESIS_EXAMPLES:-10}" \
  --workers 2 \
  --request-timeout 10 \
  "${OPTIONAL[@]}" \
  --exclude-operation-id logout \
  --seed "${PLAZA_SCHEMATHESIS_SEED:-1}" \
  --no-color \
  --report junit --report-dir "$REPORTS" \
  "$@"

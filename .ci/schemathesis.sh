#!/usr/bin/env bash
# A short Schemathesis pass against a running Plaza, driven by its own OpenAPI document.
#
#   PLAZA_URL=http://127.0.0.1:18181 PLAZA_TOKEN=<a user's JWT> .ci/schemathesis.sh
#
# Checks: no 5xx (`not_a_server_error`), answers match the documented schemas and
# content types. The per-operation example count is bounded so the pass takes a couple
# of minutes on two cores; PLAZA_SCHEMATHESIS_EXAMPLES changes it.
#
# Left out: POST /api/auth/logout (it would revoke the token the pass runs with) and the
# deprecated `/api/topics` copies (the same handlers as `/api/spaces`).
set -euo pipefail
cd "$(dirname "$0")/.."

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

exec "$VENV/bin/schemathesis" run "$PLAZA_URL/api/openapi.json" \
  --url "$PLAZA_URL" \
  --header "Authorization: jwt $PLAZA_TOKEN" \
  --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${PLAZA_SCHEMATHESIS_EXAMPLES:-20}" \
  --workers 2 \
  --request-timeout 10 \
  --exclude-deprecated \
  --exclude-operation-id logout \
  --seed "${PLAZA_SCHEMATHESIS_SEED:-1}" \
  --no-color \
  --report junit --report-dir "$REPORTS" \
  "$@"

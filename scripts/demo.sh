#!/usr/bin/env bash
# Load a fake Zendesk account into DuckDB twice: a full export, then only the changes.
#
#   bash scripts/demo.sh
#
# Sets up .venv and the Meltano plugins like scripts/test.sh, starts the fake
# Zendesk server with 2,000 tickets on a free port of 127.0.0.1, and runs
# `meltano run tap-zendesk-incremental target-duckdb` into demo/warehouse.duckdb.
# Between the runs it updates 25 tickets and creates 10. The Meltano state of the
# demo lives in a temporary folder, so every demo starts from an empty bookmark.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/setup.sh
setup_venv
install_plugins tap-zendesk-incremental target-duckdb

work_dir="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work_dir"
}
trap cleanup EXIT

.venv/bin/python -m fake_zendesk --port 0 --tickets 2000 --seed 7 \
    --email agent@example.com --api-token demo-token \
    >"$work_dir/server.out" 2>"$work_dir/server.log" &
server_pid=$!

url=""
for _ in $(seq 1 100); do
    url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work_dir/server.out" || true)"
    if [[ -n "$url" ]]; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if [[ -z "$url" ]]; then
    echo "demo.sh: the fake Zendesk server did not start:" >&2
    cat "$work_dir/server.log" >&2
    exit 1
fi
echo "Fake Zendesk account with 2,000 tickets at $url"

mkdir -p demo
database="$PWD/demo/warehouse.duckdb"
rm -f "$database" "$database.wal"
export ZENDESK_API_URL="$url"
export MELTANO_DATABASE_URI="sqlite:///$work_dir/meltano.db"
export TARGET_DUCKDB_FILEPATH="$database"

# Runs the pipeline with JSON logs in $work_dir/NAME.log and prints the
# number of tickets that the tap read, from its record_count metrics.
run_pipeline() {
    local log="$work_dir/$1.log"
    if ! .venv/bin/meltano --log-format=json run tap-zendesk-incremental \
        target-duckdb 2>"$log"; then
        echo "demo.sh: meltano run failed; the last log lines:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    .venv/bin/python - "$log" <<'EOF'
import json
import sys

total = 0
with open(sys.argv[1]) as log:
    for line in log:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        metric = event.get("metric_info") if isinstance(event, dict) else None
        if (
            event.get("string_id") == "tap-zendesk-incremental"
            and isinstance(metric, dict)
            and metric.get("metric") == "record_count"
            and metric.get("tags", {}).get("stream") == "tickets"
        ):
            total += int(metric["value"])
print(total)
EOF
}

# Sends POST /_fake/ACTION?count=N to the fake server and prints the ticket count.
change_tickets() {
    .venv/bin/python - "$url/_fake/$1?count=$2" <<'EOF'
import json
import sys
import urllib.request

request = urllib.request.Request(sys.argv[1], method="POST")
with urllib.request.urlopen(request, timeout=30) as response:
    print(len(json.load(response)["ticket_ids"]))
EOF
}

echo "Run 1: full export into $database ..."
first_read="$(run_pipeline run1)"

updated="$(change_tickets update 25)"
created="$(change_tickets create 10)"
echo "Changed the account: $updated tickets updated, $created created"

echo "Run 2: incremental export from the stored bookmark ..."
second_read="$(run_pipeline run2)"

rows="$(.meltano/loaders/target-duckdb/venv/bin/python - "$database" <<'EOF'
import sys

import duckdb

connection = duckdb.connect(sys.argv[1], read_only=True)
print(connection.execute("SELECT count(*) FROM zendesk.tickets").fetchone()[0])
EOF
)"

echo
echo "Tickets read in run 1 (full export):   $first_read"
echo "Tickets read in run 2 (incremental):   $second_read"
echo "  (the changed tickets, plus any unchanged ticket that shares the"
echo "  bookmark's second, because the export's start_time is inclusive)"
echo "Rows in zendesk.tickets:               $rows"
echo "DuckDB file: $database"

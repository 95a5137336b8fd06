#!/usr/bin/env bash
# The manual path a cooperative's IT person, a teller, a member and a regulator
# take, with the kopnet binary only. Run by tests/manual_path.rs.
set -euo pipefail
K=${KOPNET:?set KOPNET to the kopnet binary}
D=$(mktemp -d)
pids=()
# Stop what is still running: SIGTERM (nodes shut down cleanly), then, past
# a deadline, SIGKILL; reap each so the shell reports nothing.
cleanup() {
  local p deadline=$((SECONDS + 20))
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$D"
}
trap cleanup EXIT

# On failure, every node's log tail goes with the message: the cause is in there.
fail() {
  echo "FAIL: $*" >&2
  for log in "$D"/net/*/node.log; do
    [ -f "$log" ] || continue
    echo "--- last lines of $log" >&2
    tail -n 30 "$log" >&2
  done
  exit 1
}
# Wait (with a deadline) until a command's output matches a pattern.
wait_for() { # seconds pattern command...
  local deadline=$((SECONDS + $1)) pattern=$2; shift 2
  until "$@" 2>/dev/null | grep -- "$pattern" > /dev/null; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for '$pattern' from: $*"
    sleep 0.2
  done
}
json_field() { # field, reads one JSON line on stdin
  python3 -c "import json,sys; v=json.load(sys.stdin); print(v$1)"
}

# Settlement windows close every 5 s (the genesis's schedule).
"$K" testnet init --dir "$D/net" --validators 4 --observers 1 --window-secs 5 > "$D/init.txt"
N=$D/net
api() { python3 -c "import json; print([n['api_url'] for n in json.load(open('$N/testnet.json'))['nodes'] if n['id']=='$1'][0])"; }
KSP=$(api ksp-sejahtera); PASAR=$(api pasar-makmur); OBS=$(api observer-0)
for home in "$N"/node-* "$N"/observer-0; do
  "$K" node run --home "$home" > "$home/node.log" 2>&1 &
  pids+=($!)
done
for url in "$KSP" "$PASAR" "$OBS"; do
  wait_for 120 '"height":[1-9]' "$K" status --node "$url" --output json
done
echo "network up"

A=$("$K" keys show "$N/wallets/ksp-anggota-1.key")
[ "$("$K" keys show --output json "$N/wallets/ksp-anggota-1.key" | json_field "['address']")" = "$A" ] \
  || fail "keys show --output json"
M=$("$K" keys show "$N/wallets/pasar-pedagang.key")
"$K" coop register-member --key "$N/coops/ksp-sejahtera/cooperative.key" --node "$KSP" --member "$A"
"$K" coop mint --key "$N/coops/ksp-sejahtera/cooperative.key" --node "$KSP" --member "$A" --amount Rp100.000
"$K" coop register-member --key "$N/coops/pasar-makmur/cooperative.key" --node "$PASAR" --member "$M" --merchant

# The merchant's phone-less wallet follows incoming payments.
"$K" wallet watch --key "$N/wallets/pasar-pedagang.key" --node "$PASAR" --output json > "$D/watch.jsonl" 2> "$D/watch.err" &
pids+=($!)
wait_for 30 'watching' cat "$D/watch.err"
# A member of the savings cooperative pays a market trader of another cooperative.
"$K" wallet pay --key "$N/wallets/ksp-anggota-1.key" --node "$KSP" --to "$M" --amount 25.000 --memo bakso
# Balances through the observer (the regulator's view): 0.7 % merchant discount.
wait_for 30 '"balance":24825' "$K" wallet balance --key "$N/wallets/pasar-pedagang.key" --node "$OBS" --output json
wait_for 30 '"kind":"payment"' cat "$D/watch.jsonl"
grep -q "\"from\":\"$A\"" "$D/watch.jsonl" || fail "watch did not show the payer: $(cat "$D/watch.jsonl")"
member=$("$K" wallet balance --key "$N/wallets/ksp-anggota-1.key" --node "$OBS" --output json | json_field "['balance']")
[ "$member" = 75000 ] || fail "member balance $member, expected 75000"
history=$("$K" wallet history --key "$N/wallets/ksp-anggota-1.key" --node "$KSP")
echo "$history" | grep payment > /dev/null || fail "history lacks the payment: $history"

# The open window's report says when it closes; no cooperative can close it.
"$K" settlement report --node "$OBS" | grep -q "windows close every 5 s" || fail "report lacks the schedule"
# The window (the payment was its only money movement) closes at the next
# cut-off; read the settlement report of window 0.
wait_for 30 'awaiting acknowledgements' "$K" settlement report --node "$OBS" --window 0 --matrix
"$K" settlement report --node "$OBS" --window 0
# Positions: ksp owes 25.000 minus the 75 fee it earned; pasar is owed 24.900.
report=$("$K" settlement report --node "$OBS" --window 0 --format json)
ksp_pos=$(echo "$report" | json_field "['rows'][[r['cooperative'] for r in v['rows']].index('ksp-sejahtera')]['net_position']")
pasar_pos=$(echo "$report" | json_field "['rows'][[r['cooperative'] for r in v['rows']].index('pasar-makmur')]['net_position']")
[ "$ksp_pos" = -24925 ] || fail "ksp position $ksp_pos, expected -24925"
[ "$pasar_pos" = 24900 ] || fail "pasar position $pasar_pos, expected 24900"
# The bilateral matrix as CSV: one header, antisymmetric cells.
"$K" settlement report --node "$OBS" --window 0 --format csv --matrix > "$D/matrix.csv"
python3 - "$D/matrix.csv" <<'PY' || fail "bilateral matrix CSV"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
ids = rows[0][1:]
m = {r[0]: dict(zip(ids, map(int, r[1:]))) for r in rows[1:]}
assert rows[0][0] == "cooperative" and set(m) == set(ids), rows
assert all(m[a][b] == -m[b][a] for a in ids for b in ids), m
assert m["ksp-sejahtera"]["pasar-makmur"] < 0, m
PY
"$K" coop ack-settlement --key "$N/coops/ksp-sejahtera/cooperative.key" --node "$KSP" --window 0
"$K" coop ack-settlement --key "$N/coops/pasar-makmur/cooperative.key" --node "$PASAR" --window 0
wait_for 30 'settled' "$K" settlement report --node "$OBS" --window 0

# Governance: the savings cooperative proposes a higher net debit cap for the
# market traders; two more cooperatives approve (3 of 4 voting power > 2/3).
proposed=$("$K" coop propose --key "$N/coops/ksp-sejahtera/cooperative.key" --node "$KSP" \
  set-ndc --id pasar-makmur --ndc Rp75.000.000)
echo "$proposed"
pid=$(echo "$proposed" | sed -n 's/^proposal \([0-9]*\) .*/\1/p')
[ -n "$pid" ] || fail "propose did not print the proposal id: $proposed"
echo "$proposed" | grep -q "open" || fail "a lone approval executed: $proposed"
"$K" coop approve --key "$N/coops/pasar-makmur/cooperative.key" --node "$PASAR" "$pid" | grep -q "open" \
  || fail "2 of 4 approvals executed"
"$K" coop approve --key "$N/coops/angkot-maju/cooperative.key" --node "$(api angkot-maju)" "$pid" \
  | grep -q "executed at height" || fail "3 of 4 approvals did not execute"
"$K" coop proposals --node "$OBS" --output json \
  | json_field "['proposals'][0]['status']" | grep -qx executed || fail "proposals list"
wait_for 30 'ndc_headroom":75000000' "$K" settlement report --node "$OBS" --format json

# The regulator replays everything from genesis, over the API ...
"$K" audit verify --node "$OBS" --key "$N/observer-0/node.key" | tee "$D/audit.txt"
grep '^OK height=' "$D/audit.txt" > /dev/null || fail "audit did not print OK"
# ... and offline from a stopped node's own store.
kill -TERM "${pids[4]}"
wait "${pids[4]}" || fail "the observer did not stop cleanly"
"$K" audit verify --home "$N/observer-0" | tee "$D/audit-offline.txt"
grep '^OK height=' "$D/audit-offline.txt" > /dev/null || fail "offline audit did not print OK"

# Bad input: one clear line, non-zero exit, never a panic.
bad() { # expected-substring, command...
  local expect=$1; shift
  if out=$("$@" 2>&1); then fail "expected failure: $*"; fi
  echo "$out" | grep -qi -- "$expect" || fail "expected '$expect' in: $out"
  if echo "$out" | grep -q panicked; then fail "panic: $out"; fi
  [ "$(echo "$out" | grep -c .)" -le 2 ] || fail "more than one line of error: $out"
  echo "ok (rejected): $(echo "$out" | tail -1)"
}
W=(--key "$N/wallets/ksp-anggota-1.key" --node "$KSP")
bad "unknown account" "$K" wallet pay "${W[@]}" --to "$("$K" keys show "$N/wallets/taksi-anggota-2.key")" --amount 1000
# Change the address's last character (to one it is not) so its checksum breaks.
last=${M: -1}; swap=x; [ "$last" != x ] || swap=y
bad "checksum" "$K" wallet pay "${W[@]}" --to "${M%?}$swap" --amount 1000
bad "not a whole number" "$K" wallet pay "${W[@]}" --to "$M" --amount 12abc
bad "more than zero" "$K" wallet pay "${W[@]}" --to "$M" --amount -5
bad "more than zero" "$K" wallet pay "${W[@]}" --to "$M" --amount 0
bad "cannot reach node" "$K" wallet balance --key "$N/wallets/ksp-anggota-1.key" --node http://127.0.0.1:1
bad "not a valid node URL" "$K" status --node notaurl
bad "cannot read key file" "$K" wallet balance --key "$D/missing.key" --node "$KSP"
bad "insufficient funds" "$K" wallet pay "${W[@]}" --to "$M" --amount Rp1.000.000
# A proposal past a bound is refused when it is made (the chain goes on).
bad "voting_power_out_of_range" "$K" coop propose --key "$N/coops/ksp-sejahtera/cooperative.key" --node "$KSP" \
  set-voting-power --id pasar-makmur --voting-power 18446744073709551615
bad "settlement_schedule_out_of_range" "$K" coop propose --key "$N/coops/ksp-sejahtera/cooperative.key" --node "$KSP" \
  set-settlement-schedule --every 1s
echo "manual path OK"

#!/usr/bin/env bash
# The `prom gen ts` test (docs/schemas.md, "TypeScript"; ctest label `ts`): generates types
# for the built-in topics, compiles a program against them with `tsc --noEmit` (then runs it:
# the runtime validators), and shows that a wrong field, a wrong type and an unknown topic
# do not compile.
#
#   tests/ts/gen_ts_test.sh PROM_BINARY
#
# tsc is the TypeScript client's (clients/ts/node_modules; scripts/setup.sh installs it with npm).
set -euo pipefail

prom=${1:?usage: gen_ts_test.sh PROM_BINARY}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tsc=$here/../../clients/ts/node_modules/.bin/tsc
[[ -x $tsc ]] || { echo "no TypeScript compiler at $tsc: run scripts/setup.sh" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

"$prom" gen ts --db memory: --out "$work/gen" >"$work/gen.out" || fail "prom gen ts exited $?"
[[ -f $work/gen/topics.ts && -f $work/gen/validate.ts ]] || fail "gen wrote $(ls "$work/gen")"
grep -q '"heartbeat.received": HeartbeatReceived;' "$work/gen/topics.ts" || fail "no heartbeat type"
grep -q '"process.state": ProcessState;' "$work/gen/topics.ts" || fail "no process.state type"
# The built-in types accept what the process projector accepts (docs/process-projector.md):
# a pid that is any number or a string, cpu_pct and mem_mb of any JSON value.
grep -q 'pid: (number | string);' "$work/gen/topics.ts" || fail "heartbeat pid is not number | string"
grep -q 'cpu_pct?: unknown;' "$work/gen/topics.ts" || fail "cpu_pct is narrower than any value"

# --topic keeps only the matching topics.
"$prom" gen ts --db memory: --topic 'process.*' --out "$work/only" >/dev/null
grep -q 'ProcessState' "$work/only/topics.ts" || fail "--topic dropped process.state"
! grep -q 'HeartbeatReceived' "$work/only/topics.ts" || fail "--topic kept heartbeat.received"
"$prom" gen ts --db memory: --topic 'nothing.*' --out "$work/none" 2>/dev/null && fail "no match must fail"

compile() {  # compile FILE [--noEmit]: runs tsc on FILE with the test's compiler options
    local file=$1
    shift
    cp "$here/$file" "$work/program.ts"
    cp "$here/tsconfig.json" "$work/tsconfig.json"
    (cd "$work" && "$tsc" -p tsconfig.json "$@")
}

echo '{"type":"module"}' >"$work/package.json"
compile good.ts --noEmit || fail "good.ts does not compile"
echo "ok: good.ts compiles with tsc --noEmit"
compile good.ts || fail "good.ts does not build"
node "$work/out/program.js" || fail "the runtime checks of good.ts"
echo "ok: good.ts runs (runtime validators)"

# The wrapper around the real client (clients/ts): its options and result types come through.
client_src=$(cd "$here/../../clients/ts/src" && pwd)
cp "$here/with_client.ts" "$work/program.ts"
sed "s|CLIENT_SRC|$client_src|g" "$here/tsconfig.client.json" >"$work/tsconfig.json"
(cd "$work" && "$tsc" -p tsconfig.json) || fail "with_client.ts does not compile against clients/ts"
echo "ok: with_client.ts compiles against @prom/client (clients/ts)"

for bad in wrong_field.ts:hots wrong_type.ts:boolean unknown_topic.ts:heartbeat.recieved; do
  file=${bad%%:*}
  word=${bad#*:}
  if compile "$file" --noEmit >"$work/tsc.out" 2>&1; then
    fail "$file compiled, but must not"
  fi
  grep -q "error TS" "$work/tsc.out" || fail "$file: no TypeScript error: $(cat "$work/tsc.out")"
  grep -q -- "$word" "$work/tsc.out" || fail "$file: the error does not name '$word': $(cat "$work/tsc.out")"
  echo "ok: $file does not compile: $(grep -m1 'error TS' "$work/tsc.out")"
done
# Topics named like the standard library's types, `__proto__`, and what the validator must
# read as the server does (odd_names.ts says what).
db="sqlite:$work/odd.db"
printf '%s' '{"type":"object","properties":{"arr":{"type":"array","items":[{"type":"string"},{"type":"number"}]}}}' >"$work/array.json"
printf '%s' '{"type":"object","additionalProperties":false,"properties":{"a":{"type":"number"}}}' >"$work/record.json"
printf '%s' '{"type":"object","required":["toString"]}' >"$work/promise.json"
printf '%s' '{"type":"object","properties":{"s":{"type":"string","pattern":"^a\\:b$"},"e":{"type":"string","pattern":"^\\:.\\-.}$"}}}' >"$work/parameters.json"
printf '%s' '{"type":"object","properties":{"__proto__":{"type":"number"}}}' >"$work/proto.json"
printf '%s' '{"type":"object","definitions":{"pos":{"type":"number"}},"properties":{"a":{"$ref":"#/definitions//pos"},"b":{"$ref":"#/definitions/pos/"}}}' >"$work/refs.json"
printf '%s' '{"type":"object","properties":{"nt":{"properties":{"q":{"type":"string"}},"required":["q"]}}}' >"$work/loose.json"
printf '%s' '{"type":"object","properties":{"even":{"type":"integer","multipleOf":2},"s":{"type":"string"},"n":{"type":"number"}}}' >"$work/exact.json"
printf '%s' '{"type":"object","properties":{"u":{"type":"array","uniqueItems":true},"t":{"type":"array","items":[{"type":"number"}],"additionalItems":false},"n":{"type":"object","propertyNames":{"pattern":"^[a-z]+$"}},"d":{"type":"object","dependencies":{"a":["b"]}}}}' >"$work/paths.json"
printf '%s' '{"type":"object"}' >"$work/bare.json"
printf '%s' '{"type":"object","properties":{"e":{"type":"string","enum":["a",1,null]},"n":{"type":["integer","null"],"enum":[1,1.5,null,"x"]}}}' >"$work/enumtyped.json"
printf '%s' '{"type":"object","properties":{"toString":{"type":"string"},"valueOf":{"type":"number"}}}' >"$work/inherits.json"
for t in array record promise parameters refs loose exact paths bare enumtyped inherits; do
  "$prom" schema set "$t" "$work/$t.json" --db "$db" >/dev/null || fail "schema set $t"
done
"$prom" schema set __proto__ "$work/proto.json" --db "$db" >/dev/null || fail "schema set __proto__"
"$prom" gen ts --db "$db" --out "$work/gen" >/dev/null || fail "gen ts with odd names"
compile odd_names.ts --noEmit || fail "odd_names.ts does not compile"
compile odd_names.ts || fail "odd_names.ts does not build"
node "$work/out/program.js" || fail "the runtime checks of odd_names.ts"
echo "ok: odd_names.ts compiles and runs (built-in type names, __proto__, tuples, own properties)"

echo "gen_ts_test: all checks passed"

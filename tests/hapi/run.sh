#!/usr/bin/env bash
# Build (when needed) and run the HAPI FHIR JPA test server (R4, H2 in memory) on loopback.
#
#   bash tests/hapi/run.sh               build if stale, start, print the base URL once
#                                        /fhir/metadata answers, then stay in the foreground
#   bash tests/hapi/run.sh --build-only  build if stale, then exit
#
# Environment: HAPI_PORT (default 8080), HAPI_VALIDATE=1 (validate every write),
# HAPI_PACKAGE=/abs/path/package.tgz (FHIR package whose profiles the validator knows),
# HAPI_HEAP (default 1g), HAPI_START_TIMEOUT seconds (default 300), JAVA (default: java on
# PATH, which must be 17+), MVN (default mvn).
# The server's log goes to stderr; stdout carries only the base URL line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="$here/target"
jar="$target/hapi-testserver.jar"
# The server runs from the fat jar unpacked into plain jars (target/app-<time>/): the JVM
# loads classes from ordinary jar files faster than through Spring Boot's nested-jar loader,
# and a rebuild never touches a directory a running server uses. Maven rewrites
# hapi-testserver.jar in place, which would pull the classes from under a server started
# from it (other sessions on this machine use the same checkout).
current="$target/app-current"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"

build_only=0
case "${1:-}" in
  --build-only) build_only=1 ;;
  "") ;;
  *) echo "usage: $0 [--build-only]" >&2; exit 2 ;;
esac

stale() {
  [[ ! -f "$jar" ]] && return 0
  # Anything under src/ or the pom newer than the jar means a rebuild.
  [[ -n "$(find "$here/pom.xml" "$here/src" -newer "$jar" -print -quit)" ]]
}

build() {
  mkdir -p "$target"
  # Two test sessions starting at once must not run Maven into the same target/ together.
  exec 9>"$target/.build.lock"
  flock 9
  if stale; then
    echo "building $jar" >&2
    "$MVN" -q -B -f "$here/pom.xml" package -DskipTests >&2
  fi
  if [[ ! -f "$current/.extracted" || "$jar" -nt "$current/.extracted" ]]; then
    local dir="$target/app-$(date +%s%N)"
    "$JAVA" -Djarmode=tools -jar "$jar" extract --destination "$dir" >&2
    touch "$dir/.extracted"
    ln -sfn "$(basename "$dir")" "$current.new"
    mv -T "$current.new" "$current"
  fi
  # Remove older unpacked builds that no running process has on its command line.
  local keep d
  keep="$(readlink -f "$current")"
  for d in "$target"/app-[0-9]*; do
    [[ "$d" == "$keep" ]] && continue
    grep -qsF -- "$d/" /proc/[0-9]*/cmdline || rm -rf -- "$d"
  done
  exec 9>&-
}

build
[[ $build_only == 1 ]] && exit 0

port="${HAPI_PORT:-8080}"
base="http://127.0.0.1:$port/fhir"

# C1 only and the serial collector: on 2 cores the C2 compiler threads and G1's concurrent
# work compete with start-up itself (measured here: the default JVM took 2-3 times as long
# to answer /metadata, and 400 MB more RSS); a test server never runs long enough for C2's
# faster code to pay that back.
"$JAVA" "-Xmx${HAPI_HEAP:-1g}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -jar "$(readlink -f "$current")/hapi-testserver.jar" --server.port="$port" >&2 &
pid=$!
# Stopping this script stops the server with it.
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

deadline=$((SECONDS + ${HAPI_START_TIMEOUT:-300}))
until curl -sf -o /dev/null --max-time 5 "$base/metadata"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "HAPI server exited before answering $base/metadata" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "HAPI server did not answer $base/metadata in ${HAPI_START_TIMEOUT:-300} s" >&2
    exit 1
  fi
  sleep 0.5
done
echo "$base"
wait "$pid"

#!/usr/bin/env bash
# Maven artifacts (~/.m2) for the Java test kit (kits/java): its dependencies, its plugins and
# Surefire's JUnit provider, so that tests/container/test_kit_java.py runs `mvn -o` (offline).
# Idempotent: skipped while kits/java/pom.xml is unchanged.
set -euo pipefail
echo "scripts/deps/56-kit-java.sh: Maven artifacts of the Java kit (tests/container/test_kit_java.py); skipped while kits/java/pom.xml is unchanged" >&2
cd "$(dirname "$0")/../.."
KIT="$PWD/kits/java"

missing=()
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp() { cat "$@" | sha256sum | cut -c1-16; }

m2="$HOME/.m2/repository"
kit_stamp="$m2/.cloudtasks-emu-kit-java-$(stamp "$KIT/pom.xml")"
if [ ! -f "$kit_stamp" ]; then
  # go-offline for the declared plugins, then a test run that selects no test: Surefire resolves its
  # JUnit provider only when it runs.
  (cd "$KIT" && mvn -B -q dependency:go-offline \
    && mvn -B -q test -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false)
  touch "$kit_stamp"
fi

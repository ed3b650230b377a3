#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the tools it needs at pinned
# versions, then checks formatting, vets, lints the API, and runs every test
# with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

export PATH="$(go env GOPATH)/bin:$PATH"

need() { # need TOOL VERSION-STRING PACKAGE@VERSION
	if ! command -v "$1" >/dev/null 2>&1 || ! "$1" --version 2>&1 | grep -q -- "$2"; then
		echo "installing $3"
		go install "$3"
	fi
}
need buf "${BUF_VERSION#v}" "github.com/bufbuild/buf/cmd/buf@${BUF_VERSION}"
need protoc-gen-go "${PROTOC_GEN_GO_VERSION}" "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
need protoc-gen-go-grpc "${PROTOC_GEN_GO_GRPC_VERSION#v}" "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
echo "== buf lint"
buf lint
# ---- BEGIN systemd-analyze for the unit test of deploy/systemd ----
# cmd/hartd's TestSystemdUnitVerifies runs `systemd-analyze verify` on
# deploy/systemd/hartd.service; it fails in CI without the tool. Debian's
# systemd package brings it (installing it starts nothing in a container).
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "== installing systemd (for systemd-analyze)"
	if [ "$(id -u)" -ne 0 ]; then
		echo "installing systemd needs root: apt-get install --no-install-recommends systemd" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
# ---- END systemd-analyze ----
echo "== go test -race"
go test -race -timeout 20m ./...

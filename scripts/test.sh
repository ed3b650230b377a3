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
# ---- BEGIN PostgreSQL + PostGIS for internal/store/postgres ----
# The PostgreSQL store's tests run against HARTD_TEST_POSTGRES_DSN. When it
# is not set: install Debian's PostgreSQL 15 and PostGIS 3 if they are
# missing, start a throwaway cluster on 127.0.0.1 only, port
# HARTD_TEST_POSTGRES_PORT (else 54329 or the next free one), trust auth,
# superuser "hartd" (initdb's bootstrap user), and export the DSN. The
# cluster is stopped and its directory removed on exit: a later EXIT trap
# must call hartd_pg_stop too.
# The binaries are Debian's, named by path: /usr/local/bin may hold others.
if [ -z "${HARTD_TEST_POSTGRES_DSN:-}" ]; then
	hartd_pg_bin=/usr/lib/postgresql/15/bin
	if [ ! -x "$hartd_pg_bin/postgres" ] || [ ! -f /usr/share/postgresql/15/extension/postgis.control ]; then
		echo "== installing postgresql-15 and postgresql-15-postgis-3"
		if [ "$(id -u)" -ne 0 ]; then
			echo "installing them needs root; or set HARTD_TEST_POSTGRES_DSN to a server with PostGIS" >&2
			exit 1
		fi
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			postgresql-15 postgresql-15-postgis-3 >/dev/null
	fi
	hartd_pg_port=${HARTD_TEST_POSTGRES_PORT:-54329}
	if [ -z "${HARTD_TEST_POSTGRES_PORT:-}" ]; then
		# Step past ports in use (a cluster left by a killed run, say).
		while (echo >"/dev/tcp/127.0.0.1/$hartd_pg_port") 2>/dev/null && [ "$hartd_pg_port" -lt 54349 ]; do
			hartd_pg_port=$((hartd_pg_port + 1))
		done
	fi
	hartd_pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/hartd-pg.XXXXXX")
	hartd_pg_as() { "$@"; }
	if [ "$(id -u)" -eq 0 ]; then
		# root may not run postgres: the cluster belongs to the postgres user.
		id postgres >/dev/null 2>&1 || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin postgres
		chown postgres: "$hartd_pg_dir"
		hartd_pg_as() { runuser -u postgres -- "$@"; }
	fi
	hartd_pg_stop() {
		hartd_pg_as "$hartd_pg_bin/pg_ctl" -D "$hartd_pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$hartd_pg_dir"
	}
	trap hartd_pg_stop EXIT
	echo "== PostgreSQL on 127.0.0.1:$hartd_pg_port"
	hartd_pg_as "$hartd_pg_bin/initdb" -D "$hartd_pg_dir/data" -U hartd --auth=trust --no-sync -E UTF8 --no-locale \
		>"$hartd_pg_dir/initdb.log" 2>&1 || { cat "$hartd_pg_dir/initdb.log"; exit 1; }
	# The role hartd_pwtest must give a password (the wrong-password test);
	# everything else is trusted.
	printf '%s\n' 'local all all trust' 'host all hartd_pwtest 127.0.0.1/32 scram-sha-256' \
		'host all all 127.0.0.1/32 trust' >"$hartd_pg_dir/data/pg_hba.conf"
	hartd_pg_as "$hartd_pg_bin/pg_ctl" -D "$hartd_pg_dir/data" -l "$hartd_pg_dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $hartd_pg_port -k $hartd_pg_dir" start >/dev/null ||
		{ cat "$hartd_pg_dir/server.log"; exit 1; }
	export HARTD_TEST_POSTGRES_DSN="postgres://hartd@127.0.0.1:$hartd_pg_port/postgres?sslmode=disable"
fi
# ---- END PostgreSQL + PostGIS ----
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

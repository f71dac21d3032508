#!/usr/bin/env bash
# Debian's docker-registry (CNCF distribution 2.8) as an upstream/origin OCI registry.
#   docker-registry.sh install
#   docker-registry.sh start  [INSTANCE] [--tls] [--htpasswd]
#   docker-registry.sh stop   [INSTANCE | --all]     (--all: every instance that has a pid file)
#   docker-registry.sh status [INSTANCE]
# Several instances can run at once: `start origin` runs state name docker-registry-origin and
# publishes DOCKER_REGISTRY_ORIGIN_* keys; without INSTANCE the name is docker-registry.
#   --tls       HTTPS with a server certificate for 127.0.0.1/localhost signed by a test CA
#               generated with openssl into the state dir (<PREFIX>_CA_FILE).
#   --htpasswd  basic auth (bcrypt htpasswd file from apache2-utils): <PREFIX>_USERNAME/_PASSWORD.
# The registry's stdout is its access log (one combined-format line per request), kept in
# <PREFIX>_ACCESS_LOG so tests can count blob fetches; it is truncated at each start.
# Storage (filesystem driver, delete enabled) is kept across restarts in <state>/<name>/storage.
# Publishes: <PREFIX>_URL <PREFIX>_HOST <PREFIX>_PORT <PREFIX>_ACCESS_LOG <PREFIX>_STORAGE_DIR
#            <PREFIX>_DEBUG_URL (health: $DEBUG_URL/debug/health, metrics: /metrics)
#            <PREFIX>_TLS (0|1) <PREFIX>_AUTH (none|htpasswd)
#            and, when enabled: <PREFIX>_CA_FILE, <PREFIX>_USERNAME <PREFIX>_PASSWORD <PREFIX>_HTPASSWD_FILE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

# Debian bookworm ships distribution 2.8.2 as docker-registry 2.8.2+ds1-1; apt picks the suite's version.
DOCKER_REGISTRY_APT_PACKAGES=(docker-registry)
# The htpasswd user and password; KUIK_REGISTRY_USER/KUIK_REGISTRY_PASSWORD set others (Google
# registries' user "oauth2accesstoken", ACR's null-GUID user and its refresh token).
REGISTRY_USER="${KUIK_REGISTRY_USER:-kuik}"
REGISTRY_PASSWORD="${KUIK_REGISTRY_PASSWORD:-kuik-test-password}"

install() {
  local fresh=0
  dpkg -s docker-registry >/dev/null 2>&1 || fresh=1
  apt_ensure "${DOCKER_REGISTRY_APT_PACKAGES[@]}" openssl apache2-utils curl
  command -v docker-registry >/dev/null || die "docker-registry binary missing after install"
  # On a host run by systemd the package also starts a system-wide registry listening on :5000 on
  # every interface. When we just installed it, turn that service off: tests only use their own
  # loopback instances. (In containers without systemd nothing is started.)
  if ((fresh)) && [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    log "disabling the docker-registry system service the package started (tests run their own)"
    $sudo systemctl disable --now docker-registry.service >&2 || true
  fi
}

cmd=""; inst=""; tls=0; auth=none; all=0
for a in "$@"; do
  case "$a" in
    --tls) tls=1 ;;
    --htpasswd) auth=htpasswd ;;
    --all) all=1 ;;
    -*) die "unknown flag $a" ;;
    *) if [[ -z "$cmd" ]]; then cmd="$a"; elif [[ -z "$inst" ]]; then inst="$a"; else die "unexpected argument $a"; fi ;;
  esac
done
[[ -z "$inst" || "$inst" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "instance name must match [a-z0-9-]+: $inst"
NAME="docker-registry${inst:+-$inst}"
P="$(env_prefix "$NAME")"
DIR="$KUIK_TEST_STATE_DIR/$NAME"

# make_tls DIR : test CA + server certificate for 127.0.0.1 and localhost (kept once generated)
make_tls() {
  local d="$1"
  [[ -s "$d/server.crt" && -s "$d/ca.crt" ]] && return 0
  mkdir -p "$d"
  log "generating a test CA and server certificate in $d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kuik test CA ($NAME)" \
    -keyout "$d/ca.key" -out "$d/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
  rm -f "$d/server.csr"
}

ready() {
  local url="$1"; shift
  # /v2/ answers 200 when the registry serves requests (with the credentials/CA it needs).
  curl -fsS -o /dev/null --max-time 2 "$@" "$url/v2/"
}

cmd_start() {
  if already_running "$NAME"; then
    local was_tls was_auth
    was_tls="$(env_get "$NAME" "${P}_TLS" || echo 0)"; was_auth="$(env_get "$NAME" "${P}_AUTH" || echo none)"
    [[ "$was_tls" == "$tls" && "$was_auth" == "$auth" ]] ||
      die "$NAME already runs with tls=$was_tls auth=$was_auth (asked tls=$tls auth=$auth): stop it first"
    return 0
  fi
  install
  local port dport t0=$SECONDS
  port="$(free_port)"; dport="$(free_port)"
  mkdir -p "$DIR/storage"
  local cfg="$DIR/config.yml" access="$KUIK_TEST_STATE_DIR/$NAME.access.log"
  local scheme=http curl_args=() extra=()
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: info"
    echo "  formatter: text"
    echo "  accesslog:"
    echo "    disabled: false"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $DIR/storage"
    echo "  delete:"
    echo "    enabled: true"
    echo "  cache:"
    echo "    blobdescriptor: inmemory"
    echo "  maintenance:"
    echo "    uploadpurging:"
    echo "      enabled: false"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: kuik-test-secret-$NAME"
    echo "  headers:"
    echo "    X-Content-Type-Options: [nosniff]"
    echo "  debug:"
    echo "    addr: 127.0.0.1:$dport"
    echo "    prometheus:"
    echo "      enabled: true"
    echo "      path: /metrics"
    if ((tls)); then
      make_tls "$DIR/tls"
      scheme=https
      echo "  tls:"
      echo "    certificate: $DIR/tls/server.crt"
      echo "    key: $DIR/tls/server.key"
      curl_args+=(--cacert "$DIR/tls/ca.crt")
      extra+=("${P}_CA_FILE=$DIR/tls/ca.crt")
    fi
    echo "health:"
    echo "  storagedriver:"
    echo "    enabled: true"
    echo "    interval: 10s"
    echo "    threshold: 3"
    if [[ "$auth" == htpasswd ]]; then
      htpasswd -B -b -c "$DIR/htpasswd" "$REGISTRY_USER" "$REGISTRY_PASSWORD" 2>/dev/null
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: kuik-test"
      echo "    path: $DIR/htpasswd"
      curl_args+=(-u "$REGISTRY_USER:$REGISTRY_PASSWORD")
      extra+=("${P}_USERNAME=$REGISTRY_USER" "${P}_PASSWORD=$REGISTRY_PASSWORD" "${P}_HTPASSWD_FILE=$DIR/htpasswd")
    fi
  } >"$cfg"
  local url="$scheme://127.0.0.1:$port"
  # AWS_CA_BUNDLE breaks the registry's S3 driver init when set to a missing file; we never use S3.
  # `env` execs docker-registry: the recorded pid is the registry itself.
  start_daemon_split "$NAME" "$access" env -u AWS_CA_BUNDLE docker-registry serve "$cfg"
  wait_ready "$NAME" "$NAME on 127.0.0.1:$port" 30 ready "$url" "${curl_args[@]}"
  log "$NAME ready in $((SECONDS - t0))s"
  publish "$NAME" \
    "${P}_URL=$url" \
    "${P}_HOST=127.0.0.1:$port" \
    "${P}_PORT=$port" \
    "${P}_ACCESS_LOG=$access" \
    "${P}_STORAGE_DIR=$DIR/storage" \
    "${P}_DEBUG_URL=http://127.0.0.1:$dport" \
    "${P}_TLS=$tls" \
    "${P}_AUTH=$auth" \
    "${extra[@]}"
  print_env "$NAME"
}

case "$cmd" in
  install) install ;;
  start) cmd_start ;;
  stop)
    if ((all)); then
      for f in "$KUIK_TEST_STATE_DIR"/docker-registry.pid "$KUIK_TEST_STATE_DIR"/docker-registry-*.pid; do
        [[ -f "$f" ]] && stop_daemon "$(basename "$f" .pid)"
      done
    else
      stop_daemon "$NAME"
    fi
    ;;
  status) server_status "$NAME" ;;
  *) echo "usage: docker-registry.sh install | start [INSTANCE] [--tls] [--htpasswd] | stop [INSTANCE|--all] | status [INSTANCE]" >&2; exit 2 ;;
esac

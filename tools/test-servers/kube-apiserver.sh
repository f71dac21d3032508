#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: kube-apiserver on a private etcd (etcd.sh, state
# name etcd-kube). No kubelet, scheduler or controller-manager: objects are stored and admitted
# (RBAC, built-in admission, webhooks, CRDs) but nothing reconciles them.
#   kube-apiserver.sh install                 builds kube-apiserver + kubectl (one go build)
#   kube-apiserver.sh start | stop | status   start also starts etcd; stop stops both
#   kube-apiserver.sh path kube-apiserver|kubectl
#   kube-apiserver.sh gen-gomod VERSION       rewrites kube-apiserver-build/go.mod for another
#                                             k8s.io/kubernetes version (then edit KUBE_VERSION)
# Built from the published Kubernetes Go modules through the wrapper module in
# kube-apiserver-build/ (k8s.io/kubernetes with every staging module replaced by its v0.Y.Z tag),
# with the version ldflags the Kubernetes release build sets, so /version reports KUBE_VERSION.
#
# Certificates (openssl, generated once per state dir into $KUIK_TEST_STATE_DIR/kube-apiserver/pki):
# a CA, the serving cert (127.0.0.1, localhost, kubernetes.default.svc), a service-account signing
# key pair and the admin client cert (CN=kuik-admin, O=system:masters: cluster-admin through RBAC).
# The CA key is published too, so tests can sign their own webhook serving certs with it.
#
# What tests must know (no controller-manager):
#   - only namespace "default" gets a ServiceAccount "default" (created by `start`); the
#     ServiceAccount admission plugin rejects pods in other namespaces until the test creates the
#     pod's ServiceAccount (`kubectl create serviceaccount default -n NS`), whatever
#     automountServiceAccountToken says;
#   - no garbage collection (ownerReferences), deleted namespaces stay Terminating, Deployments
#     get no ReplicaSets/Pods, Pods are never scheduled or run: create Pods directly.
#   - webhooks with clientConfig.url = https://127.0.0.1:PORT/... are called directly (the
#     apiserver runs with the proxy variables unset).
# Publishes (kube-apiserver.env): KUBE_APISERVER_URL KUBECONFIG KUBE_CA_FILE KUBE_CA_KEY_FILE
#   KUBE_CLIENT_CERT_FILE KUBE_CLIENT_KEY_FILE KUBE_VERSION KUBE_ETCD_ENDPOINT KUBECTL_BIN
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

# Must match the k8s.io/kubernetes requirement in kube-apiserver-build/go.mod (checked below).
KUBE_VERSION="v1.37.2"
NAME=kube-apiserver
ETCD_INSTANCE=kube
DIR="$KUIK_TEST_STATE_DIR/$NAME"
PKI="$DIR/pki"
BUILD_DIR="$here/kube-apiserver-build"

bin_path() { printf '%s/bin/%s' "$(tool_dir kube-apiserver "$KUBE_VERSION")" "$1"; }

# The -X flags hack/lib/version.sh sets for a release build (git commit left empty: the module
# zip carries none).
version_ldflags() {
  local v="$KUBE_VERSION" minor date pkg ld="-s -w"
  minor="${v#v1.}"; minor="${minor%%.*}"
  date="$(cd "$BUILD_DIR" && { GOTOOLCHAIN=local go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes 2>/dev/null || true; })"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    [[ -z "$date" ]] || ld+=" -X $pkg.buildDate=$date"
  done
  printf '%s' "$ld"
}

install() {
  grep -qE "^\s*(require\s+)?k8s.io/kubernetes $KUBE_VERSION(\s|\$)" "$BUILD_DIR/go.mod" \
    || die "KUBE_VERSION=$KUBE_VERSION does not match kube-apiserver-build/go.mod"
  [[ -x "$(bin_path kube-apiserver)" && -x "$(bin_path kubectl)" ]] && return 0
  go_build_cached kube-apiserver "$KUBE_VERSION" "$BUILD_DIR" "$(version_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
}

gen_gomod() {
  local v="${1:?usage: kube-apiserver.sh gen-gomod vX.Y.Z}" gomod minor
  minor="${v#v1.}"; minor="${minor%%.*}"
  gomod="$(cd "$BUILD_DIR" && GOTOOLCHAIN=local go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@$v"
  {
    sed -n '1,/^module /{/^\/\//p}' "$BUILD_DIR/go.mod"
    printf 'module kuik.local/kube-apiserver-build\n\ngo %s\n\n' "$(sed -n 's/^go //p' "$gomod")"
    printf 'tool (\n\tk8s.io/kubernetes/cmd/kube-apiserver\n\tk8s.io/kubernetes/cmd/kubectl\n)\n\n'
    printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$v"
    grep -E '^\s*k8s.io/\S+ => \./staging/' "$gomod" | awk -v s="v0.$minor.${v##*.}" '{print "\t" $1 " => " $1 " " s}'
    printf ')\n'
  } >"$BUILD_DIR/go.mod.new"
  mv "$BUILD_DIR/go.mod.new" "$BUILD_DIR/go.mod"
  (cd "$BUILD_DIR" && GOTOOLCHAIN=local go mod tidy) >&2
  log "kube-apiserver-build/go.mod now pins k8s.io/kubernetes $v: set KUBE_VERSION=$v in $0"
}

# gen_pki: CA, serving cert, admin client cert, service-account key pair (once per state dir).
gen_pki() {
  [[ -f "$PKI/admin.crt" ]] && return 0
  apt_ensure openssl
  local tmp="$PKI.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"; chmod 700 "$tmp"
  (
    cd "$tmp"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3650 -subj "/CN=kuik-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1" \
      >serving.ext
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >client.ext
    openssl req -new "${ec[@]}" -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile serving.ext -out apiserver.crt
    openssl req -new "${ec[@]}" -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=kuik-admin"
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out admin.crt
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
    openssl pkey -in sa.key -pubout -out sa.pub
    rm -f ./*.csr ./*.ext
  ) >/dev/null 2>&1 || { rm -rf "$tmp"; die "openssl failed to generate the test PKI"; }
  rm -rf "$PKI"; mv "$tmp" "$PKI"
}

write_kubeconfig() {
  local url="$1" f="$DIR/kubeconfig"
  cat >"$f.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kuik-test
  cluster:
    server: $url
    certificate-authority: $PKI/ca.crt
users:
- name: kuik-admin
  user:
    client-certificate: $PKI/admin.crt
    client-key: $PKI/admin.key
contexts:
- name: kuik-test
  context:
    cluster: kuik-test
    user: kuik-admin
    namespace: default
current-context: kuik-test
EOF
  chmod 600 "$f.tmp"; mv "$f.tmp" "$f"
}

api_get() { # api_get PORT PATH : true when the admin cert gets a 2xx for PATH
  http_ok "https://127.0.0.1:$1$2" --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key"
}

start() {
  if already_running "$NAME"; then return 0; fi
  install
  local t0=$SECONDS etcd port url
  bash "$here/etcd.sh" start "$ETCD_INSTANCE" >/dev/null
  etcd="$(env_get "etcd-$ETCD_INSTANCE" ETCD_ENDPOINT)" || die "etcd-$ETCD_INSTANCE published no ETCD_ENDPOINT"
  mkdir -p "$DIR"
  gen_pki
  port="$(free_port)"; url="https://127.0.0.1:$port"
  # env -u: the webhook and aggregator clients must never send 127.0.0.1 traffic to a proxy.
  start_daemon "$NAME" env -u HTTP_PROXY -u HTTPS_PROXY -u http_proxy -u https_proxy -u ALL_PROXY -u all_proxy \
    "$(bin_path kube-apiserver)" \
    --etcd-servers="$etcd" \
    --bind-address=127.0.0.1 --secure-port="$port" --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none \
    --service-cluster-ip-range=10.0.0.0/24 \
    --authorization-mode=RBAC \
    --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --cert-dir="$DIR/certs" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook \
    --allow-privileged=true \
    --profiling=false
  wait_ready "$NAME" "kube-apiserver on 127.0.0.1:$port" 120 api_get "$port" /readyz
  wait_ready "$NAME" "namespace default" 30 api_get "$port" /api/v1/namespaces/default
  write_kubeconfig "$url"
  # No controller-manager: create the default ServiceAccount of namespace default ourselves.
  "$(bin_path kubectl)" --kubeconfig "$DIR/kubeconfig" create serviceaccount default -n default >/dev/null 2>&1 \
    || api_get "$port" /api/v1/namespaces/default/serviceaccounts/default \
    || die "could not create ServiceAccount default/default"
  log "kube-apiserver ready in $((SECONDS - t0))s (etcd included)"
  publish "$NAME" \
    "KUBE_APISERVER_URL=$url" \
    "KUBECONFIG=$DIR/kubeconfig" \
    "KUBE_CA_FILE=$PKI/ca.crt" \
    "KUBE_CA_KEY_FILE=$PKI/ca.key" \
    "KUBE_CLIENT_CERT_FILE=$PKI/admin.crt" \
    "KUBE_CLIENT_KEY_FILE=$PKI/admin.key" \
    "KUBE_VERSION=$KUBE_VERSION" \
    "KUBE_ETCD_ENDPOINT=$etcd" \
    "KUBECTL_BIN=$(bin_path kubectl)"
  print_env "$NAME"
}

stop() {
  local rc=0
  stop_daemon "$NAME" || rc=1
  bash "$here/etcd.sh" stop "$ETCD_INSTANCE" || rc=1
  return $rc
}

status() {
  local rc=0
  server_status "$NAME" || rc=$?
  bash "$here/etcd.sh" status "$ETCD_INSTANCE" >/dev/null || true
  return $rc
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  path)
    case "${2:-}" in
      kube-apiserver|kubectl) printf '%s\n' "$(bin_path "$2")" ;;
      *) die "usage: kube-apiserver.sh path kube-apiserver|kubectl" ;;
    esac
    ;;
  gen-gomod) gen_gomod "${2:-}" ;;
  *) echo "usage: kube-apiserver.sh install|start|stop|status | path kube-apiserver|kubectl | gen-gomod vX.Y.Z" >&2; exit 2 ;;
esac

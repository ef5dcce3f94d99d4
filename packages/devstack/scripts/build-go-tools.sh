#!/usr/bin/env bash
# Builds kube-apiserver, kubectl, etcd and helm from the Go module proxy into $1 (a versioned cache dir).
# Invoked by devstack's provisioner; safe to re-run (each binary is skipped when present).
# Why a wrapper module: k8s.io/kubernetes replaces its staging modules with ./staging paths, which
# `go install pkg@version` refuses, so we require it from a module of our own and point every
# staging module at its published v0.x release instead.
set -euo pipefail
out="$1"; k8s="$2"; etcd="$3"; helm="$4"
staging="v0.${k8s#v1.}"
mkdir -p "$out/bin" "$out/src/kube"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
step() { printf '[go-tools] %s\n' "$*"; }

if [[ ! -x "$out/bin/kube-apiserver" || ! -x "$out/bin/kubectl" ]]; then
  cd "$out/src/kube"
  if [[ ! -f go.mod ]]; then
    step "resolving k8s.io/kubernetes $k8s (staging modules at $staging)"
    printf 'module tenantry.dev/devstack/kube\n\ngo 1.24\n' > go.mod.tmp
    modfile="$(go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$modfile" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}' >> go.mod.tmp
    echo "require k8s.io/kubernetes $k8s" >> go.mod.tmp
    printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > tools.go
    mv go.mod.tmp go.mod
    go mod tidy
  fi
  step "building kube-apiserver $k8s (several minutes on a cold cache)"
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/client-go/pkg/version.gitVersion=$k8s" -o "$out/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  step "building kubectl $k8s"
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/client-go/pkg/version.gitVersion=$k8s" -o "$out/bin/kubectl" k8s.io/kubernetes/cmd/kubectl
fi

if [[ ! -x "$out/bin/etcd" ]]; then
  mkdir -p "$out/src/etcd" && cd "$out/src/etcd"
  if [[ ! -f go.mod ]]; then
    step "resolving go.etcd.io/etcd/server/v3 $etcd"
    # etcd's server module replaces its sibling modules with ../ paths; use their published releases.
    {
      printf 'module tenantry.dev/devstack/etcd\n\ngo 1.24\n'
      for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do echo "replace go.etcd.io/etcd/$m => go.etcd.io/etcd/$m $etcd"; done
      echo "require go.etcd.io/etcd/server/v3 $etcd"
    } > go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
    go mod tidy
  fi
  step "building etcd $etcd"
  go build -trimpath -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
fi

if [[ ! -x "$out/bin/helm" ]]; then
  step "building helm $helm"
  GOBIN="$out/src/gobin" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$helm" "helm.sh/helm/v3/cmd/helm@$helm"
  mv "$out/src/gobin/helm" "$out/bin/helm"
fi
step "done: $(ls "$out/bin" | tr '\n' ' ')"

#!/bin/sh
# write-back: the last task of the build-and-push Pipeline (Task `write-back`). It writes the pushed
# image digest into <path>/apps/<app>/<env>/release/kustomization.yaml of the GitOps repository and
# pushes one commit, so the environment's automated sync deploys what was built.
#
# The file is written whole, byte for byte what `kubectl gitops` writes for a release
# (core.gitrepo.release_file), and the commit message carries the Gitops-* trailers of
# core.promotion.message, so `kubectl gitops history`, `promote` and `rollback` read builds like
# their own commits. A person's overlay (<env>/kustomization.yaml) is never touched.
#
# Input, from the environment only (never interpolated into this text):
#   APP, IMAGE (registry/app, no tag), DIGEST (sha256:<64 hex>), SOURCE_COMMIT (the app's commit),
#   GITOPS_URL, GITOPS_BRANCH, GITOPS_PATH, ENVIRONMENT (dev), REPLICAS,
#   RESULT_FILE (where the GITOPS_COMMIT result goes: the commit pushed, or the head when the file
#   already said this), CREDENTIALS_DIR (optional: a directory with `.git-credentials` and
#   `.gitconfig`, the CI namespace's git-credentials Secret), ATTEMPTS (pushes tried, default 5).
#
# A rejected push (the branch moved: another build, a promotion, a person) fetches the new head,
# writes the file again there and pushes again, up to ATTEMPTS times; never a force push. Nothing
# here prints a credential: git reads them from its store helper, and the script never traces.
set -eu

fail() {
  printf 'write-back: %s\n' "$*" >&2
  exit 1
}

label() { # a DNS label (app and environment names): no room for YAML or trailer injection
  case "$2" in
    '' | -* | *- | *[!a-z0-9-]*) fail "$1 must be a DNS label (lower-case letters, digits, '-')" ;;
  esac
}

label APP "${APP:-}"
label ENVIRONMENT "${ENVIRONMENT:-}"
hex=${DIGEST#sha256:}
case "$DIGEST" in sha256:*) ;; *) fail "DIGEST must be sha256:<64 hex digits>" ;; esac
case "$hex" in *[!0-9a-f]*) fail "DIGEST must be sha256:<64 hex digits>" ;; esac
[ "${#hex}" -eq 64 ] || fail "DIGEST must be sha256:<64 hex digits>"
case "${REPLICAS:-}" in '' | 0?* | *[!0-9]*) fail "REPLICAS must be a number" ;; esac
case "${SOURCE_COMMIT:-}" in *[!0-9a-f]*) fail "SOURCE_COMMIT must be a commit id" ;; esac
case "${IMAGE:-}" in '' | *[!A-Za-z0-9./:_-]*) fail "IMAGE must be an image name without tag" ;; esac
[ -n "${GITOPS_URL:-}" ] || fail "GITOPS_URL is empty"
[ -n "${GITOPS_BRANCH:-}" ] || fail "GITOPS_BRANCH is empty"
: "${RESULT_FILE:?RESULT_FILE is empty}"
attempts=${ATTEMPTS:-5}

root=${GITOPS_PATH:-}
while [ "${root#/}" != "$root" ]; do root=${root#/}; done
while [ "${root%/}" != "$root" ]; do root=${root%/}; done
overlay="${root:+$root/}apps/$APP/$ENVIRONMENT"
release="$overlay/release/kustomization.yaml"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# git's HOME: the credential store and its config, readable by this user only
mkdir "$work/home"
export HOME="$work/home"
if [ -n "${CREDENTIALS_DIR:-}" ] && [ -f "$CREDENTIALS_DIR/.git-credentials" ]; then
  cp "$CREDENTIALS_DIR/.git-credentials" "$HOME/.git-credentials"
  if [ -f "$CREDENTIALS_DIR/.gitconfig" ]; then
    cp "$CREDENTIALS_DIR/.gitconfig" "$HOME/.gitconfig"
  fi
  chmod 400 "$HOME/.git-credentials"
fi
export GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-kubectl-gitops}"
export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-kubectl-gitops@users.noreply.kubectl.dev}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME"
export GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

write_release() { # core.gitrepo.release_file(IMAGE, DIGEST, app=APP, replicas=REPLICAS)
  cat <<EOF
# What runs here, written by kubectl gitops build / promote / rollback. Do not edit: use kubectl gitops rollback.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
- ../../base
- ../ingress
images:
- name: $IMAGE
  digest: $DIGEST
replicas:
- name: $APP
  count: $REPLICAS
EOF
}

# core.promotion.message("build", APP, ENVIRONMENT, DIGEST, subject=..., extra={Source-Commit, Request})
request=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
{
  printf 'build %s %s\n\n' "$APP" "$DIGEST"
  printf 'Gitops-App: %s\nGitops-Environment: %s\nGitops-Action: build\nGitops-Digest: %s\n' \
    "$APP" "$ENVIRONMENT" "$DIGEST"
  if [ -n "${SOURCE_COMMIT:-}" ]; then printf 'Gitops-Source-Commit: %s\n' "$SOURCE_COMMIT"; fi
  printf 'Gitops-Request: %s\n' "$request"
} >"$work/message"

repo="$work/repo"
git clone --quiet --depth 1 --single-branch --branch "$GITOPS_BRANCH" -- "$GITOPS_URL" "$repo" ||
  fail "cannot clone branch $GITOPS_BRANCH of the GitOps repository (git's message above)"

attempt=1
while :; do
  [ -f "$repo/$overlay/kustomization.yaml" ] ||
    fail "$overlay is not in branch $GITOPS_BRANCH of the GitOps repository: run kubectl gitops bootstrap"
  mkdir -p "$repo/$overlay/release"
  write_release >"$repo/$release"
  git -C "$repo" add -- "$release"
  if git -C "$repo" diff --cached --quiet; then
    commit=$(git -C "$repo" rev-parse HEAD)
    echo "$release already runs $DIGEST at $commit: nothing to commit"
    break
  fi
  base=$(git -C "$repo" rev-parse HEAD)
  git -C "$repo" commit --quiet --no-verify -F "$work/message"
  if git -C "$repo" push --quiet origin "HEAD:refs/heads/$GITOPS_BRANCH"; then
    commit=$(git -C "$repo" rev-parse HEAD)
    echo "pushed $commit: $APP in $ENVIRONMENT runs $DIGEST"
    break
  fi
  [ "$attempt" -lt "$attempts" ] || fail "branch $GITOPS_BRANCH kept moving: $attempts pushes were overtaken"
  git -C "$repo" fetch --quiet --depth 1 origin "$GITOPS_BRANCH" ||
    fail "cannot fetch branch $GITOPS_BRANCH after a refused push (git's message above)"
  head=$(git -C "$repo" rev-parse FETCH_HEAD)
  [ "$head" != "$base" ] || fail "the GitOps repository refused the push to $GITOPS_BRANCH (git's message above)"
  echo "branch $GITOPS_BRANCH moved to $head: writing again there (attempt $((attempt + 1)) of $attempts)"
  git -C "$repo" reset --quiet --hard FETCH_HEAD
  jitter=$(od -An -N1 -tu1 /dev/urandom | tr -d ' \n')
  sleep "$((attempt - 1)).$((jitter % 10))"
  attempt=$((attempt + 1))
done
printf '%s' "$commit" >"$RESULT_FILE"

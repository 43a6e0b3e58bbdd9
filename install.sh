#!/bin/sh
# Installs skconn from its GitHub release, verified against the release's SHA256SUMS.
#
#   curl -fsSL https://raw.githubusercontent.com/skconn/skconn/v0.1.0/install.sh | sh -s -- --version 0.1.0
#   sh install.sh [--version X.Y.Z] [--to DIR] [--target TRIPLE]
#
# --version X.Y.Z  the release to install (default: the latest release, asked of GitHub's API;
#                  with --version no API is called)
# --to DIR         where to put the binary (default: $XDG_BIN_HOME, else ~/.local/bin)
# --target TRIPLE  the Rust target to download (default: detected with uname)
#
# Environment:
#   SKCONN_DOWNLOAD_URL  where releases are downloaded from, for mirrors and air-gapped networks
#                        (default https://github.com/skconn/skconn/releases/download); the files
#                        are <base>/v<version>/skconn-<version>-<target>.tar.gz and
#                        <base>/v<version>/SHA256SUMS
#   SKCONN_API_URL       the GitHub API used to find the latest release (default
#                        https://api.github.com)
#   GITHUB_TOKEN         sent to the API when set, to avoid its rate limit
#
# The archive is checked against SHA256SUMS before anything is installed: a missing checksums
# file, a missing line or a different checksum installs nothing and exits non-zero.
# Needs only a POSIX sh, curl or wget, tar (unzip on Windows), and sha256sum or shasum.

set -eu

repo="skconn/skconn"
base="${SKCONN_DOWNLOAD_URL:-https://github.com/$repo/releases/download}"
base="${base%/}"
api="${SKCONN_API_URL:-https://api.github.com}"
api="${api%/}"

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

usage() {
  sed -n '2,25p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' >&2 || true
}

version=""
to=""
target=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || die "--version needs a value, e.g. --version 0.1.0"; version="$2"; shift 2 ;;
    --version=*) version="${1#--version=}"; shift ;;
    --to) [ $# -ge 2 ] || die "--to needs a folder"; to="$2"; shift 2 ;;
    --to=*) to="${1#--to=}"; shift ;;
    --target) [ $# -ge 2 ] || die "--target needs a target triple"; target="$2"; shift 2 ;;
    --target=*) target="${1#--target=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

have() { command -v "$1" > /dev/null 2>&1; }

# download URL FILE [HEADER]: fails (non-zero) on any HTTP error. https:// URLs refuse to be
# redirected to anything but https.
download() {
  dl_proto=""
  case "$1" in https://*) dl_proto="=https" ;; esac
  if have curl; then
    if [ -n "${3:-}" ]; then
      curl -fsSL ${dl_proto:+--proto "$dl_proto"} --retry 3 -H "$3" -o "$2" "$1"
    else
      curl -fsSL ${dl_proto:+--proto "$dl_proto"} --retry 3 -o "$2" "$1"
    fi
  elif have wget; then
    if [ -n "${3:-}" ]; then
      wget -q --header="$3" -O "$2" "$1"
    else
      wget -q -O "$2" "$1"
    fi
  else
    die "neither curl nor wget is installed; install one of them"
  fi
}

sha256() {
  if have sha256sum; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif have shasum; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    die "neither sha256sum nor shasum is installed; cannot verify the download"
  fi
}

if [ -z "$target" ]; then
  os="$(uname -s)"
  arch="$(uname -m)"
  case "$arch" in
    x86_64 | amd64) arch="x86_64" ;;
    arm64 | aarch64) arch="aarch64" ;;
    *) die "no skconn release for the processor '$arch' (x86_64 and arm64 only); build it with 'cargo install --locked skconn'" ;;
  esac
  case "$os" in
    Linux) target="$arch-unknown-linux-musl" ;;
    Darwin) target="$arch-apple-darwin" ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT) target="$arch-pc-windows-msvc" ;;
    *) die "no skconn release for the system '$os'; build it with 'cargo install --locked skconn'" ;;
  esac
fi

case "$target" in
  *windows*) ext="zip"; exe=".exe" ;;
  *) ext="tar.gz"; exe="" ;;
esac

tmp="$(mktemp -d 2> /dev/null || mktemp -d -t skconn)"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ -z "$version" ]; then
  say "finding the latest release of $repo"
  if [ -n "${GITHUB_TOKEN:-}" ]; then
    download "$api/repos/$repo/releases/latest" "$tmp/latest.json" "Authorization: Bearer $GITHUB_TOKEN" ||
      die "cannot ask $api for the latest release; pass --version X.Y.Z"
  else
    download "$api/repos/$repo/releases/latest" "$tmp/latest.json" ||
      die "cannot ask $api for the latest release (rate limit? set GITHUB_TOKEN); or pass --version X.Y.Z"
  fi
  version="$(tr -d '\n' < "$tmp/latest.json" | sed -n 's/.*"tag_name"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
  [ -n "$version" ] || die "the answer of $api names no release; pass --version X.Y.Z"
fi
version="${version#v}"
case "$version" in
  *[!0-9A-Za-z.+-]* | "") die "'$version' is not a version (expected e.g. 0.1.0)" ;;
esac

asset="skconn-$version-$target.$ext"
say "downloading $asset"
download "$base/v$version/$asset" "$tmp/$asset" ||
  die "cannot download $base/v$version/$asset (is $version a release with a $target build?); nothing was installed"

if ! download "$base/v$version/SHA256SUMS" "$tmp/SHA256SUMS"; then
  die "cannot download $base/v$version/SHA256SUMS to verify $asset; nothing was installed"
fi
expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")"
[ -n "$expected" ] || die "SHA256SUMS of v$version has no line for $asset; nothing was installed"
actual="$(sha256 "$tmp/$asset")"
expected="$(printf '%s' "$expected" | tr 'A-F' 'a-f')"
if [ "$actual" != "$expected" ]; then
  die "$asset does not match SHA256SUMS (expected $expected, got $actual); nothing was installed"
fi
say "verified $asset against SHA256SUMS"

mkdir "$tmp/x"
if [ "$ext" = "zip" ]; then
  if have unzip; then
    unzip -q "$tmp/$asset" -d "$tmp/x"
  elif [ -n "${SYSTEMROOT:-}" ] && [ -x "${SYSTEMROOT}/System32/tar.exe" ]; then
    "${SYSTEMROOT}/System32/tar.exe" -xf "$tmp/$asset" -C "$tmp/x"
  else
    die "cannot unpack $asset: install unzip"
  fi
else
  tar -xzf "$tmp/$asset" -C "$tmp/x"
fi
bin="$tmp/x/skconn-$version-$target/skconn$exe"
[ -f "$bin" ] || die "$asset holds no skconn-$version-$target/skconn$exe; nothing was installed"

if [ -z "$to" ]; then
  to="${XDG_BIN_HOME:-${HOME:?set HOME or pass --to DIR}/.local/bin}"
fi
mkdir -p "$to" || die "cannot create $to"
chmod 755 "$bin"
# Copy beside the destination first, then rename: an interrupted install never leaves half a binary.
cp "$bin" "$to/.skconn$exe.$$" || die "cannot write to $to"
mv -f "$to/.skconn$exe.$$" "$to/skconn$exe" || die "cannot write to $to"

say "installed $to/skconn$exe"
"$to/skconn$exe" --version
case ":${PATH}:" in
  *":$to:"*) ;;
  *) say "note: $to is not on your PATH; add it, e.g. export PATH=\"$to:\$PATH\"" ;;
esac

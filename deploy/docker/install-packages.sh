#!/bin/sh
# Installs the Debian packages named in scripts/packages/*.txt lists, for the Dockerfile.
# Parsing rules are those of scripts/setup.sh (tests/deploy/test_docker.py checks they agree):
# '#' starts a comment, `cmd=X` annotations are dropped, names are separated by whitespace.
# In an image nothing is preinstalled, so a `cmd=` annotation never skips a package here.
#
#   install-packages.sh LIST...          apt-get install the packages, then clean the apt cache
#   install-packages.sh --print LIST...  print the package names, one a line (for tests)
set -eu

print=0
if [ "${1:-}" = "--print" ]; then
  print=1
  shift
fi
if [ $# -lt 1 ]; then
  echo "usage: install-packages.sh [--print] LIST..." >&2
  exit 2
fi
for list in "$@"; do
  if [ ! -r "$list" ]; then
    echo "install-packages.sh: cannot read package list $list" >&2
    exit 2
  fi
done

pkgs=$(cat "$@" | sed -e 's/#.*//' -e 's/cmd=[^ ]*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
if [ -z "$pkgs" ]; then
  echo "install-packages.sh: no package named in $*" >&2
  exit 2
fi
if [ "$print" = 1 ]; then
  printf '%s\n' $pkgs
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # one word per package
apt-get install -y -qq --no-install-recommends $pkgs
apt-get clean
rm -rf /var/lib/apt/lists/*

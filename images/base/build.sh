#!/usr/bin/env bash
# Build emukube's "base" image without any registry: debootstrap a minimal Debian bookworm
# with the packages of packages.txt, trim it and `docker import` it.
#
#   build.sh WORKDIR TAG      (as root; WORKDIR must be empty or missing; it is left for the
#                              caller to delete, after this script has unmounted everything)
# Env: DEBIAN_MIRROR (default http://deb.debian.org/debian),
#      DEBIAN_SECURITY_MIRROR (default http://deb.debian.org/debian-security).
set -euo pipefail

WORKDIR=${1:?usage: build.sh WORKDIR TAG}
TAG=${2:?usage: build.sh WORKDIR TAG}
HERE=$(cd "$(dirname "$0")" && pwd)
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
ROOT=$WORKDIR/rootfs
PKGS=$(sed -e 's/#.*//' "$HERE/packages.txt" | xargs | tr ' ' ,)

[ "$(id -u)" = 0 ] || { echo "build.sh: debootstrap needs root" >&2; exit 1; }

if ! command -v debootstrap >/dev/null 2>&1; then
  echo "==> installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# Never leave /proc mounted inside the rootfs: the caller rm -rf's WORKDIR afterwards.
cleanup() { mountpoint -q "$ROOT/proc" && umount -l "$ROOT/proc" || true; }
trap cleanup EXIT

echo "==> debootstrap bookworm ($PKGS)"
debootstrap --variant=minbase --include="$PKGS" bookworm "$ROOT" "$MIRROR"

# Upgrades must not start haproxy/nginx on this machine: debootstrap guarded its own
# install with a policy-rc.d that says "no" and removed it; put one back meanwhile.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

echo "==> applying bookworm-updates and bookworm-security"
cat >"$ROOT/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
SRC
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o Dpkg::Options::=--force-confold dist-upgrade >/dev/null
chroot "$ROOT" apt-get clean
umount -l "$ROOT/proc"

echo "==> configuring and trimming"
# Refuse to trim (rm -rf) through anything debootstrap might have left mounted.
if awk -v r="$ROOT/" 'index($2, r) == 1 {found=1} END {exit !found}' /proc/mounts; then
  echo "build.sh: something is still mounted under $ROOT" >&2; exit 1
fi
# Keep later `apt-get install` in derived images slim too (like Docker's debian images).
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/emukube-slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
printf 'APT::Keep-Downloaded-Packages "false";\n' >"$ROOT/etc/apt/apt.conf.d/emukube-clean"
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/lintian \
       "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/apt/archives/*.deb \
       "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/dpkg/*-old "$ROOT"/tmp/* "$ROOT"/dev/* \
       "$ROOT"/run/adduser
find "$ROOT/var/log" -type f -delete   # keep the directories (nginx needs /var/log/nginx)
: >"$ROOT/etc/resolv.conf"             # Docker bind-mounts its own; don't ship this host's
rm -f "$ROOT/usr/sbin/policy-rc.d"     # containers may start services after all

# Same load_module path here and in the official nginx image; no default site on :80.
ln -sfn /usr/lib/nginx/modules "$ROOT/etc/nginx/modules"
rm -f "$ROOT"/etc/nginx/sites-enabled/*
# Runtime dirs that the init scripts would create (no init in a container).
mkdir -p "$ROOT/run/haproxy" "$ROOT/run/nginx" "$ROOT/var/lib/nginx"
# Debian's busybox ships without applet links. The busybox image has one for every applet
# (`httpd -f -p 8080`, `nc`, `netstat`, ...): link each that Debian has no command of its own
# for. wget is busybox's behind a script that adds the timeout option Debian's build lacks.
install -m 0755 "$HERE/wget" "$ROOT/usr/local/bin/wget"
for app in $(chroot "$ROOT" /bin/busybox --list); do
  # -L too: a Debian command is often an absolute link to /etc/alternatives, outside $ROOT
  for dir in usr/local/bin usr/bin usr/sbin bin sbin; do
    [ -e "$ROOT/$dir/$app" ] || [ -L "$ROOT/$dir/$app" ] && continue 2
  done
  ln -sfn /bin/busybox "$ROOT/usr/local/bin/$app"
done

echo "==> docker import $TAG"
tar -C "$ROOT" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/sh"]' \
  --change 'LABEL io.emukube.image=base' \
  --change "LABEL io.emukube.input-hash=${TAG##*:}" \
  --message "emukube base: debootstrap bookworm + $PKGS" \
  - "$TAG" >/dev/null
echo "==> done $TAG"

#!/usr/bin/env bash
# Builds the Debian package build/berth_<version>_<arch>.deb from build/berth and packaging/deb/:
#   /usr/bin/berth (stripped), /etc/berth/config.yml (commented; a conffile),
#   /lib/systemd/system/berth.service (sandboxed, User=berth), man page berth(1),
#   /usr/share/doc/berth/{copyright,changelog.gz,*.md.gz}, maintainer scripts that create the
#   `berth` system user and /var/lib/berth.
#
#   bash scripts/deb.sh                            # builds build/berth first when it is missing
#   BERTH_BIN=path/to/berth BERTH_DEB_DIR=/tmp bash scripts/deb.sh
#   lintian build/berth_*.deb                      # quiet (test/package/deb_test.sh checks it)
#
# Plain dpkg-deb on a staged tree (no debian/ source package): the binary comes from the CMake
# build, and dpkg-shlibdeps computes the library dependencies from it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BERTH_BIN:-$ROOT/build/berth}
OUTDIR=${BERTH_DEB_DIR:-$ROOT/build}
P=$ROOT/packaging/deb

die() { echo "deb.sh: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps objcopy gzip; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils)"
done
if [ ! -x "$BIN" ]; then
  [ -z "${BERTH_BIN:-}" ] || die "BERTH_BIN=$BIN is not an executable"
  echo "deb.sh: building build/berth first"
  BERTH_JOBS=${BERTH_JOBS:-2} bash scripts/build.sh
fi

VERSION=$("$BIN" version | awk '{print $2}')
[[ "$VERSION" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "'berth version' printed no usable version: $VERSION"
ARCH=$(dpkg --print-architecture)
EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH=$EPOCH

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
S=$WORK/berth
mkdir -p "$S/DEBIAN"

install -d -m 0755 "$S/usr/bin" "$S/etc/berth" "$S/lib/systemd/system" \
  "$S/usr/share/man/man1" "$S/usr/share/doc/berth"
objcopy --strip-debug --strip-unneeded --remove-section=.comment "$BIN" "$S/usr/bin/berth"
chmod 0755 "$S/usr/bin/berth"
install -m 0644 "$P/config.yml" "$S/etc/berth/config.yml"
install -m 0644 "$P/berth.service" "$S/lib/systemd/system/berth.service"
gzip -9n < "$ROOT/docs/berth.1" > "$S/usr/share/man/man1/berth.1.gz"
install -m 0644 "$P/copyright" "$S/usr/share/doc/berth/copyright"
for doc in configuration.md security.md; do
  [ -f "$ROOT/docs/$doc" ] && gzip -9n < "$ROOT/docs/$doc" > "$S/usr/share/doc/berth/$doc.gz"
done
# A native package's changelog, generated for this version.
DATE=$(date -u -R -d "@$EPOCH")
REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
cat > "$WORK/changelog" <<EOF
berth ($VERSION) unstable; urgency=medium

  * Built from revision $REV.

 -- Berth maintainers <maintainers@berth.invalid>  $DATE
EOF
gzip -9n < "$WORK/changelog" > "$S/usr/share/doc/berth/changelog.gz"
find "$S/usr/share" -type f -exec chmod 0644 {} +

# Library dependencies, as dpkg-shlibdeps sees the binary (it wants a debian/control beside it).
mkdir -p "$WORK/src/debian"
printf 'Source: berth\n\nPackage: berth\nArchitecture: any\n' > "$WORK/src/debian/control"
shlibs=$(cd "$WORK/src" && dpkg-shlibdeps -O -e"$S/usr/bin/berth" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no dependencies for $BIN"

installed_kb=$(du -sk --exclude=DEBIAN "$S" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@DEPENDS@/$shlibs/" \
  -e "s/@SIZE@/$installed_kb/" "$P/control.in" > "$S/DEBIAN/control"
echo /etc/berth/config.yml > "$S/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$P/$script" "$S/DEBIAN/$script"; done
(cd "$S" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
  xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$S/DEBIAN/control" "$S/DEBIAN/conffiles" "$S/DEBIAN/md5sums"
# Reproducible: every mtime is the commit's.
find "$S" -exec touch -h -d "@$EPOCH" {} +

mkdir -p "$OUTDIR"
DEB=$OUTDIR/berth_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$S" "$DEB" >/dev/null
echo "deb.sh: $DEB ($(du -h "$DEB" | cut -f1); Depends: $shlibs, adduser)"

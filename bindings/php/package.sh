#!/usr/bin/env bash
# Builds the composer package archive of incwo/connector that carries its
# library: the PHP sources, preload.php, both C headers under include/, and
# the built libincwo_ffi under lib/<platform>/ (the platform of this machine,
# e.g. linux-x86_64-gnu), so that Core finds them with no environment
# variable. composer.json gets the workspace's version (an artifact
# repository reads it from the archive).
#
# Usage: bindings/php/package.sh path/to/libincwo_ffi.so OUT_DIR
#   (the library: `cargo build --release -p incwo-ffi`, target/release/)
# Prints the archive's path: OUT_DIR/incwo-connector-<version>.zip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
library="${1:?usage: $0 path/to/libincwo_ffi.so OUT_DIR}"
out="${2:?usage: $0 path/to/libincwo_ffi.so OUT_DIR}"
[ -f "$library" ] || { echo "no library at $library: build it with cargo build --release -p incwo-ffi" >&2; exit 1; }

version=$(awk '/^\[workspace.package\]/ { in_ws = 1; next } /^\[/ { in_ws = 0 }
  in_ws && /^version *=/ { gsub(/[^0-9A-Za-z.+-]/, "", $3); print $3; exit }' "$root/Cargo.toml")
[ -n "$version" ] || { echo "no version in Cargo.toml's [workspace.package]" >&2; exit 1; }
header_version=$(sed -n 's/^#define INCWO_HEADER_VERSION "\(.*\)"$/\1/p' "$root/bindings/c/include/incwo.h")
[ "$header_version" = "$version" ] ||
  { echo "bindings/c/include/incwo.h declares release $header_version, the workspace is $version: regenerate the headers" >&2; exit 1; }
platform=$(php -r 'require $argv[1]; echo Incwo\Connector\NativeLibrary::currentPlatform();' "$here/src/NativeLibrary.php")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/incwo-connector"
mkdir -p "$pkg/include" "$pkg/lib/$platform"
cp -R "$here/src" "$here/preload.php" "$here/README.md" "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$pkg/"
cp "$root/bindings/c/include/incwo.h" "$root/bindings/c/include/incwo.preload.h" "$pkg/include/"
cp "$library" "$pkg/lib/$platform/$(php -r 'require $argv[1]; echo Incwo\Connector\NativeLibrary::fileName($argv[2]);' "$here/src/NativeLibrary.php" "$platform")"
# The package's manifest: its version, the platforms it carries, and (glibc)
# the newest symbol version the library needs; no tests, so no autoload-dev.
glibc=""
if [[ "$platform" == *-gnu ]]; then
  glibc=$(objdump -T "$library" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
fi
php -r '
  [, $in, $out, $version, $platform, $glibc] = $argv;
  $manifest = json_decode(file_get_contents($in), true, 512, JSON_THROW_ON_ERROR);
  unset($manifest["autoload-dev"], $manifest["require-dev"]);
  $manifest = ["name" => $manifest["name"], "version" => $version] + $manifest;
  $manifest["extra"]["incwo"]["libraries"][$platform] = $glibc === "" ? new stdClass() : ["glibc" => ">=" . $glibc];
  file_put_contents($out, json_encode($manifest, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");
' "$here/composer.json" "$pkg/composer.json" "$version" "$platform" "$glibc"

# The archive must load: Core finds the carried library and headers, of one release.
env -u INCWO_FFI_LIBRARY -u INCWO_FFI_HEADER -u INCWO_FFI_PRELOAD_HEADER php -d ffi.enable=1 -r '
  spl_autoload_register(static function (string $class) use ($argv): void {
      $file = $argv[1] . "/src/" . str_replace("\\", "/", substr($class, strlen("Incwo\\Connector\\"))) . ".php";
      if (is_file($file)) { require $file; }
  });
  $path = Incwo\Connector\Core::libraryPath();
  if (!str_starts_with($path, $argv[1] . "/lib/")) { fwrite(STDERR, "the staged package does not find its library: $path\n"); exit(1); }
  echo "incwo/connector ", (new Incwo\Connector\Core())->version(), " for ", basename(dirname($path)), "\n";
' "$pkg" >&2

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/incwo-connector-$version.zip"
(cd "$pkg" && COMPOSER_ALLOW_SUPERUSER=1 composer archive --quiet --no-interaction --format=zip --dir="$out" --file="incwo-connector-$version")
echo "$out/incwo-connector-$version.zip"

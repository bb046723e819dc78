<?php

declare(strict_types=1);

namespace Incwo\Connector;

use Incwo\Connector\Exception\UsageException;

/**
 * Where the package's own copy of `libincwo_ffi` is: a package built by
 * `bindings/php/package.sh` carries it under `lib/<platform>/` (e.g.
 * `lib/linux-x86_64-gnu/libincwo_ffi.so`) and its headers under `include/`,
 * so that an installed package needs no environment variable. On a platform
 * it carries no library for, the error names the platform and what to do.
 */
final class NativeLibrary
{
    /**
     * The platform tag of this machine: `linux-x86_64-gnu`,
     * `linux-aarch64-musl`, `darwin-aarch64`…
     */
    public static function currentPlatform(): string
    {
        return self::platform(PHP_OS_FAMILY, php_uname('m'), PHP_OS_FAMILY === 'Linux' && self::isMusl());
    }

    /**
     * The platform tag of an OS family (PHP_OS_FAMILY), a machine
     * (`php_uname('m')`) and, on Linux, its C library (musl or glibc).
     */
    public static function platform(string $osFamily, string $machine, bool $musl): string
    {
        $arch = match (strtolower($machine)) {
            'x86_64', 'amd64', 'x64' => 'x86_64',
            'aarch64', 'arm64', 'armv8', 'armv8l' => 'aarch64',
            default => strtolower($machine),
        };
        $os = strtolower($osFamily);

        return $os === 'linux' ? "linux-{$arch}-" . ($musl ? 'musl' : 'gnu') : "{$os}-{$arch}";
    }

    /**
     * Whether the C library is musl (Alpine…): its dynamic loader
     * `/lib/ld-musl-<arch>.so.1` is there.
     *
     * @param string $root the file system's root (a test's own directory)
     */
    public static function isMusl(string $root = '/'): bool
    {
        return (glob(rtrim($root, '/') . '/lib/ld-musl-*.so.1') ?: []) !== [];
    }

    /** The library's file name on a platform (`libincwo_ffi.so`, `.dylib` on macOS, `incwo_ffi.dll` on Windows). */
    public static function fileName(string $platform): string
    {
        return match (true) {
            str_starts_with($platform, 'darwin-') => 'libincwo_ffi.dylib',
            str_starts_with($platform, 'windows-') => 'incwo_ffi.dll',
            default => 'libincwo_ffi.so',
        };
    }

    /**
     * The library a package carries for this machine (or the machine
     * described); null when the package carries none (a checkout of the
     * repository: no `lib/`).
     *
     * @param string      $packageDir the package's root (composer.json's directory)
     * @param string      $osFamily   PHP_OS_FAMILY
     * @param string|null $machine    `php_uname('m')` when null
     * @param bool|null   $musl       {@see isMusl()} when null (Linux only)
     *
     * @throws UsageException `ffi.unsupported_platform` when the package carries libraries, none for this platform
     */
    public static function packaged(string $packageDir, string $osFamily = PHP_OS_FAMILY, ?string $machine = null, ?bool $musl = null): ?string
    {
        $lib = $packageDir . '/lib';
        if (!is_dir($lib)) {
            return null;
        }
        $machine ??= php_uname('m');
        $musl ??= $osFamily === 'Linux' && self::isMusl();
        $platform = self::platform($osFamily, $machine, $musl);
        $file = "{$lib}/{$platform}/" . self::fileName($platform);
        if (is_file($file)) {
            return $file;
        }
        $carried = array_map('basename', glob("{$lib}/*", GLOB_ONLYDIR) ?: []);
        sort($carried);
        $libc = $osFamily !== 'Linux' ? '' : ($musl ? ', musl libc (/lib/ld-musl-*.so.1)' : ', glibc');

        throw new UsageException([
            'class' => 'usage',
            'code' => 'ffi.unsupported_platform',
            'message' => sprintf(
                'this incwo/connector package carries libincwo_ffi for %s only; this machine is %s (PHP_OS_FAMILY %s, machine %s%s)',
                $carried === [] ? 'no platform' : implode(', ', $carried),
                $platform,
                $osFamily,
                $machine,
                $libc,
            ),
            'hint' => 'build the library for this platform from the connector\'s source with Rust (`cargo build --release -p incwo-ffi`, giving target/release/'
                . self::fileName($platform) . ') and set INCWO_FFI_LIBRARY to its path (for PHP-FPM, in the master\'s environment or through ffi.preload: see the package README)',
        ]);
    }
}

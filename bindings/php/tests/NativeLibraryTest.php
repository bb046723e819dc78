<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Exception\UsageException;
use Incwo\Connector\NativeLibrary;
use PHPUnit\Framework\TestCase;

/**
 * The library a package carries (lib/<platform>/), found by platform, and
 * the error on a platform it carries none for (the installed package itself
 * is checked by scripts/suites/install.sh).
 */
final class NativeLibraryTest extends TestCase
{
    private string $dir;

    protected function setUp(): void
    {
        $this->dir = sys_get_temp_dir() . '/incwo-native-' . bin2hex(random_bytes(6));
        mkdir($this->dir . '/lib/linux-x86_64-gnu', 0o777, true);
        touch($this->dir . '/lib/linux-x86_64-gnu/libincwo_ffi.so');
    }

    protected function tearDown(): void
    {
        @unlink($this->dir . '/lib/linux-x86_64-gnu/libincwo_ffi.so');
        @unlink($this->dir . '/root/lib/ld-musl-aarch64.so.1');
        foreach (['/lib/linux-x86_64-gnu', '/lib', '/root/lib', '/root', ''] as $sub) {
            @rmdir($this->dir . $sub);
        }
    }

    public function testPlatformTags(): void
    {
        self::assertSame('linux-x86_64-gnu', NativeLibrary::platform('Linux', 'x86_64', false));
        self::assertSame('linux-x86_64-musl', NativeLibrary::platform('Linux', 'amd64', true));
        self::assertSame('linux-aarch64-gnu', NativeLibrary::platform('Linux', 'aarch64', false));
        self::assertSame('darwin-aarch64', NativeLibrary::platform('Darwin', 'arm64', false));
        self::assertSame('windows-x86_64', NativeLibrary::platform('Windows', 'AMD64', false));
        self::assertSame('libincwo_ffi.dylib', NativeLibrary::fileName('darwin-aarch64'));
        self::assertSame('libincwo_ffi.so', NativeLibrary::fileName('linux-x86_64-musl'));
    }

    public function testMuslIsToldByItsDynamicLoader(): void
    {
        mkdir($this->dir . '/root/lib', 0o777, true);
        self::assertFalse(NativeLibrary::isMusl($this->dir . '/root'));
        touch($this->dir . '/root/lib/ld-musl-aarch64.so.1');
        self::assertTrue(NativeLibrary::isMusl($this->dir . '/root'));
    }

    public function testThePackagedLibraryOfThePlatform(): void
    {
        self::assertSame($this->dir . '/lib/linux-x86_64-gnu/libincwo_ffi.so', NativeLibrary::packaged($this->dir, 'Linux', 'x86_64', false));
        self::assertNull(NativeLibrary::packaged($this->dir . '/lib/linux-x86_64-gnu'), 'no lib/: a checkout of the repository');
    }

    public function testAnotherPlatformIsAUsageExceptionNamingIt(): void
    {
        $cases = [
            'linux-x86_64-musl' => ['Linux', 'x86_64', true, 'musl libc'],
            'linux-aarch64-gnu' => ['Linux', 'aarch64', false, 'machine aarch64, glibc'],
            'darwin-aarch64' => ['Darwin', 'arm64', false, 'PHP_OS_FAMILY Darwin, machine arm64'],
        ];
        foreach ($cases as $platform => [$os, $machine, $musl, $detail]) {
            try {
                NativeLibrary::packaged($this->dir, $os, $machine, $musl);
                self::fail("{$platform}: no exception");
            } catch (UsageException $e) {
                self::assertSame('ffi.unsupported_platform', $e->getErrorCode(), $platform);
                self::assertStringContainsString("carries libincwo_ffi for linux-x86_64-gnu only; this machine is {$platform}", $e->getMessage());
                self::assertStringContainsString($detail, $e->getMessage());
                self::assertStringContainsString('cargo build --release -p incwo-ffi', (string) $e->getHint());
                self::assertStringContainsString('INCWO_FFI_LIBRARY', (string) $e->getHint());
            }
        }
    }
}

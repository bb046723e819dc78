<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\UsageException;
use PHPUnit\Framework\TestCase;

/**
 * The header/library version check and the preloaded scope (the PHP-FPM run
 * itself is a step of scripts/suites/php.sh): the scope declared by
 * `ffi.preload` is used, in a PHP process of its own, and checked too.
 */
final class PreloadTest extends TestCase
{
    /** @var list<string> */
    private array $files = [];

    protected function tearDown(): void
    {
        foreach ($this->files as $file) {
            @unlink($file);
        }
    }

    public function testBothHeadersSayTheLibrarysVersion(): void
    {
        $version = Core::library()->incwo_version();
        foreach (['incwo.h', 'incwo.preload.h'] as $name) {
            self::assertSame($version, Core::headerVersion((string) file_get_contents(Support::root() . "/bindings/c/include/{$name}")), $name);
        }
        self::assertSame((new Core())->version(), $version);
    }

    public function testAHeaderOfAnotherReleaseIsRefused(): void
    {
        $header = (string) file_get_contents(Support::root() . '/bindings/c/include/incwo.h');
        $other = $this->file((string) preg_replace('/^#define INCWO_HEADER_VERSION .*$/m', '#define INCWO_HEADER_VERSION "0.0.0-other"', $header));
        $none = $this->file((string) preg_replace('/^#define INCWO_HEADER_VERSION .*$/m', '', $header));
        foreach (['ffi.version_mismatch' => $other, 'ffi.header_version_missing' => $none] as $code => $path) {
            try {
                new Core(null, Core::libraryPath(), $path);
                self::fail("{$code}: no exception");
            } catch (UsageException $e) {
                self::assertSame($code, $e->getErrorCode());
                self::assertStringContainsString($path, $e->getMessage());
                self::assertNotNull($e->getHint());
            }
        }
    }

    public function testWithoutAPreloadedScopeTheCliParsesTheHeader(): void
    {
        self::assertNull(Core::preloadedScope());
    }

    public function testDisabledFfiIsAClearUsageException(): void
    {
        $script = $this->file(sprintf(<<<'PHP'
            <?php
            require %s;
            try {
                new Incwo\Connector\Core();
            } catch (Incwo\Connector\Exception\UsageException $e) {
                echo json_encode(['code' => $e->getErrorCode(), 'hint' => $e->getHint() !== null]);
            }
            PHP, var_export(Support::root() . '/bindings/php/autoload.php', true)));
        $process = proc_open([PHP_BINARY, '-d', 'ffi.enable=0', $script], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($process);
        $out = (string) stream_get_contents($pipes[1]);
        $err = (string) stream_get_contents($pipes[2]);
        self::assertSame(0, proc_close($process), $err);
        self::assertSame(['code' => 'ffi.disabled', 'hint' => true], json_decode($out, true));
    }

    public function testTheScopeDeclaredByFfiPreloadIsUsedAndChecked(): void
    {
        $preload = (string) file_get_contents(Support::root() . '/bindings/c/include/incwo.preload.h');
        $header = $this->file((string) preg_replace('/^#define FFI_LIB .*$/m', '#define FFI_LIB "' . Core::libraryPath() . '"', $preload, 1));
        $script = $this->file(sprintf(<<<'PHP'
            <?php
            require %s;
            try {
                $core = new Incwo\Connector\Core();
                echo json_encode(['scope' => Incwo\Connector\Core::preloadedScope() !== null, 'valid' => $core->validate('customer', ['externalId' => 'C-1', 'name' => 'Acme', 'kind' => 'client'])['valid']]);
            } catch (Incwo\Connector\Exception\UsageException $e) {
                echo json_encode(['code' => $e->getErrorCode()]);
            }
            PHP, var_export(Support::root() . '/bindings/php/autoload.php', true)));
        $run = static function (array $env) use ($header, $script): array {
            $command = [PHP_BINARY, '-d', 'ffi.enable=preload', '-d', "ffi.preload={$header}", $script];
            $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
            self::assertIsResource($process);
            $out = (string) stream_get_contents($pipes[1]);
            $err = (string) stream_get_contents($pipes[2]);
            self::assertSame(0, proc_close($process), $err);

            return (array) json_decode($out, true);
        };
        // The header and library paths of FFI::cdef lead nowhere: only the scope can serve.
        $nowhere = ['INCWO_FFI_LIBRARY' => '/nonexistent/libincwo_ffi.so', 'INCWO_FFI_HEADER' => '/nonexistent/incwo.h'];
        self::assertSame(['scope' => true, 'valid' => true], $run($nowhere));
        $other = $this->file((string) preg_replace('/^#define INCWO_HEADER_VERSION .*$/m', '#define INCWO_HEADER_VERSION "0.0.0-other"', $preload));
        self::assertSame(['code' => 'ffi.version_mismatch'], $run(['INCWO_FFI_PRELOAD_HEADER' => $other] + $nowhere));
    }

    public function testPreloadPhpChecksTheScopeWhenPhpStarts(): void
    {
        if (!function_exists('opcache_get_status')) {
            self::markTestSkipped('opcache is not loaded');
        }
        $preload = (string) file_get_contents(Support::root() . '/bindings/c/include/incwo.preload.h');
        $header = $this->file((string) preg_replace('/^#define FFI_LIB .*$/m', '#define FFI_LIB "' . Core::libraryPath() . '"', $preload, 1));
        $script = $this->file(sprintf(<<<'PHP'
            <?php
            echo json_encode(['preloaded' => class_exists(Incwo\Connector\Core::class, false), 'scope' => Incwo\Connector\Core::preloadedScope() !== null]);
            PHP));
        // PHP preloads as opcache.preload_user when root (in a child, where
        // FFI::load is refused: the scope comes from ffi.preload).
        $run = static function (array $env) use ($header, $script): array {
            $command = [PHP_BINARY, '-d', 'ffi.enable=preload', '-d', "ffi.preload={$header}", '-d', 'opcache.enable=1', '-d', 'opcache.enable_cli=1',
                '-d', 'opcache.preload=' . Support::root() . '/bindings/php/preload.php', '-d', 'opcache.preload_user=' . (posix_getpwuid(posix_geteuid())['name'] ?? 'root'), $script];
            $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + getenv());
            self::assertIsResource($process);
            $out = (string) stream_get_contents($pipes[1]);
            stream_get_contents($pipes[2]);

            return [proc_close($process), json_decode($out, true)];
        };
        self::assertSame([0, ['preloaded' => true, 'scope' => true]], $run([]));
        $other = $this->file((string) preg_replace('/^#define INCWO_HEADER_VERSION .*$/m', '#define INCWO_HEADER_VERSION "0.0.0-other"', $preload));
        [$status, $out] = $run(['INCWO_FFI_PRELOAD_HEADER' => $other]);
        self::assertNotSame(0, $status, 'PHP started with a library of another release');
        self::assertNull($out);
    }

    private function file(string $text): string
    {
        $path = (string) tempnam(sys_get_temp_dir(), 'incwo-preload-test-');
        file_put_contents($path, $text);
        $this->files[] = $path;

        return $path;
    }
}

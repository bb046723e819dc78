<?php

// The opcache.preload script of incwo/connector, for PHP-FPM (and the other
// web SAPIs). PHP's default `ffi.enable=preload` allows FFI only in the CLI
// and in preloaded code, so this script preloads the class that calls FFI
// (Core, with the classes it throws) and the FFI scope INCWO: the library
// and its declarations, loaded once when PHP starts instead of in every
// request. php.ini (see README.md):
//
//   opcache.preload=/path/to/incwo/connector/preload.php
//   opcache.preload_user=www-data
//
// The scope comes from `ffi.preload=/path/to/incwo.preload.h` when that
// directive declares it (needed when PHP-FPM's master runs as root: PHP then
// preloads in a child process, where it refuses FFI::load); otherwise this
// script loads the package's preload header with `FFI_LIB` set to the
// library Core would load (Core::libraryPath(): $INCWO_FFI_LIBRARY, the one
// the installed package carries, or the workspace's build). Either way the
// header's release must be the library's, or PHP does not start.
declare(strict_types=1);

use Incwo\Connector\Core;
use Incwo\Connector\Exception\UsageException;

foreach (['Exception/IncwoException', 'Exception/BusinessException', 'Exception/ContractException', 'Exception/TechnicalException', 'Exception/UsageException', 'Json', 'Flow', 'NativeLibrary', 'Core'] as $class) {
    require_once __DIR__ . "/src/{$class}.php";
}

try {
    FFI::scope(Core::FFI_SCOPE);
} catch (FFI\Exception) {
    // Not declared by ffi.preload: load the preload header, its FFI_LIB
    // pointing at the library Core finds.
    $library = Core::libraryPath();
    $header = Core::preloadHeaderPath();
    $text = @file_get_contents($header);
    if ($text === false) {
        throw new UsageException(['class' => 'usage', 'code' => 'ffi.header_not_found', 'message' => "cannot read the preload header {$header}", 'hint' => 'set INCWO_FFI_PRELOAD_HEADER or keep incwo.preload.h beside incwo.h']);
    }
    if (str_contains($library, '"') || str_contains($library, "\n")) {
        throw new UsageException(['class' => 'usage', 'code' => 'ffi.library_not_loaded', 'message' => 'the library path holds a double quote or a line break', 'hint' => 'move libincwo_ffi.so to a plain path and set INCWO_FFI_LIBRARY']);
    }
    $copy = tempnam(sys_get_temp_dir(), 'incwo-preload-');
    try {
        file_put_contents($copy, (string) preg_replace('/^#define FFI_LIB .*$/m', '#define FFI_LIB "' . $library . '"', $text, 1));
        FFI::load($copy);
    } catch (FFI\Exception $e) {
        throw new UsageException(['class' => 'usage', 'code' => 'ffi.library_not_loaded', 'message' => "cannot preload {$library} with {$header}: {$e->getMessage()}", 'hint' => 'build it with `cargo build -p incwo-ffi` or set INCWO_FFI_LIBRARY for PHP; when PHP-FPM\'s master runs as root, declare the scope with ffi.preload=' . $header . ' and put libincwo_ffi.so on the dynamic loader\'s path instead'], '', $e);
    } finally {
        @unlink($copy);
    }
}

// Checks the scope's release against the header's (a UsageException stops
// PHP's start); requests then trust it (Core::preloadedScope()).
if (Core::checkedPreloadedScope() === null) {
    throw new UsageException(['class' => 'usage', 'code' => 'ffi.library_not_loaded', 'message' => 'the FFI scope ' . Core::FFI_SCOPE . ' was not declared', 'hint' => 'use the package\'s incwo.preload.h, which declares it']);
}

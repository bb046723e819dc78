<?php
// PHP host bench: the core through FFI against the usual Symfony way
// (Serializer + XmlEncoder, Validator attributes, bcmath; services built
// once) and plain PHP (json_decode + bcmath + string building). Same input,
// same output bytes: every implementation is checked against the core's XML
// on the bench orders and the edge cases before anything is timed.
//
// php -d ffi.enable=1 -d opcache.enable_cli=1 -d opcache.jit=tracing -d opcache.jit_buffer_size=64M \
//     bench/php/bench.php ORDERS_DIR OUT.json
// SPDX-License-Identifier: MIT OR Apache-2.0
declare(strict_types=1);
ini_set('precision', '-1');

[$_, $ordersDir, $outFile] = $argv + [null, null, null];
if ($ordersDir === null || $outFile === null) {
    fwrite(STDERR, "usage: bench.php ORDERS_DIR OUT.json\n");
    exit(2);
}
$root = dirname(__DIR__, 2);
require_once $root . '/bindings/php/autoload.php';
foreach (['Symfony/Component/Serializer', 'Symfony/Component/Validator', 'Symfony/Component/PropertyAccess',
    'Symfony/Component/PropertyInfo', 'Symfony/Component/Cache', 'phpDocumentor/Reflection/DocBlock'] as $c) {
    if (is_file("/usr/share/php/$c/autoload.php")) {
        require_once "/usr/share/php/$c/autoload.php";
    }
}
require_once __DIR__ . '/impl.php';

use Incwo\Connector\Core;

function stats(array $xs): array
{
    sort($xs);
    $n = count($xs);
    return ['medianUs' => $xs[intdiv($n, 2)] * 1e6, 'minUs' => $xs[0] * 1e6, 'maxUs' => $xs[$n - 1] * 1e6];
}

/** Seconds per call: `samples` samples of enough calls to last ≥ 20 ms. */
function timeit(callable $f, int $samples = 15): array
{
    $f();
    $t = hrtime(true);
    $f();
    $one = max((hrtime(true) - $t) / 1e9, 1e-9);
    $per = max(1, min(200000, (int) ceil(0.02 / $one)));
    $xs = [];
    for ($s = 0; $s < $samples; $s++) {
        $t = hrtime(true);
        for ($i = 0; $i < $per; $i++) {
            $f();
        }
        $xs[] = (hrtime(true) - $t) / 1e9 / $per;
    }
    return stats($xs);
}

$impls = [];
$result = ['host' => 'php', 'version' => PHP_VERSION, 'jit' => (string) ini_get('opcache.jit'),
    'opcache' => (bool) ini_get('opcache.enable_cli'), 'rows' => [], 'notes' => []];
$core = null;
try {
    $core = new Core();
    $impls['core_ffi'] = fn (string $json): string => $core->map('order', $json)['xml'];
    $impls['core_ffi_text'] = fn (string $json): string => json_decode($core->mapJson('order', $json), true, 512, JSON_THROW_ON_ERROR)['xml'];
    $impls['core_ffi_xml'] = fn (string $json): string => $core->mapXml('order', $json);
} catch (\Throwable $e) {
    $result['notes'][] = 'core through FFI: binding not built yet (' . $e->getMessage() . ')';
}
$services = null;
if (class_exists(\Symfony\Component\Serializer\Serializer::class) && class_exists(\Symfony\Component\Validator\Validation::class)) {
    $services = new BenchPeers\Services();
    $impls['symfony'] = fn (string $json): string => BenchPeers\sf_objects($services, $json);
} else {
    $result['notes'][] = 'Symfony Serializer/Validator not installed (php-symfony-serializer, php-symfony-validator)';
}
$impls['plain'] = fn (string $json): string => BenchPeers\plain($json);

// Same output bytes, on every bench order and edge case.
$files = glob("$ordersDir/*.json");
foreach ($impls as $name => $f) {
    foreach ($files as $file) {
        $expected = file_get_contents(substr($file, 0, -5) . '.xml');
        $got = $f(file_get_contents($file));
        if ($got !== $expected) {
            fwrite(STDERR, "$name differs from the core on $file:\n  expected $expected\n  got      $got\n");
            exit(1);
        }
    }
}
fwrite(STDERR, 'php: ' . implode(', ', array_keys($impls)) . ' give the core\'s bytes on ' . count($files) . " inputs\n");

$order10 = file_get_contents("$ordersDir/order-10.json");
$order1000 = file_get_contents("$ordersDir/order-1000.json");
foreach ($impls as $name => $f) {
    $ten = timeit(fn () => $f($order10));
    $thousand = timeit(fn () => $f($order1000), 7);
    $result['rows'][$name] = ['order10' => $ten, 'order1000' => $thousand,
        'usPerLineAt1000' => $thousand['medianUs'] / 1000, 'ordersPerSecond' => 1e6 / $ten['medianUs']];
    fwrite(STDERR, sprintf("php %-14s %9.2f µs per 10-line order, %7.3f µs per line at 1,000\n", $name, $ten['medianUs'], $thousand['medianUs'] / 1000));
}
if ($services !== null) {
    $cold = timeit(fn () => BenchPeers\sf_objects(new BenchPeers\Services(), $order10), 7);
    $result['rows']['symfony_cold'] = ['order10' => $cold, 'ordersPerSecond' => 1e6 / $cold['medianUs']];
}
// Batch: 1,000 ten-line orders in one mapMany call, against 1,000 calls of each peer.
if ($core !== null) {
    $batch = array_fill(0, 1000, $order10);
    $mapped = $core->mapMany('order', $batch);
    if (count($mapped) !== 1000 || $mapped[999] !== $impls['plain']($order10)) {
        fwrite(STDERR, "core_ffi_batch1000 differs from the core's bytes\n");
        exit(1);
    }
    $b = timeit(fn () => $core->mapMany('order', $batch), 7);
    $perOrder = array_map(fn ($v) => $v / 1000, $b);
    $result['rows']['core_ffi_batch1000'] = ['perOrder' => $perOrder, 'ordersPerSecond' => 1e6 / $perOrder['medianUs']];
    fwrite(STDERR, sprintf("php core mapMany of 1,000: %9.2f µs per order\n", $perOrder['medianUs']));
}
// Per-call overhead of a trivial call.
if ($core !== null) {
    $ffi = $core->ffi();
    $result['trivialCall'] = ['ffi_version' => timeit(fn () => $ffi->incwo_version()),
        'core_version' => timeit(fn () => $core->version()),
        'php_function' => timeit(fn () => strlen('x'))];
}
file_put_contents($outFile, json_encode($result, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE));

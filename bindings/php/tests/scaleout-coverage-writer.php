<?php

// One of the concurrent writers of ScaleOutIndexTest: saves COUNT coverages
// of `firms` with random watermarks (each with its fact) through
// PdoLedgerStore::write, as a worker's write-backs do.
// Usage: php -d ffi.enable=1 scaleout-coverage-writer.php DSN PREFIX COUNT
//   DSN: sqlite:PATH | mysql:unix_socket=…;dbname=… (user root)
// Prints one JSON line {max: the highest watermark it saved}.
declare(strict_types=1);

require __DIR__ . '/../autoload.php';

use Incwo\Connector\Checkpoint\PdoLedgerStore;

[, $dsn, $prefix, $count] = $argv;
$store = str_starts_with($dsn, 'mysql:') ? new PdoLedgerStore(new PDO($dsn, 'root', ''), $prefix) : PdoLedgerStore::connect($dsn, null, null, $prefix);
$max = 0;
for ($i = 0; $i < (int) $count; $i++) {
    $watermark = random_int(1, 1_000_000);
    $max = max($max, $watermark);
    $store->write([], (object) [
        'entries' => [(object) ['resource' => 'firms', 'marker' => 'W' . $watermark, 'found' => [(object) ['id' => $watermark]]]],
        'coverage' => (object) ['firms' => (object) ['watermark' => $watermark, 'totalPages' => 1, 'order' => 'ascending']],
    ]);
}
echo json_encode(['max' => $max], JSON_THROW_ON_ERROR), "\n";

<?php

// A second scale-out worker process of ScaleOutIndexTest: processes new
// customers one message each through RecordProcessor on the ledger (and
// marker index) shared with the test's process.
// Usage: php -d ffi.enable=1 scaleout-index-worker.php SIM_URL SQLITE_PATH TAG COUNT
// Prints one JSON line {outcomes: {status: n}}.
declare(strict_types=1);

require __DIR__ . '/../autoload.php';

use Incwo\Connector\Checkpoint\PdoLedgerStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\ScaleOut\RecordProcessor;
use Symfony\Component\HttpClient\HttpClient;

[, $simUrl, $path, $tag, $count] = $argv;
$connection = ['server' => $simUrl, 'businessFileId' => '123456', 'auth' => ['type' => 'basic', 'login' => 'api@example.fr', 'password' => 'secret'], 'allowInsecureHttp' => false];
$processor = new RecordProcessor(new Connector(new Core(), HttpClient::create(), $connection, [], null, null, 10.0), PdoLedgerStore::connect("sqlite:{$path}"), 4);
$outcomes = [];
for ($i = 0; $i < (int) $count; $i++) {
    $status = $processor->process(['kind' => 'customer', 'record' => ['externalId' => sprintf('%s-%03d', $tag, $i), 'name' => "Client {$tag} {$i}", 'kind' => 'client']])->status;
    $outcomes[$status] = ($outcomes[$status] ?? 0) + 1;
}
echo json_encode(['outcomes' => $outcomes], JSON_THROW_ON_ERROR), "\n";

<?php

// One of the two processes of TwoWriterTest: syncs a JSON Lines batch into
// the simulator through a state store shared with the other process.
// Usage: php -d ffi.enable=1 two-writer-worker.php SIM_URL STORE BATCH_FILE KEY
//   STORE: file:DIR | sqlite:PATH | mysql:unix_socket=…;dbname=… (user root)
// Prints one JSON line {summary, restarts, requests}; on an exception
// {error: {class, code}} and exit status 1.
declare(strict_types=1);

require __DIR__ . '/../autoload.php';

use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Checkpoint\PdoCheckpointStore;
use Incwo\Connector\Checkpoint\StateStoreException;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Symfony\Component\HttpClient\HttpClient;

[, $simUrl, $storeSpec, $batchFile, $key] = $argv;
$store = match (true) {
    str_starts_with($storeSpec, 'file:') => new FileCheckpointStore(substr($storeSpec, 5), 600.0),
    str_starts_with($storeSpec, 'mysql:') => new PdoCheckpointStore(new PDO($storeSpec, 'root', '')),
    default => new PdoCheckpointStore(new PDO($storeSpec)),
};
$connection = ['server' => $simUrl, 'businessFileId' => '123456', 'auth' => ['type' => 'basic', 'login' => 'api@example.fr', 'password' => 'secret'], 'allowInsecureHttp' => false];
$connector = new Connector(new Core(), HttpClient::create(), $connection, [], $store, null, 10.0);
try {
    $result = $connector->sync((string) file_get_contents($batchFile), $key);
    echo json_encode(['summary' => $result->summary['summary'] ?? $result->summary, 'restarts' => $result->log->restarts, 'requests' => $result->log->requests], JSON_THROW_ON_ERROR), "\n";
} catch (StateStoreException $e) {
    echo json_encode(['error' => ['class' => $e::class, 'code' => $e->getErrorCode(), 'message' => $e->getMessage()]], JSON_THROW_ON_ERROR), "\n";
    exit(1);
}

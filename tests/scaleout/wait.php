<?php

// Waits until COUNT records have a final outcome (synced, skipped,
// quarantined) written at or after SINCE (ms) in the ledger's outcome
// table; prints progress. Exit 1 on timeout.
// Usage: php wait.php LEDGER_DSN COUNT SINCE_MS TIMEOUT_S
declare(strict_types=1);

[$dsn, $count, $since, $timeout] = [$argv[1], (int) $argv[2], (int) $argv[3], (float) $argv[4]];
$deadline = microtime(true) + $timeout;
$last = -1;
$lastPrint = 0.0;
while (true) {
    try {
        $pdo = new PDO($dsn);
        $pdo->setAttribute(PDO::ATTR_TIMEOUT, 5);
        $statement = $pdo->prepare("SELECT COUNT(*) FROM incwo_record_outcome WHERE outcome IN ('synced', 'skipped', 'quarantined') AND updated_at >= ?");
        $statement->execute([$since]);
        $done = (int) $statement->fetchColumn();
        $pdo = null;
    } catch (PDOException) {
        $done = $last;
    }
    if ($done >= $count) {
        printf("wait: %d/%d records done\n", $done, $count);
        exit(0);
    }
    if (microtime(true) - $lastPrint > 10) {
        printf("wait: %d/%d records done\n", max(0, $done), $count);
        $lastPrint = microtime(true);
    }
    $last = $done;
    if (microtime(true) > $deadline) {
        fwrite(STDERR, "wait: timed out with {$done}/{$count} records done\n");
        exit(1);
    }
    usleep(300_000);
}

<?php

// Checks the simulator's state against a batch: no duplicate, every
// customer and order of the batch created once, each customer's orders
// created (ids ascending) in input order, and (with a ledger DSN) every
// record ended synced or skipped.
// Usage: php check.php SIM_BASE_URL BATCH.jsonl [LEDGER_DSN] [EXPECT_CREATES]
declare(strict_types=1);

[$base, $batch] = [$argv[1], $argv[2]];
$ledgerDsn = $argv[3] ?? '';
$expectCreates = isset($argv[4]) ? (int) $argv[4] : null;
$fail = static function (string $message): never {
    fwrite(STDERR, "check: FAILED: {$message}\n");
    exit(1);
};
$state = json_decode((string) file_get_contents(rtrim($base, '/') . '/_sim/state'), true, 512, JSON_THROW_ON_ERROR);
if (($state['duplicates'] ?? []) !== []) {
    $fail('duplicates: ' . json_encode(array_slice($state['duplicates'], 0, 5)));
}
$firms = [];
foreach ($state['objects']['firms'] as $firm) {
    $firms[(string) $firm['accounting_ref']][] = (int) $firm['id'];
}
$sheets = [];
foreach ($state['objects']['proposal_sheets'] as $sheet) {
    $sheets[(string) $sheet['title']][] = ['id' => (int) $sheet['id'], 'firm' => (int) $sheet['firm_id']];
}
$expected = ['customer' => 0, 'order' => 0];
$sequence = [];
foreach (file($batch, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) as $i => $line) {
    $r = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
    $expected[$r['kind']]++;
    if ($r['kind'] === 'customer') {
        $id = $r['record']['externalId'];
        if (count($firms[$id] ?? []) !== 1) {
            $fail("customer {$id}: " . count($firms[$id] ?? []) . ' firm(s)');
        }
    } else {
        $number = $r['record']['orderNumber'];
        $found = $sheets[$number] ?? [];
        if (count($found) !== 1) {
            $fail("order {$number}: " . count($found) . ' document(s)');
        }
        $customer = $r['record']['customerExternalId'];
        if ($found[0]['firm'] !== ($firms[$customer][0] ?? -1)) {
            $fail("order {$number} is not on its customer's firm");
        }
        $sequence[$customer][] = [$number, $found[0]['id']];
    }
}
foreach ($sequence as $customer => $orders) {
    for ($k = 1; $k < count($orders); $k++) {
        if ($orders[$k][1] <= $orders[$k - 1][1]) {
            $fail("customer {$customer}: {$orders[$k][0]} (id {$orders[$k][1]}) was created before {$orders[$k - 1][0]} (id {$orders[$k - 1][1]})");
        }
    }
}
$creates = (int) array_sum((array) ($state['counters']['creates'] ?? []));
if ($expectCreates !== null && $creates !== $expectCreates) {
    $fail("the simulator counted {$creates} creates, expected {$expectCreates}");
}
$summary = ['customers' => $expected['customer'], 'orders' => $expected['order'], 'creates' => $creates, 'faults_fired' => $state['counters']['faults_fired'] ?? []];
if ($ledgerDsn !== '') {
    $pdo = new PDO($ledgerDsn);
    $counts = [];
    foreach ($pdo->query('SELECT outcome, COUNT(*) FROM incwo_record_outcome GROUP BY outcome')->fetchAll(PDO::FETCH_NUM) as [$o, $n]) {
        $counts[$o] = (int) $n;
    }
    $summary['outcomes'] = $counts;
    $summary['runs'] = (int) $pdo->query('SELECT SUM(runs) FROM incwo_record_outcome')->fetchColumn();
}
echo 'check: OK ' . json_encode($summary, JSON_UNESCAPED_SLASHES) . "\n";

<?php

// Writes a batch of customers and their orders (JSON Lines) where each
// customer's records keep their order (customer first, then its orders
// numbered 0001, 0002, …) while customers interleave at random (seeded).
// Usage: php gen.php OUT CUSTOMERS RECORDS PREFIX [SEED]
declare(strict_types=1);

[$out, $customers, $records, $prefix] = [$argv[1], (int) $argv[2], (int) $argv[3], $argv[4]];
mt_srand((int) ($argv[5] ?? 7));
$perCustomer = array_fill(0, $customers, intdiv($records - $customers, $customers));
for ($i = 0; $i < ($records - $customers) % $customers; $i++) {
    $perCustomer[$i]++;
}
$next = array_fill(0, $customers, 0);
$open = range(0, $customers - 1);
$lines = [];
while ($open !== []) {
    $pick = mt_rand(0, count($open) - 1);
    $c = $open[$pick];
    $id = sprintf('%s-C%04d', $prefix, $c);
    if ($next[$c] === 0) {
        $lines[] = ['kind' => 'customer', 'record' => ['externalId' => $id, 'name' => "Client {$id}", 'kind' => 'client', 'email' => strtolower("c{$c}@example.fr"),
            'billingAddress' => ['line1' => "{$c} rue des Tests", 'zipCode' => '69002', 'city' => 'Lyon', 'country' => 'FR']]];
    } else {
        $n = $next[$c];
        $lines[] = ['kind' => 'order', 'record' => ['orderNumber' => sprintf('%s-O%04d', $id, $n), 'customerExternalId' => $id, 'orderDate' => '2026-04-11', 'currency' => 'EUR',
            'lines' => [['sku' => 'SKU-' . ($n % 7), 'description' => "Article {$n}", 'qty' => 1 + $n % 3, 'unitPriceExclTax' => 10 + $n % 50, 'taxCode' => 'TVA20']]]];
    }
    $next[$c]++;
    if ($next[$c] > $perCustomer[$c]) {
        array_splice($open, $pick, 1);
    }
}
$text = '';
foreach ($lines as $line) {
    $text .= json_encode($line, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) . "\n";
}
file_put_contents($out, $text);
fwrite(STDERR, sprintf("gen: %d records, %d customers -> %s\n", count($lines), $customers, $out));

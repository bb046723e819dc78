<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Tests\App\TestKernel;
use PHPUnit\Framework\TestCase;
use Symfony\Bundle\FrameworkBundle\Console\Application;
use Symfony\Component\Console\Tester\CommandTester;
use Symfony\Component\HttpFoundation\Request;

/**
 * The quarantine workflow end to end in the Symfony bundle, against the
 * simulator over real HTTP (Symfony HttpClient): a contract-violating order
 * is quarantined by `incwo:sync`, listed, shown with its violation path and
 * runbook line, fixed, replayed (`replay_total{reason="manual"}` = 1) and
 * synced exactly once (counted in the simulator's state); another is
 * dropped with a reason that is kept.
 */
final class QuarantineTest extends TestCase
{
    private static ?Simulator $sim = null;

    private static ?TestKernel $kernel = null;

    private static string $varDir;

    public static function setUpBeforeClass(): void
    {
        self::$sim = new Simulator();
        self::$varDir = sys_get_temp_dir() . '/incwo-php-quarantine-' . getmypid();
        putenv('INCWO_PASSWORD=secret');
        $_ENV['INCWO_PASSWORD'] = $_SERVER['INCWO_PASSWORD'] = 'secret';
        self::$kernel = new TestKernel(self::$sim->baseUrl, self::$varDir);
        self::$kernel->boot();
    }

    public static function tearDownAfterClass(): void
    {
        self::$kernel?->shutdown();
        self::$sim?->stop();
        exec('rm -rf ' . escapeshellarg(self::$varDir));
    }

    public function testAContractViolatingOrderIsQuarantinedListedShownFixedReplayedOnceOrDropped(): void
    {
        $dir = self::$varDir . '/work';
        @mkdir($dir, 0o700, true);
        file_put_contents("{$dir}/batch.jsonl", self::batch());

        // Quarantined by the sync: nothing reaches incwo.
        [$status, $out] = $this->console('incwo:sync', ['batch' => "{$dir}/batch.jsonl", '--checkpoint-key' => 'shop']);
        self::assertSame(1, $status, $out);
        self::assertStringContainsString('4 records, 2 synced, 0 skipped, 2 quarantined', $out);
        self::assertSame(0, $this->ordersInIncwo('CMD-Q-1'));

        // Listed: table, JSON, filters.
        [$status, $table] = $this->console('incwo:quarantine:list');
        self::assertSame(0, $status, $table);
        self::assertMatchesRegularExpression('/^\s*ID\s+STATE\s+CODE\s+CLASS\s+KIND\s+EXTERNAL ID\s+FIRST SEEN\s+ATTEMPTS/m', $table);
        self::assertStringContainsString('contract.invalid', $table);
        self::assertStringContainsString('CMD-Q-1', $table);
        self::assertStringContainsString('2 record(s)', $table);
        $entries = $this->listJson();
        self::assertCount(2, $entries);
        $ids = array_column($entries, 'id', 'externalId');
        [$first, $second] = [$ids['CMD-Q-1'], $ids['CMD-Q-2']];
        self::assertCount(2, $this->listJson(['--code' => 'contract.', '--class' => 'contract', '--resource' => 'order']));
        self::assertSame([], $this->listJson(['--code' => 'business.']));
        self::assertSame([], $this->listJson(['--resource' => 'invoice']));
        self::assertSame([], $this->listJson(['--older-than' => '1h']));
        [$status, $out, $err] = $this->console('incwo:quarantine:list', ['--older-than' => 'soon']);
        self::assertSame(2, $status);
        self::assertStringContainsString('not an age', $err);

        // Shown: the violation's path, the runbook line, the record redacted.
        [$status, $show] = $this->console('incwo:quarantine:show', ['id' => $first]);
        self::assertSame(0, $status, $show);
        self::assertStringContainsString('/lines/0/unitPriceExclTax  required', $show);
        self::assertStringContainsString('runbook: contract.invalid (contract): ', $show);
        self::assertStringContainsString('[email]', $show);
        self::assertStringNotContainsString('jane.doe', $show, 'personal data is redacted');
        self::assertStringContainsString('requests already made: none', $show);
        [$status, , $err] = $this->console('incwo:quarantine:show', ['id' => 'q-0']);
        self::assertSame(2, $status);
        self::assertStringContainsString('no quarantine entry q-0', $err);

        // Fixed and replayed: synced once, counted as a manual replay.
        file_put_contents("{$dir}/fixed.json", json_encode(self::order('CMD-Q-1', 49.9), JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION));
        $replay = ['ids' => [$first], '--record' => "{$dir}/fixed.json", '--checkpoint-key' => 'shop'];
        [$status, $out, $err] = $this->console('incwo:quarantine:replay', $replay);
        self::assertSame(0, $status, $out . $err);
        $result = json_decode($out, true, 512, JSON_THROW_ON_ERROR);
        self::assertSame([$first], $result['replayed'], $out);
        self::assertSame(['replay_total{reason="manual"} 1'], $result['metrics'], $out);
        self::assertSame(1, $result['summary']['synced'], $out);
        self::assertStringContainsString('1/1', $err, 'a progress bar on stderr');
        self::assertSame(1, $this->ordersInIncwo('CMD-Q-1'));
        $metrics = (string) self::$kernel->handle(Request::create('/metrics'))->getContent();
        self::assertStringContainsString('replay_total{reason="manual"} 1', $metrics);

        // A replayed entry is closed: replaying it again is refused.
        [$status, , $err] = $this->console('incwo:quarantine:replay', $replay);
        self::assertSame(2, $status, $err);
        self::assertStringContainsString('is replayed', $err);
        self::assertStringContainsString('[usage.quarantine_not_open]', $err, 'the core\'s code');
        self::assertStringContainsString('hint: ', $err, 'the core\'s hint');
        $replayed = $this->listJson(['--status' => 'replayed']);
        self::assertSame([$first], array_column($replayed, 'id'));
        self::assertSame(1, $this->ordersInIncwo('CMD-Q-1'));

        // The other one is dropped with its reason, kept (redacted).
        [$status, $out] = $this->console('incwo:quarantine:drop', ['ids' => [$second], '--reason' => 'cancelled by the shop, told jane.doe@example.com']);
        self::assertSame(0, $status, $out);
        self::assertStringContainsString('dropped  cancelled by the shop, told [email]', $out);
        self::assertSame([], $this->listJson());
        self::assertSame('cancelled by the shop, told [email]', $this->listJson(['--status' => 'dropped'])[0]['dropReason']);
        [$status, , $err] = $this->console('incwo:quarantine:drop', ['ids' => [$second], '--reason' => ' ']);
        self::assertSame(2, $status);
        self::assertStringContainsString('needs a reason', $err);
        self::assertSame(0, $this->ordersInIncwo('CMD-Q-2'));
    }

    /**
     * Runs a console command; returns its exit code, stdout and stderr.
     *
     * @param array<string, mixed> $args
     *
     * @return array{0: int, 1: string, 2: string}
     */
    private function console(string $name, array $args = []): array
    {
        $tester = new CommandTester((new Application(self::$kernel))->find($name));
        $status = $tester->execute($args, ['capture_stderr_separately' => true]);

        return [$status, $tester->getDisplay(), $tester->getErrorOutput()];
    }

    /**
     * @param array<string, mixed> $filters
     *
     * @return list<array<string, mixed>>
     */
    private function listJson(array $filters = []): array
    {
        [$status, $out, $err] = $this->console('incwo:quarantine:list', ['--json' => true] + $filters);
        self::assertSame(0, $status, $err);

        return json_decode($out, true, 512, JSON_THROW_ON_ERROR)['entries'];
    }

    /** The simulator's orders titled `$number` (and no duplicate anywhere). */
    private function ordersInIncwo(string $number): int
    {
        $state = json_decode(self::$sim->stateJson(), true, 512, JSON_THROW_ON_ERROR);
        self::assertSame([], $state['duplicates']);

        return count(array_filter($state['objects']['proposal_sheets'] ?? [], static fn (array $o): bool => ($o['title'] ?? null) === $number));
    }

    /** @return array<string, mixed> */
    private static function order(string $number, ?float $price): array
    {
        $line = ['sku' => 'KIT-API-01', 'description' => 'Kit, ask jane.doe@example.com', 'qty' => 2, 'taxCode' => 'TVA20'];
        if ($price !== null) {
            $line['unitPriceExclTax'] = $price;
        }

        return ['orderNumber' => $number, 'customerExternalId' => 'CLI-Q', 'orderDate' => '2026-04-11', 'currency' => 'EUR', 'lines' => [$line]];
    }

    private static function batch(): string
    {
        $lines = [
            ['kind' => 'customer', 'record' => ['externalId' => 'CLI-Q', 'name' => 'Client Q', 'kind' => 'client',
                'billingAddress' => ['line1' => '18 rue des Tanneurs', 'zipCode' => '69002', 'city' => 'Lyon', 'country' => 'FR']]],
            ['kind' => 'product', 'record' => ['sku' => 'KIT-API-01', 'name' => 'Kit', 'unitPriceExclTax' => 49.9, 'taxCode' => 'TVA20', 'unit' => 'unit', 'active' => true]],
            ['kind' => 'order', 'record' => self::order('CMD-Q-1', null)],
            ['kind' => 'order', 'record' => self::order('CMD-Q-2', null)],
        ];

        return implode('', array_map(static fn (array $l): string => json_encode($l, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION) . "\n", $lines));
    }
}

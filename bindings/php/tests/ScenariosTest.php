<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Checkpoint\FileCheckpointStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Core;
use Incwo\Connector\Json;
use Incwo\Connector\RunLog;
use PHPUnit\Framework\TestCase;
use Symfony\Component\HttpClient\HttpClient;

/**
 * Every scenario of tests/scenarios/ end to end over real loopback HTTP
 * (Symfony HttpClient) against incwo-sim, as tests/scenarios/README.md says.
 */
final class ScenariosTest extends TestCase
{
    private static ?Simulator $sim = null;

    public static function setUpBeforeClass(): void
    {
        self::$sim = new Simulator();
    }

    public static function tearDownAfterClass(): void
    {
        self::$sim?->stop();
        self::$sim = null;
    }

    /** @return iterable<string, array{string}> */
    public static function scenarios(): iterable
    {
        $files = glob(Support::root() . '/tests/scenarios/*.json') ?: [];
        sort($files);
        foreach ($files as $file) {
            yield basename($file, '.json') => [$file];
        }
    }

    public function testThereAreScenarios(): void
    {
        $count = count(iterator_to_array(self::scenarios()));
        if ($count === 0) {
            self::markTestSkipped('no scenario file in tests/scenarios/ yet');
        }
        self::assertGreaterThan(0, $count);
    }

    /** @dataProvider scenarios */
    public function testScenario(string $file): void
    {
        $sim = self::$sim;
        $scenario = Support::objects(file_get_contents($file));
        $dir = dirname($file);
        $profile = isset($scenario->profileFile) ? file_get_contents("{$dir}/{$scenario->profileFile}") : null;
        $core = new Core($profile);
        $store = new FileCheckpointStore(sys_get_temp_dir() . '/incwo-php-scenarios-' . getmypid());
        $key = basename($file, '.json');
        $store->delete($key);
        $options = isset($scenario->options) ? json_decode(Json::text($scenario->options), true) : [];
        $connector = new Connector($core, HttpClient::create(), $sim->connection(), $options, $store, null, 2.0);
        $sim->reset();
        $inbound = new InboundHost($sim, $connector, $scenario, $options);
        $failures = [];
        foreach ($scenario->steps as $n => $step) {
            $label = 'step ' . ($n + 1);
            $sim->clearFaults();
            if (!empty($step->faults)) {
                $sim->addFaults($step->faults);
            }
            $records = $step->records ?? [];
            $log = new RunLog();
            $flow = $connector->start($records, $store->load($key), 7 + $n);
            $crashAt = isset($step->crashAfterActions) ? (int) $step->crashAfterActions : null;
            if (!$connector->drive($flow, $log, $key, crashAt: $crashAt)) {
                // The crash: everything in memory is lost; resume from the last save.
                $flow->free();
                $flow = $connector->start($records, $store->load($key), 7 + $n);
                self::assertTrue($connector->drive($flow, $log, $key), "{$label}: the resumed run did not finish");
            }
            $metrics = $flow->metrics();
            $outcomes = Support::objects($flow->summaryJson())->outcomes;
            $expect = $step->expect ?? new \stdClass();
            $received = $inbound->step($step, $store, $key, $label, $failures);
            if (property_exists($expect, 'inbound')) {
                $diff = Support::mismatch($expect->inbound, Support::objects(json_encode($received, JSON_UNESCAPED_SLASHES)));
                if ($diff !== null) {
                    $failures[] = "{$label} inbound{$diff}; received " . json_encode(array_map(fn ($e) => $e['queue'] . ' ' . $e['type'], $received));
                }
            }
            if (isset($expect->outcomes)) {
                $diff = Support::mismatch($expect->outcomes, $outcomes);
                if ($diff !== null) {
                    $failures[] = "{$label} outcomes{$diff}; got " . json_encode($outcomes, JSON_UNESCAPED_SLASHES);
                }
            }
            foreach ($expect->published ?? [] as $wanted) {
                $found = false;
                foreach ($log->published as $event) {
                    $found = $found || ($event['queue'] === $wanted->queue && ($event['event']['type'] ?? null) === $wanted->type);
                }
                if (!$found) {
                    $failures[] = "{$label}: no {$wanted->queue} {$wanted->type} among " . json_encode(array_map(fn ($e) => $e['queue'] . ' ' . ($e['event']['type'] ?? '?'), $log->published));
                }
            }
            foreach ($expect->metrics ?? [] as $metric) {
                $value = self::metric($metrics, $metric->sample);
                if (isset($metric->min) && $value < $metric->min) {
                    $failures[] = "{$label}: {$metric->sample} = {$value}, expected ≥ {$metric->min}";
                }
                if (isset($metric->equals) && $value != $metric->equals) {
                    $failures[] = "{$label}: {$metric->sample} = {$value}, expected {$metric->equals}";
                }
            }
            foreach (get_object_vars($expect->requests ?? new \stdClass()) as $method => $count) {
                $sent = $log->requests[$method] ?? 0;
                if ($sent !== $count) {
                    $failures[] = "{$label}: {$sent} {$method} requests sent, expected {$count}";
                }
            }
            $flow->free();
        }
        $inbound->stop();
        $sim->clearFaults();
        $state = Support::objects($sim->stateJson());
        if (!empty($state->duplicates)) {
            $failures[] = 'duplicates in incwo: ' . json_encode($state->duplicates);
        }
        $diff = Support::mismatch($scenario->incwo ?? new \stdClass(), $state);
        if ($diff !== null) {
            $failures[] = "incwo state{$diff}";
        }
        $store->delete($key);
        self::assertSame([], $failures, implode("\n", $failures));
    }

    private static function metric(string $text, string $sample): float
    {
        foreach (explode("\n", $text) as $line) {
            if (str_starts_with($line, $sample . ' ')) {
                return (float) trim(substr($line, strlen($sample) + 1));
            }
        }

        return 0.0;
    }
}

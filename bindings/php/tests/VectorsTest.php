<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use PHPUnit\Framework\TestCase;

/** Every golden vector of tests/vectors/ through the FFI binding. */
final class VectorsTest extends TestCase
{
    /** @return iterable<string, array{string}> */
    public static function vectors(): iterable
    {
        foreach (Support::vectorFiles() as $relative) {
            yield $relative => [$relative];
        }
    }

    public function testThereAreVectors(): void
    {
        self::assertGreaterThanOrEqual(40, iterator_count(self::vectors()));
    }

    /** The `map` vectors through mapXml and mapMany give map()'s bytes, warnings and errors. */
    public function testMapVectorsThroughTheXmlCallsGiveTheSameResults(): void
    {
        ['diffs' => $diffs, 'records' => $records] = Support::mapBatchMismatches();
        self::assertGreaterThanOrEqual(24, $records);
        self::assertSame([], $diffs);
    }

    /** @dataProvider vectors */
    public function testVector(string $relative): void
    {
        ['json' => $json, 'diff' => $diff] = Support::runVector($relative);
        self::assertNull($diff, "{$relative}: {$diff}\n  actual: " . substr($json, 0, 2000));
    }
}

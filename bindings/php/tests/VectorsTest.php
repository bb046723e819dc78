<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Json;
use PHPUnit\Framework\TestCase;

/** Every golden vector of tests/vectors/ through the FFI binding. */
final class VectorsTest extends TestCase
{
    /** @var array<string, Core> cores by profile file */
    private static array $cores = [];

    /** @return iterable<string, array{string}> */
    public static function vectors(): iterable
    {
        $base = Support::root() . '/tests/vectors';
        $files = [];
        $iterator = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($base, \FilesystemIterator::SKIP_DOTS));
        foreach ($iterator as $file) {
            $relative = substr((string) $file, strlen($base) + 1);
            if (str_ends_with($relative, '.json') && !preg_match('#^(fixtures|profiles)/#', $relative)) {
                $files[] = $relative;
            }
        }
        sort($files);
        foreach ($files as $relative) {
            yield $relative => [$relative];
        }
    }

    public function testThereAreVectors(): void
    {
        self::assertGreaterThanOrEqual(40, iterator_count(self::vectors()));
    }

    /** @dataProvider vectors */
    public function testVector(string $relative): void
    {
        $base = Support::root() . '/tests/vectors';
        $text = file_get_contents("{$base}/{$relative}");
        $vector = Support::objects($text);
        $profileFile = $vector->profileFile ?? null;
        $core = self::$cores[$profileFile ?? ''] ??= new Core($profileFile !== null ? file_get_contents("{$base}/{$profileFile}") : null);
        $args = $vector->args ?? new \stdClass();
        $input = null;
        if (isset($vector->inputText)) {
            $input = $vector->inputText;
        } elseif (isset($vector->inputFile)) {
            $input = file_get_contents("{$base}/{$vector->inputFile}");
        } elseif (property_exists($vector, 'input')) {
            $input = Json::text($vector->input);
        }
        try {
            $json = match ($vector->call) {
                'validate' => $core->validateJson($args->kind, $input),
                'map' => $core->mapJson($args->kind, $input),
                'schema' => $core->schemaJson($args->kind),
                'parse' => $core->parseJson($args->resource, $input),
                default => $core->callJson($vector->call, Json::text($args)),
            };
        } catch (IncwoException $e) {
            $json = $e->getRawJson();
            self::assertNotSame('', $json, "{$relative}: {$e->getErrorCode()} without an error document");
        }
        $diff = Support::mismatch($vector->expected, Support::objects($json));
        self::assertNull($diff, "{$relative}: {$diff}\n  actual: " . substr($json, 0, 2000));
    }
}

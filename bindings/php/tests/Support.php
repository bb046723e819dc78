<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Json;

/** Shared test helpers: paths, the golden vectors and their subset matching rule. */
final class Support
{
    /** @var array<string, Core> cores by profile file, for {@see runVector()} */
    private static array $cores = [];

    /** Releases the cores {@see runVector()} keeps (a leak check's last step). */
    public static function releaseCores(): void
    {
        self::$cores = [];
    }

    /** @return list<string> every golden vector, relative to tests/vectors, sorted */
    public static function vectorFiles(): array
    {
        $base = self::root() . '/tests/vectors';
        $files = [];
        $iterator = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($base, \FilesystemIterator::SKIP_DOTS));
        foreach ($iterator as $file) {
            $relative = substr((string) $file, strlen($base) + 1);
            if (str_ends_with($relative, '.json') && !preg_match('#^(fixtures|profiles)/#', $relative)) {
                $files[] = $relative;
            }
        }
        sort($files);

        return $files;
    }

    /**
     * Runs one golden vector through the FFI binding: the result's JSON (an
     * error's document when the call threw) and how it differs from the
     * expected one (null: it matches).
     *
     * @return array{json: string, diff: ?string}
     */
    public static function runVector(string $relative): array
    {
        $base = self::root() . '/tests/vectors';
        $vector = self::objects(file_get_contents("{$base}/{$relative}"));
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
        }
        $diff = $json === '' ? 'no result document' : self::mismatch($vector->expected, self::objects($json));

        return ['json' => $json, 'diff' => $diff];
    }

    /**
     * Every `map` vector through the XML calls: `mapXml` one by one and
     * `mapMany` in one call per profile and kind (the vectors' inputs, then
     * the same again, so that a batch holds several records). Each record
     * must give what `mapJson` gives: the same XML bytes and warnings, or an
     * exception of the same class carrying the same error document. Returns
     * the differences (empty: none) and how many records were compared.
     *
     * @return array{diffs: list<string>, records: int}
     */
    public static function mapBatchMismatches(): array
    {
        $base = self::root() . '/tests/vectors';
        $groups = [];
        foreach (self::vectorFiles() as $relative) {
            $vector = self::objects(file_get_contents("{$base}/{$relative}"));
            if ($vector->call !== 'map') {
                continue;
            }
            $input = $vector->inputText ?? (isset($vector->inputFile) ? file_get_contents("{$base}/{$vector->inputFile}") : Json::text($vector->input));
            $groups[($vector->profileFile ?? '') . "\0" . $vector->args->kind][$relative] = $input;
        }
        $diffs = [];
        $records = 0;
        foreach ($groups as $group => $inputs) {
            [$profileFile, $kind] = explode("\0", $group);
            $core = self::$cores[$profileFile] ??= new Core($profileFile !== '' ? file_get_contents("{$base}/{$profileFile}") : null);
            $named = [];
            foreach ([1, 2] as $round) {
                foreach ($inputs as $relative => $input) {
                    $named["{$relative}#{$round}"] = $input;
                }
            }
            $many = $core->mapMany($kind, $named, $manyWarnings);
            foreach ($named as $name => $input) {
                ++$records;
                try {
                    $want = json_decode($core->mapJson($kind, $input), true);
                    $wantError = null;
                } catch (IncwoException $e) {
                    $want = null;
                    $wantError = $e;
                }
                try {
                    $one = $core->mapXml($kind, $input, $oneWarnings);
                } catch (IncwoException $e) {
                    $one = $e;
                    $oneWarnings = [];
                }
                $got = ['mapXml' => [$one, $oneWarnings], 'mapMany' => [$many[$name] ?? null, $manyWarnings[$name] ?? []]];
                foreach ($got as $call => [$result, $warnings]) {
                    $diff = match (true) {
                        $want !== null && $result !== $want['xml'] => 'XML differs from map()',
                        $want !== null && $warnings !== $want['warnings'] => 'warnings differ from map()',
                        $wantError !== null && !($result instanceof IncwoException) => 'mapped a record map() refuses',
                        $wantError !== null && (get_class($result) !== get_class($wantError) || $result->getRawJson() !== $wantError->getRawJson()) => 'error differs from map()',
                        default => null,
                    };
                    if ($diff !== null) {
                        $diffs[] = "{$name} ({$call}): {$diff}";
                    }
                }
            }
        }

        return ['diffs' => $diffs, 'records' => $records];
    }

    /** The workspace root. */
    public static function root(): string
    {
        return dirname(__DIR__, 3);
    }

    /**
     * `$expected` matches `$actual` per tests/vectors/README.md (objects: the
     * named keys only; arrays: same length, element-wise; scalars: equal,
     * numbers compared as doubles). Returns null, or the path of the first difference.
     */
    public static function mismatch(mixed $expected, mixed $actual, string $at = ''): ?string
    {
        if ($expected instanceof \stdClass) {
            if (!$actual instanceof \stdClass) {
                return "{$at}: expected an object, got " . json_encode($actual);
            }
            foreach (get_object_vars($expected) as $key => $value) {
                if (!property_exists($actual, (string) $key)) {
                    return "{$at}/{$key}: missing";
                }
                $diff = self::mismatch($value, $actual->{$key}, "{$at}/{$key}");
                if ($diff !== null) {
                    return $diff;
                }
            }

            return null;
        }
        if (is_array($expected)) {
            if (!is_array($actual)) {
                return "{$at}: expected an array, got " . json_encode($actual);
            }
            if (count($expected) !== count($actual)) {
                return "{$at}: expected " . count($expected) . ' items, got ' . count($actual);
            }
            foreach (array_values($expected) as $i => $value) {
                $diff = self::mismatch($value, array_values($actual)[$i], "{$at}/{$i}");
                if ($diff !== null) {
                    return $diff;
                }
            }

            return null;
        }
        if ((is_int($expected) || is_float($expected)) && (is_int($actual) || is_float($actual))) {
            return (float) $expected === (float) $actual ? null : "{$at}: expected {$expected}, got {$actual}";
        }

        return $expected === $actual ? null : "{$at}: expected " . json_encode($expected) . ', got ' . json_encode($actual);
    }

    /** Decodes JSON to objects (keeps `{}` and `[]` apart). */
    public static function objects(string $json): mixed
    {
        return json_decode($json, false, 512, JSON_THROW_ON_ERROR);
    }
}

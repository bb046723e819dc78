<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

/** Shared test helpers: paths and the golden vectors' subset matching rule. */
final class Support
{
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

<?php

declare(strict_types=1);

namespace Incwo\Connector;

use Incwo\Connector\Exception\UsageException;

/** JSON encoding as the core expects it (UTF-8, exact zero fractions, `{}` kept). */
final class Json
{
    public const ENCODE = JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION;

    /**
     * A value as JSON text; a string is taken as JSON text already.
     *
     * @param string|array<mixed>|object $value
     */
    public static function text(string|array|object $value): string
    {
        if (is_string($value)) {
            return $value;
        }
        try {
            return json_encode($value, self::ENCODE);
        } catch (\JsonException $e) {
            throw new UsageException(['class' => 'usage', 'code' => 'usage.malformed_json', 'message' => 'cannot encode the value as JSON: ' . $e->getMessage()], '', $e);
        }
    }

    /**
     * Decodes the core's JSON output to arrays.
     *
     * @return array<mixed>
     */
    public static function decode(string $text): array
    {
        $value = json_decode($text, true, 512, JSON_BIGINT_AS_STRING);

        return is_array($value) ? $value : ['value' => $value];
    }
}

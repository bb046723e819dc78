<?php

declare(strict_types=1);

namespace Incwo\Connector\Checkpoint;

/**
 * Splits a flow checkpoint into its progress (the checkpoint with an empty
 * ledger: cursor, outcomes, retry state) and its ledger entries, and joins
 * them back, so that a store keeps entries one by one.
 *
 * @internal
 */
final class CheckpointParts
{
    private const FLAGS = JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION;

    /**
     * @return array{0: string, 1: array<string, string>} the progress text, and each entry's JSON by idempotency key
     */
    public static function split(string $checkpoint): array
    {
        $value = json_decode($checkpoint, false, 512, JSON_THROW_ON_ERROR);
        if (!$value instanceof \stdClass || !isset($value->ledger->entries) || !$value->ledger->entries instanceof \stdClass) {
            return [$checkpoint, []];
        }
        $entries = [];
        foreach (get_object_vars($value->ledger->entries) as $key => $entry) {
            $entries[(string) $key] = json_encode($entry, self::FLAGS);
        }
        $value->ledger->entries = new \stdClass();

        return [json_encode($value, self::FLAGS), $entries];
    }

    /**
     * The checkpoint of `$progress` holding `$entries` (JSON texts by key).
     *
     * @param array<string, string> $entries
     */
    public static function join(string $progress, array $entries): string
    {
        $value = json_decode($progress, false, 512, JSON_THROW_ON_ERROR);
        if (!$value instanceof \stdClass || ($entries === [] && !isset($value->ledger))) {
            return $progress;
        }
        $map = new \stdClass();
        foreach ($entries as $key => $entry) {
            $map->{$key} = json_decode($entry, false, 512, JSON_THROW_ON_ERROR);
        }
        $value->ledger ??= new \stdClass();
        $value->ledger->entries = $map;

        return json_encode($value, self::FLAGS);
    }
}

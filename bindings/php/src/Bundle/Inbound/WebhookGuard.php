<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Json;

/**
 * What the webhook endpoint remembers between requests, in files under one
 * directory so that it holds under PHP-FPM (each request its own process):
 * the failed-authentication throttle per client address (the core's
 * `inbound.throttle`, state read and written under an exclusive `flock`),
 * and whether the missing secret was already logged.
 */
final class WebhookGuard
{
    /** Throttle files older than this are swept (two windows). */
    private const STALE_SECONDS = 120;

    public function __construct(
        private readonly Core $core,
        private readonly string $dir,
    ) {
    }

    /**
     * The core's refusal (`status` 429, `retryAfterSeconds`, `error`) when
     * `$address` made too many failed authentications this minute, else null.
     *
     * @return array<string, mixed>|null
     */
    public function refusal(string $address): ?array
    {
        $file = $this->file($address);
        if (!is_file($file)) {
            return null;
        }
        $state = $this->withLock($file, LOCK_SH, static fn ($handle) => self::read($handle));

        $result = $this->throttle($state, false);

        return ($result['allowed'] ?? true) ? null : $result;
    }

    /** Counts a failed authentication of `$address` in its current window. */
    public function failed(string $address): void
    {
        $this->withLock($this->file($address), LOCK_EX, function ($handle): void {
            $result = $this->throttle(self::read($handle), true);
            ftruncate($handle, 0);
            rewind($handle);
            fwrite($handle, Json::text($result['state']));
            fflush($handle);
        });
        if (random_int(1, 50) === 1) {
            $this->sweep();
        }
    }

    /** True the first time it is asked while no secret is set (then false until {@see secretIsSet}). */
    public function firstNoSecret(): bool
    {
        $this->ensureDir();
        $handle = @fopen($this->dir . '/no-secret.logged', 'x');
        if ($handle === false) {
            return false;
        }
        fclose($handle);

        return true;
    }

    /** A secret is set: a later missing secret is logged again. */
    public function secretIsSet(): void
    {
        $marker = $this->dir . '/no-secret.logged';
        if (is_file($marker)) {
            @unlink($marker);
        }
    }

    /**
     * @param array<string, mixed>|null $state
     * @return array<string, mixed>
     */
    private function throttle(?array $state, bool $failed): array
    {
        $args = ['state' => $state, 'now' => (int) floor(microtime(true) * 1000), 'failed' => $failed];
        try {
            return $this->core->call('inbound.throttle', $args);
        } catch (IncwoException $e) {
            // Refused: the core's document carries the state and the status.
            return Json::decode($e->getRawJson());
        }
    }

    /** @param resource $handle */
    private static function read($handle): ?array
    {
        rewind($handle);
        $text = stream_get_contents($handle);
        if (!is_string($text) || $text === '') {
            return null;
        }
        try {
            $state = Json::decode($text);
        } catch (\Throwable) {
            return null; // unreadable: a new window
        }

        return is_array($state) && isset($state['windowStart'], $state['failures']) ? ['windowStart' => $state['windowStart'], 'failures' => $state['failures']] : null;
    }

    /**
     * @template T
     * @param callable(resource): T $work
     * @return T
     */
    private function withLock(string $file, int $mode, callable $work): mixed
    {
        $this->ensureDir();
        $handle = fopen($file, 'c+');
        if ($handle === false) {
            throw new \RuntimeException("cannot open the webhook throttle file {$file}; check that {$this->dir} is writable");
        }
        try {
            flock($handle, $mode);

            return $work($handle);
        } finally {
            flock($handle, LOCK_UN);
            fclose($handle);
        }
    }

    private function file(string $address): string
    {
        return $this->dir . '/throttle-' . hash('sha256', $address) . '.json';
    }

    private function ensureDir(): void
    {
        if (!is_dir($this->dir) && !@mkdir($this->dir, 0700, true) && !is_dir($this->dir)) {
            throw new \RuntimeException("cannot create the webhook guard directory {$this->dir}");
        }
    }

    private function sweep(): void
    {
        foreach (glob($this->dir . '/throttle-*.json') ?: [] as $file) {
            $mtime = @filemtime($file);
            if ($mtime !== false && $mtime < time() - self::STALE_SECONDS) {
                @unlink($file);
            }
        }
    }
}

<?php

declare(strict_types=1);

namespace Incwo\Connector;

use Symfony\Contracts\HttpClient\Exception\TimeoutExceptionInterface;
use Symfony\Contracts\HttpClient\Exception\TransportExceptionInterface;

/**
 * The core's transport failure `{kind, phase}` of a failed Symfony HttpClient
 * request, read from structured signals only: the exception's class and the
 * response's info kept at the failure (timings, peer address, status), never
 * the wording of the message. Symfony HttpClient 5.4 exposes no curl error
 * number, so the phase comes from how far the timings got:
 *
 * - curl: a status or a `pretransfer_time` means the request was (being)
 *   written → `sent`; a peer address (or a TCP or TLS time) without it, on
 *   https, means the TLS handshake failed → `tls_handshake`; nothing → `connect`.
 * - native (PHP streams): `connect_time` is only set once the stream, TLS
 *   included, is open, and the request is written right after → `sent`;
 *   without it → `connect` (TCP and TLS cannot be told apart; neither sent).
 * - anything else (no such info, a mock, a decorator without it) → `unknown`,
 *   which the core treats as "may have been sent".
 *
 * Only `connect` and `tls_handshake` tell the core that nothing left.
 */
final class TransportFailure
{
    /** Slack between curl's timeout clock and the `total_time` it reports (it rounds to the ms). */
    private const DURATION_SLACK = 0.05;

    /**
     * @param array<string, mixed> $info `$response->getInfo()` after the failure (`[]` when there was no response)
     *
     * @return array{kind: string, phase: string}
     */
    public static function of(TransportExceptionInterface $error, array $info): array
    {
        $phase = self::phase($info);

        return ['kind' => self::kind($error, $info, $phase), 'phase' => $phase];
    }

    /**
     * How far the request got: `connect`, `tls_handshake`, `sent` or `unknown`.
     *
     * @param array<string, mixed> $info
     */
    public static function phase(array $info): string
    {
        if ((int) ($info['http_code'] ?? 0) > 0) {
            return 'sent';
        }
        if (array_key_exists('pretransfer_time_us', $info)) {
            // curl: pretransfer is stamped just before the request's first byte.
            if ((int) $info['pretransfer_time_us'] > 0) {
                return 'sent';
            }
            $reached = (int) ($info['connect_time_us'] ?? 0) > 0
                || (int) ($info['appconnect_time_us'] ?? 0) > 0
                || (string) ($info['primary_ip'] ?? '') !== '';

            return $reached && self::isHttps($info) ? 'tls_handshake' : 'connect';
        }
        if (array_key_exists('connect_time', $info) && array_key_exists('primary_ip', $info)) {
            // Native streams: the connect notification comes once the stream (TLS included) is open.
            return (float) $info['connect_time'] > 0 ? 'sent' : 'connect';
        }

        return 'unknown';
    }

    /**
     * The label (error code and metric): timeout, dns, connect_refused, tls or reset.
     *
     * @param array<string, mixed> $info
     */
    private static function kind(TransportExceptionInterface $error, array $info, string $phase): string
    {
        if ($error instanceof TimeoutExceptionInterface || self::spentMaxDuration($info)) {
            return 'timeout';
        }

        return match ($phase) {
            'connect' => self::resolved($info) ? 'connect_refused' : 'dns',
            'tls_handshake' => 'tls',
            default => 'reset',
        };
    }

    /**
     * Whether the request ran for its whole `max_duration` (curl's timeout
     * and the native client's "max duration" both end there).
     *
     * @param array<string, mixed> $info
     */
    private static function spentMaxDuration(array $info): bool
    {
        $max = (float) ($info['max_duration'] ?? 0);

        return $max > 0 && (float) ($info['total_time'] ?? 0) + self::DURATION_SLACK >= $max;
    }

    /**
     * Whether the host name was resolved: curl times the lookup (an IP
     * literal included), the native client records the address it tries.
     *
     * @param array<string, mixed> $info
     */
    private static function resolved(array $info): bool
    {
        return (string) ($info['primary_ip'] ?? '') !== '' || (int) ($info['namelookup_time_us'] ?? 0) > 0;
    }

    /** @param array<string, mixed> $info */
    private static function isHttps(array $info): bool
    {
        return strtolower((string) parse_url((string) ($info['url'] ?? ''), PHP_URL_SCHEME)) === 'https';
    }
}

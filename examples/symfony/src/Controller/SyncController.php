<?php

declare(strict_types=1);

namespace App\Controller;

use Incwo\Connector\Bundle\MetricsStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Exception\TechnicalException;
use Psr\Container\ContainerInterface;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;

/**
 * `POST /sync/{key}`: syncs the JSON Lines batch of the body (one
 * `{"kind", "record"}` per line) like `incwo:sync`, its checkpoint kept under
 * `key`: the same request again creates nothing. It needs `Authorization:
 * Bearer <INCWO_SYNC_TOKEN>` and answers 503 while that variable is unset.
 *
 * Answers: 200 `{counts, requests, outcomes}`; 422 when a record was
 * quarantined; 502 when the run stopped (incwo unreachable or refusing);
 * 400 for a batch the core refuses; 500 `{error}` when the connector cannot
 * start (e.g. `ffi.not_preloaded` under PHP-FPM without preload.php).
 */
final class SyncController
{
    /**
     * @param ContainerInterface $services {@see Connector} and {@see MetricsStore}, made on first use (after authentication)
     * @param string|null        $token    the bearer secret (INCWO_SYNC_TOKEN; null or empty: the endpoint is off)
     */
    public function __construct(private readonly ContainerInterface $services, private readonly ?string $token)
    {
    }

    public function __invoke(Request $request, string $key): JsonResponse
    {
        if ($this->token === null || $this->token === '') {
            return self::refusal(503, 'sync.disabled', 'the sync endpoint is off: INCWO_SYNC_TOKEN is not set');
        }
        $authorization = (string) $request->headers->get('Authorization', '');
        if (!str_starts_with($authorization, 'Bearer ') || !hash_equals($this->token, substr($authorization, 7))) {
            return self::refusal(401, 'sync.unauthorized', 'send Authorization: Bearer <INCWO_SYNC_TOKEN>', ['WWW-Authenticate' => 'Bearer']);
        }
        $batch = (string) $request->getContent();
        if (trim($batch) === '') {
            return self::refusal(400, 'sync.empty_batch', 'the body holds no record (JSON Lines of {"kind", "record"})');
        }
        try {
            $connector = $this->services->get(Connector::class);
        } catch (IncwoException $e) {
            return self::error($e, 500);
        }
        try {
            $result = $connector->sync($batch, "http-{$key}");
        } catch (IncwoException $e) {
            return self::error($e, $e instanceof TechnicalException ? 502 : 400);
        }
        $this->services->get(MetricsStore::class)->add($result->metrics);
        $counts = $result->counts();
        $status = isset($counts['stopped']) ? 502 : (($counts['quarantined'] ?? 0) > 0 ? 422 : 200);

        return new JsonResponse(['counts' => $counts, 'requests' => array_sum($result->log->requests), 'outcomes' => $result->outcomes()], $status);
    }

    private static function error(IncwoException $e, int $status): JsonResponse
    {
        return new JsonResponse(['error' => ['class' => $e->getErrorClass(), 'code' => $e->getErrorCode(), 'message' => $e->getMessage(), 'hint' => $e->getHint()]], $status);
    }

    /** @param array<string, string> $headers */
    private static function refusal(int $status, string $code, string $message, array $headers = []): JsonResponse
    {
        return new JsonResponse(['error' => ['class' => 'usage', 'code' => $code, 'message' => $message]], $status, $headers);
    }
}

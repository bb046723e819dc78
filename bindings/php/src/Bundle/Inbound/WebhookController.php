<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Json;
use Psr\Log\LoggerInterface;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Messenger\MessageBusInterface;

/**
 * `POST /incwo/webhook/{secret}`: incwo's webhook endpoint. The core checks
 * the ping (body, secret, source network, business file) and says what to
 * answer; an accepted ping is dispatched as an {@see InboundChangeMessage}
 * and answered 202 at once — incwo deactivates slow webhooks. Nothing from
 * the body is trusted: the handler re-reads the object.
 *
 * Secure by default: without a secret the core answers every call 503
 * `inbound.no_secret` (logged once; the bundle has no opt-out); a body over {@see MAX_BODY} is answered 413 unread; an address
 * that presented a wrong secret 10 times in a minute is answered 429 (the
 * core's `inbound.throttle`, state kept by {@see WebhookGuard} across
 * requests and processes). Log lines go through the core's redaction.
 */
final class WebhookController
{
    /** Largest body read (the core refuses anything over 64 KiB anyway). */
    public const MAX_BODY = 1024 * 1024;

    /**
     * @param array{secret?: ?string, allowNetworks?: list<string>|string|null, businessFileId?: string} $settings
     *        `allowNetworks` may be a comma-separated text (an env var)
     */
    public function __construct(
        private readonly Core $core,
        private readonly MessageBusInterface $bus,
        private readonly array $settings = [],
        private readonly ?WebhookGuard $guard = null,
        private readonly ?LoggerInterface $logger = null,
    ) {
    }

    public function __invoke(Request $request, string $secret = ''): JsonResponse
    {
        $settings = $this->settings();
        $address = (string) $request->getClientIp();
        $refusal = $this->guard?->refusal($address);
        if ($refusal !== null) {
            return new JsonResponse(
                ['error' => $refusal['error']['code'] ?? 'inbound.too_many_failures', 'message' => $refusal['error']['message'] ?? ''],
                429,
                self::retryAfter($refusal),
            );
        }
        $body = $this->body($request);
        if ($body === null) {
            return new JsonResponse(['error' => 'inbound.too_large', 'message' => 'the body is over 1 MiB'], 413);
        }
        $presented = $secret !== '' ? $secret : $request->query->get('token');
        $args = [
            'bodyBase64' => base64_encode($body),
            'contentType' => $request->headers->get('Content-Type'),
            'remoteAddr' => $request->getClientIp(),
            'presentedSecret' => is_string($presented) ? $presented : null,
            'settings' => $settings,
        ];
        try {
            $result = $this->core->call('inbound.webhook', $args);
        } catch (IncwoException $e) {
            // A refusal: its document carries the status to answer.
            $result = Json::decode($e->getRawJson() !== '' ? $e->getRawJson() : '{"status": 500}');
        }
        $status = (int) ($result['status'] ?? 500);
        if (isset($result['target']) && is_array($result['target'])) {
            $this->bus->dispatch(new InboundChangeMessage($result['target']));
        }
        $code = $result['error']['code'] ?? null;
        if ($code === 'inbound.bad_secret') {
            $this->guard?->failed($address);
        }
        if ($code === 'inbound.no_secret') {
            // The core refuses every call: say why once, not per call.
            if ($this->guard === null || $this->guard->firstNoSecret()) {
                $this->logger?->error(sprintf('incwo webhooks are refused (%d %s): %s. Set INCWO_WEBHOOK_SECRET (a long random value) and register the URL /incwo/webhook/<secret> in incwo.', $status, $code, (string) ($result['error']['message'] ?? '')));
            }

            return new JsonResponse(['error' => $code, 'message' => $result['error']['message'] ?? ''], $status, self::retryAfter($result));
        }
        $this->guard?->secretIsSet();
        if ($code !== null) {
            $this->logger?->warning($this->redact(sprintf('incwo webhook %s %s from %s: %d %s', $request->getMethod(), $request->getRequestUri(), $address, $status, $code)));
        }
        $answer = isset($result['error']) ? ['error' => $code ?? 'error', 'message' => $result['error']['message'] ?? ''] : ['accepted' => true];

        return new JsonResponse($answer, $status);
    }

    /**
     * The settings the core takes: empty values dropped, `allowNetworks`
     * split when given as a comma-separated text, `insecureNoSecret` never
     * passed (the bundle always wants a secret).
     *
     * @return array<string, mixed>
     */
    private function settings(): array
    {
        $settings = $this->settings;
        if (is_string($settings['allowNetworks'] ?? null)) {
            $settings['allowNetworks'] = array_values(array_filter(array_map('trim', explode(',', $settings['allowNetworks']))));
        }
        if (is_string($settings['secret'] ?? null) && trim($settings['secret']) === '') {
            $settings['secret'] = null;
        }
        // No opt-out here: the core's insecureNoSecret is for loopback trials (CLI, Python).
        unset($settings['insecureNoSecret']);

        return array_filter($settings, static fn ($v) => $v !== null && $v !== '' && $v !== []);
    }

    /** The body, or null when it is over {@see MAX_BODY} (read no further than that). */
    private function body(Request $request): ?string
    {
        $length = $request->headers->get('Content-Length');
        if (is_string($length) && ctype_digit($length) && (int) $length > self::MAX_BODY) {
            return null;
        }
        $stream = $request->getContent(true);
        $body = stream_get_contents($stream, self::MAX_BODY + 1);
        if (!is_string($body) || strlen($body) > self::MAX_BODY) {
            return null;
        }

        return $body;
    }

    private function redact(string $line): string
    {
        try {
            return (string) ($this->core->call('telemetry.redact', ['text' => $line])['text'] ?? '');
        } catch (\Throwable) {
            return 'incwo webhook refused (the log line could not be redacted)';
        }
    }

    /**
     * The `Retry-After` header of a refusal of the core's (a missing secret,
     * a throttled address): its `retryAfterSeconds`, none when it gave none.
     *
     * @param array<string, mixed> $refusal
     *
     * @return array<string, string>
     */
    private static function retryAfter(array $refusal): array
    {
        return isset($refusal['retryAfterSeconds']) ? ['Retry-After' => (string) $refusal['retryAfterSeconds']] : [];
    }
}

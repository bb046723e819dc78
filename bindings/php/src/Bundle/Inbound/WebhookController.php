<?php

declare(strict_types=1);

namespace Incwo\Connector\Bundle\Inbound;

use Incwo\Connector\Core;
use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Json;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Messenger\MessageBusInterface;

/**
 * `POST /incwo/webhook/{secret}`: incwo's webhook endpoint. The core checks
 * the ping (body, secret, source network, business file) and says what to
 * answer; an accepted ping is dispatched as an {@see InboundChangeMessage}
 * and answered 202 at once — incwo deactivates slow webhooks. Nothing from
 * the body is trusted: the handler re-reads the object.
 */
final class WebhookController
{
    /**
     * @param array{secret?: ?string, allowNetworks?: list<string>, businessFileId?: string} $settings
     */
    public function __construct(
        private readonly Core $core,
        private readonly MessageBusInterface $bus,
        private readonly array $settings = [],
    ) {
    }

    public function __invoke(Request $request, string $secret = ''): JsonResponse
    {
        $presented = $secret !== '' ? $secret : $request->query->get('token');
        $args = [
            'bodyBase64' => base64_encode((string) $request->getContent()),
            'contentType' => $request->headers->get('Content-Type'),
            'remoteAddr' => $request->getClientIp(),
            'presentedSecret' => is_string($presented) ? $presented : null,
            'settings' => array_filter($this->settings, static fn ($v) => $v !== null && $v !== '' && $v !== []) ?: new \stdClass(),
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
        $body = isset($result['error']) ? ['error' => $result['error']['code'] ?? 'error', 'message' => $result['error']['message'] ?? ''] : ['accepted' => true];

        return new JsonResponse($body, $status);
    }
}

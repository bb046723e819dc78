<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use Incwo\Connector\Bundle\Inbound\InboundChangeHandler;
use Incwo\Connector\Checkpoint\CheckpointStore;
use Incwo\Connector\Connector;
use Incwo\Connector\Exception\IncwoException;
use Symfony\Component\HttpClient\HttpClient;
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\MessageBusInterface;
use Symfony\Contracts\HttpClient\HttpClientInterface;

/**
 * The inbound side of a scenario (tests/scenarios/README.md, "Inbound"): a
 * webhook endpoint (`php -S` running the bundle's WebhookController) that
 * the simulator posts to, the changes "from the incwo UI", forged webhooks,
 * and the webhook / poll modes through the bundle's InboundChangeHandler and
 * the core's `inbound.poll`.
 */
final class InboundHost
{
    /** @var resource|null */
    private $process = null;

    private ?string $url = null;

    private string $queueFile;

    private HttpClientInterface $http;

    private mixed $pollState = null;

    public function __construct(
        private readonly Simulator $sim,
        private readonly Connector $connector,
        private readonly object $scenario,
        private readonly array $options,
    ) {
        $this->http = HttpClient::create(['timeout' => 5]);
        $this->queueFile = tempnam(sys_get_temp_dir(), 'incwo-inbound-');
        $spec = $scenario->inbound ?? null;
        if (($spec->webhooks ?? false) !== true) {
            return;
        }
        $server = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr((string) stream_socket_get_name($server, false), ':'), 1);
        fclose($server);
        $settings = ['businessFileId' => (string) $sim->connection()['businessFileId']];
        if (isset($spec->secret)) {
            $settings['secret'] = $spec->secret;
        }
        if (isset($spec->allowNetworks)) {
            $settings['allowNetworks'] = $spec->allowNetworks;
        }
        $env = getenv() + ['INCWO_INBOUND_QUEUE' => $this->queueFile, 'INCWO_INBOUND_SETTINGS' => json_encode($settings)];
        $env['INCWO_INBOUND_QUEUE'] = $this->queueFile;
        $env['INCWO_INBOUND_SETTINGS'] = json_encode($settings);
        $process = proc_open(
            [PHP_BINARY, '-d', 'ffi.enable=1', '-S', "127.0.0.1:{$port}", __DIR__ . '/inbound-endpoint.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'a'], 2 => ['file', '/dev/null', 'a']],
            $pipes,
            null,
            $env,
        );
        $this->process = is_resource($process) ? $process : null;
        $deadline = microtime(true) + 10;
        while (microtime(true) < $deadline && !@fsockopen('127.0.0.1', $port)) {
            usleep(50_000);
        }
        $this->url = "http://127.0.0.1:{$port}/incwo/webhook" . (isset($spec->secret) ? '/' . $spec->secret : '');
        $this->admin('PUT', '/_sim/webhooks', json_encode(['url' => $this->url, 'retryMs' => 20]));
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process);
            proc_close($this->process);
        }
        $this->process = null;
        @unlink($this->queueFile);
    }

    private function admin(string $method, string $path, ?string $body = null): array
    {
        $options = $body !== null ? ['body' => $body] : [];
        $response = $this->http->request($method, $this->sim->baseUrl . $path, $options);
        $text = $response->getContent(false);
        if ($response->getStatusCode() >= 300) {
            throw new \RuntimeException("{$method} {$path}: {$response->getStatusCode()} {$text}");
        }

        return json_decode($text, true) ?: [];
    }

    private function idOf(string $resource, string $marker): int
    {
        $state = json_decode($this->sim->stateJson(), true);
        $field = $state['marker_fields'][$resource] ?? 'title';
        foreach ($state['objects'][$resource] ?? [] as $object) {
            if (trim((string) ($object[$field] ?? '')) === $marker) {
                return (int) $object['id'];
            }
        }
        throw new \RuntimeException("no {$resource} with {$field} {$marker} in the simulator");
    }

    /**
     * Runs the step's inbound part; returns the change events received
     * (each the event plus its `queue`).
     *
     * @param list<string> $failures
     *
     * @return list<array<string, mixed>>
     */
    public function step(object $step, CheckpointStore $store, string $key, string $label, array &$failures): array
    {
        foreach ($step->incwoChanges ?? [] as $change) {
            $id = $this->idOf($change->resource, $change->marker);
            if (isset($change->progressId)) {
                $this->admin('PUT', "/_sim/documents/{$change->resource}/{$id}/progress", json_encode(['progress_id' => $change->progressId]));
            }
            if (isset($change->xml)) {
                $this->admin('PUT', "/_sim/objects/{$change->resource}/{$id}", $change->xml);
            }
            if (($change->delete ?? false) === true) {
                $this->admin('DELETE', "/_sim/objects/{$change->resource}/{$id}");
            }
        }
        foreach ($step->webhooks ?? [] as $i => $hook) {
            if ($this->url === null) {
                throw new \RuntimeException('webhooks need "inbound": {"webhooks": true}');
            }
            $body = is_string($hook->body) ? $hook->body : json_encode($hook->body, JSON_UNESCAPED_SLASHES);
            $body = preg_replace_callback('/\{\{id:([a-z_]+):([^}]+)\}\}/', fn ($m) => (string) $this->idOf($m[1], $m[2]), $body);
            $url = $this->url;
            if (property_exists($hook, 'secret')) {
                $url = (string) preg_replace('#/incwo/webhook(/.*)?$#', '/incwo/webhook/' . $hook->secret, $url);
            }
            $response = $this->http->request('POST', $url, ['body' => $body, 'headers' => ['Content-Type' => $hook->contentType ?? 'application/json']]);
            $status = $response->getStatusCode();
            if (isset($hook->expectStatus) && $status !== $hook->expectStatus) {
                $failures[] = "{$label}: webhook " . ($i + 1) . " answered {$status}, expected {$hook->expectStatus}";
            }
        }
        $mode = is_string($step->inbound ?? null) ? $step->inbound : ($step->inbound->mode ?? null);
        if ($mode === null) {
            return [];
        }
        $publications = [];
        if ($mode === 'webhook') {
            $deadline = microtime(true) + 10;
            while (microtime(true) < $deadline && ($this->admin('GET', '/_sim/webhooks')['pending'] ?? 0) !== 0) {
                usleep(20_000);
            }
            $lines = file($this->queueFile, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [];
            file_put_contents($this->queueFile, '');
            $bus = new class() implements MessageBusInterface {
                public function dispatch(object $message, array $stamps = []): Envelope
                {
                    return new Envelope($message, $stamps);
                }
            };
            $handler = new InboundChangeHandler($this->connector, $bus, $store, $this->sim->connection(), $this->options, $key);
            foreach ($lines as $line) {
                $publications = array_merge($publications, $handler->detect(json_decode($line, true)));
            }
        } elseif ($mode === 'poll') {
            $core = $this->connector->core();
            $args = [
                'config' => $this->sim->connection(),
                'options' => $this->options ?: new \stdClass(),
                'pageBudget' => (int) ($step->inbound->pageBudget ?? 10),
                'state' => $this->pollState,
            ];
            while (true) {
                $args['now'] = $this->connector->now();
                $checkpoint = $store->load($key);
                unset($args['checkpoint'], $args['entries']);
                if ($checkpoint !== null) {
                    $args['checkpoint'] = $checkpoint;
                } else {
                    $args['entries'] = [];
                }
                if ($core->profile() !== null) {
                    $args['profile'] = $core->profile();
                }
                try {
                    $result = $core->call('inbound.poll', $args);
                } catch (IncwoException $e) {
                    throw new \RuntimeException("{$label}: inbound.poll: " . $e->getMessage(), 0, $e);
                }
                if (isset($result['checkpoint'])) {
                    $store->save($key, $result['checkpoint']);
                }
                $publications = array_merge($publications, $result['events'] ?? []);
                $this->pollState = $result['state'];
                $args['state'] = $result['state'];
                if (isset($result['stopped'])) {
                    $failures[] = "{$label}: polling stopped: " . json_encode($result['stopped']);
                }
                if (($result['done'] ?? true) === true || $result['request'] === null) {
                    break;
                }
                $sent = $this->connector->send($result['request']);
                if (isset($sent['failure'])) {
                    $failures[] = "{$label}: a list page failed in transport";
                    break;
                }
                $args['response'] = $sent['response'];
                unset($args['pageBudget']);
            }
        } else {
            throw new \RuntimeException("{$label}: unknown inbound mode {$mode}");
        }

        return array_map(static fn (array $p) => $p['event'] + ['queue' => $p['queue']], $publications);
    }
}

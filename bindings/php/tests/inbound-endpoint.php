<?php

// Router of `php -S`: the scenario host's webhook endpoint. It runs the
// bundle's WebhookController (the core's intake) and "dispatches" accepted
// targets by appending them to the queue file the test reads.
declare(strict_types=1);

require __DIR__ . '/../autoload.php';

use Incwo\Connector\Bundle\Inbound\WebhookController;
use Incwo\Connector\Core;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Messenger\Envelope;
use Symfony\Component\Messenger\MessageBusInterface;

$bus = new class((string) getenv('INCWO_INBOUND_QUEUE')) implements MessageBusInterface {
    public function __construct(private readonly string $file)
    {
    }

    public function dispatch(object $message, array $stamps = []): Envelope
    {
        file_put_contents($this->file, json_encode($message->target) . "\n", FILE_APPEND | LOCK_EX);

        return new Envelope($message, $stamps);
    }
};
$settings = json_decode((string) getenv('INCWO_INBOUND_SETTINGS'), true) ?: [];
$request = Request::createFromGlobals();
$path = (string) parse_url((string) ($_SERVER['REQUEST_URI'] ?? '/'), PHP_URL_PATH);
if (!str_starts_with($path, '/incwo/webhook')) {
    http_response_code(404);

    return true;
}
$secret = trim(substr($path, strlen('/incwo/webhook')), '/');
(new WebhookController(new Core(null), $bus, $settings))($request, $secret)->send();

return true;

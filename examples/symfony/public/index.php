<?php

// Web front controller (GET /metrics, POST /sync/{key}). Serve with: php -d ffi.enable=1 -S 127.0.0.1:8000 public/index.php,
// or under PHP-FPM with the connector preloaded (README.md).
declare(strict_types=1);

use App\Kernel;
use Symfony\Component\HttpFoundation\Request;

require __DIR__ . '/../bin/autoload.php';

$kernel = new Kernel(getenv('APP_ENV') ?: 'dev', false);
$request = Request::createFromGlobals();
$response = $kernel->handle($request);
$response->send();
$kernel->terminate($request, $response);

<?php
// The endpoint of bench.sh: makes a Core as a request does (the first one of
// the request: scope or header parse + dlopen, then the version check) and a
// second one (the request's cache), and answers both times in µs.
// SPDX-License-Identifier: MIT OR Apache-2.0
declare(strict_types=1);

require dirname(__DIR__, 2) . '/bindings/php/autoload.php';

use Incwo\Connector\Core;

$t0 = hrtime(true);
$first = new Core();
$t1 = hrtime(true);
$again = new Core();
$t2 = hrtime(true);
header('Content-Type: application/json');
echo json_encode(['firstUs' => ($t1 - $t0) / 1e3, 'againUs' => ($t2 - $t1) / 1e3, 'scope' => Core::preloadedScope() !== null, 'version' => $first->version()]);

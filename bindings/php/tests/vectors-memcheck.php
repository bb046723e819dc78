<?php

// Every golden vector of tests/vectors/ through the FFI binding, then one flow
// driven through every flow export, in a lean script (no PHPUnit) so that it
// runs fast under valgrind's memcheck (scripts/suites/php.sh):
//
//   USE_ZEND_ALLOC=0 LD_PRELOAD=<libincwo_ffi.so> valgrind --error-exitcode=1 \
//     --leak-check=full php -n -d extension=ffi -d ffi.enable=1 -d pcre.jit=0 \
//     bindings/php/tests/vectors-memcheck.php
//
// It checks each result against its vector as VectorsTest does, so a run
// that passes under valgrind also proves the answers were right. Exit 0 when
// every vector matched, 1 otherwise.
declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

use Incwo\Connector\Core;
use Incwo\Connector\Tests\Support;

$failures = 0;
$files = Support::vectorFiles();
foreach ($files as $relative) {
    $diff = Support::runVector($relative)['diff'];
    if ($diff !== null) {
        fwrite(STDERR, "FAIL {$relative}: {$diff}\n");
        ++$failures;
    }
}

// The map vectors again through the XML calls (mapXml, mapMany), which must
// give map()'s bytes.
$batch = Support::mapBatchMismatches();
foreach ($batch['diffs'] as $diff) {
    fwrite(STDERR, "FAIL {$diff}\n");
    ++$failures;
}

// The flow exports (start, poll, answers, checkpoint, resume, entries,
// metrics, summary, free), which the vectors reach only inside the core.
$core = new Core();
$args = [
    'config' => ['server' => 'http://127.0.0.1:9', 'businessFileId' => '123456', 'auth' => ['type' => 'basic', 'login' => 'api@example.fr', 'password' => 'secret']],
    'jsonl' => file_get_contents(Support::root() . '/examples/data/batch.jsonl'),
    'now' => 1776240000000,
    'seed' => 7,
];
$flow = $core->startFlow($args);
$now = $args['now'];
$sends = 0;
for ($i = 0; $i < 40; ++$i) {
    $action = $flow->poll($now);
    if ($action['action'] === 'done') {
        break;
    }
    if ($action['action'] === 'send') {
        ++$sends;
        if ($sends % 2 === 0) {
            $flow->onTransportError($action['requestId'], ['kind' => 'timeout', 'phase' => 'sent'], $now);
        } else {
            $flow->onResponse($action['requestId'], ['status' => 503, 'headers' => ['Retry-After' => '1'], 'body' => '<html>busy</html>'], $now);
        }
    } elseif ($action['action'] === 'wait') {
        $now = max($now, $action['until']);
    }
    ++$now;
}
$checkpoint = $flow->checkpoint();
$flow->takeChangedEntries();
$flow->metrics();
$flow->summary();
$flow->free();
$resumed = $core->startFlow($args + ['checkpoint' => $checkpoint]);
$resumed->poll($now);
$resumed->free();
if ($sends === 0) {
    fwrite(STDERR, "FAIL flow: no request sent\n");
    ++$failures;
}

// Release every core before exit, so that anything the library still holds
// is a leak of its own.
Support::releaseCores();
unset($core, $flow, $resumed);
gc_collect_cycles();

printf("%d vectors, %d map records through mapXml and mapMany, %d failed; flow: %d requests answered\n", count($files), $batch['records'], $failures, $sends);
exit($failures === 0 ? 0 : 1);

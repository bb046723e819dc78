<?php

declare(strict_types=1);

namespace Incwo\Connector;

use Incwo\Connector\Exception\IncwoException;
use Incwo\Connector\Exception\TechnicalException;
use Incwo\Connector\Exception\UsageException;

/**
 * The incwo connector core, loaded through PHP's FFI from the C library
 * `libincwo_ffi` (crate `incwo-ffi`). Every method marshals JSON to and from
 * the core, except mapXml() and mapMany(), which hand the XML over as bytes;
 * the rules live in the core. Errors become typed exceptions
 * (technical, contract, business, usage).
 *
 * A Core holds one mapping profile (JSON text; the shipped default when null).
 */
final class Core
{
    /** The FFI scope declared by the preload header (`FFI_SCOPE`) and loaded by `preload.php`. */
    public const FFI_SCOPE = 'INCWO';

    /** @var array<string, \FFI> FFI instances by library and header path (or preloaded scope), for one request. */
    private static array $libraries = [];

    /** Whether this request found no preloaded scope (asked once per request). */
    private static bool $noScope = false;

    private readonly \FFI $ffi;

    /** The native handle of the configured core. */
    private ?\FFI\CData $handle = null;

    /**
     * The out-parameters of the XML calls (`uint8_t *`, `size_t`, `char *`,
     * `size_t`), made once: a call reuses them instead of allocating four.
     *
     * @var array{\FFI\CData, \FFI\CData, \FFI\CData, \FFI\CData}|null
     */
    private ?array $xmlOut = null;

    /**
     * Without paths, the preloaded scope is used when there is one (see {@see library()}).
     *
     * @param string|null $profile     mapping profile JSON text (null: the default profile)
     * @param string|null $libraryPath path of libincwo_ffi.so (null: the preloaded scope, else {@see libraryPath()})
     * @param string|null $headerPath  path of incwo.h (null: the preloaded scope, else $INCWO_FFI_HEADER, then the package's include/incwo.h or bindings/c/include/incwo.h)
     */
    public function __construct(
        private readonly ?string $profile = null,
        ?string $libraryPath = null,
        ?string $headerPath = null,
    ) {
        $this->ffi = self::library($libraryPath, $headerPath);
        $handle = $this->ffi->new('IncwoCore*');
        $this->invoke(fn ($out) => $this->ffi->incwo_core_new($profile, \FFI::addr($handle), $out));
        $this->handle = $handle;
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            $this->ffi->incwo_core_free($this->handle);
            $this->handle = null;
        }
    }

    /** The profile this core was configured with (null: the default). */
    public function profile(): ?string
    {
        return $this->profile;
    }

    /**
     * Loads (once per request and path) the C library with the declarations
     * of its header, and refuses a header and a library of different releases.
     *
     * Without explicit paths, the scope {@see FFI_SCOPE} is used when it was
     * preloaded (`preload.php`: PHP-FPM and the other web SAPIs, where PHP's
     * default `ffi.enable=preload` refuses `FFI::cdef`); otherwise the header
     * is parsed with `FFI::cdef`, which rejects preprocessor lines, so they are
     * stripped.
     */
    public static function library(?string $libraryPath = null, ?string $headerPath = null): \FFI
    {
        if (!extension_loaded('ffi')) {
            throw new UsageException(['class' => 'usage', 'code' => 'ffi.unavailable', 'message' => 'the PHP FFI extension is not loaded', 'hint' => 'install ext-ffi and run with -d ffi.enable=1']);
        }
        if ($libraryPath === null && $headerPath === null && ($scope = self::preloadedScope()) !== null) {
            return $scope;
        }
        $libraryPath ??= self::libraryPath();
        $headerPath ??= self::defaultHeaderPath();
        $key = $libraryPath . "\0" . $headerPath;
        if (!isset(self::$libraries[$key])) {
            $header = @file_get_contents($headerPath);
            if ($header === false) {
                throw new UsageException(['class' => 'usage', 'code' => 'ffi.header_not_found', 'message' => "cannot read the C header {$headerPath}", 'hint' => 'set INCWO_FFI_HEADER or pass the header path']);
            }
            try {
                $ffi = \FFI::cdef(self::declarations($header), $libraryPath);
            } catch (\FFI\Exception $e) {
                $refusal = self::ffiRefusal($libraryPath, $e);
                if ($refusal !== null) {
                    throw $refusal;
                }
                throw new UsageException(['class' => 'usage', 'code' => 'ffi.library_not_loaded', 'message' => "cannot load {$libraryPath}: {$e->getMessage()}", 'hint' => 'build it with `cargo build -p incwo-ffi` or set INCWO_FFI_LIBRARY'], '', $e);
            }
            self::checkVersion($ffi, $header, $headerPath, $libraryPath);
            self::$libraries[$key] = $ffi;
        }

        return self::$libraries[$key];
    }

    /**
     * The preloaded scope (null: not preloaded), its library's release checked
     * against the package's preload header, unless this package's
     * `preload.php` did that when PHP started (a mismatch stops the start).
     */
    public static function preloadedScope(): ?\FFI
    {
        return self::scope(!self::preloadedByThisPackage());
    }

    /**
     * {@see preloadedScope()}, its release always checked.
     *
     * @internal preload.php's check, when PHP starts
     */
    public static function checkedPreloadedScope(): ?\FFI
    {
        return self::scope(true);
    }

    private static function scope(bool $check): ?\FFI
    {
        $key = 'scope:' . self::FFI_SCOPE;
        if (self::$noScope) {
            return null;
        }
        if (!isset(self::$libraries[$key])) {
            try {
                $ffi = \FFI::scope(self::FFI_SCOPE);
            } catch (\FFI\Exception) {
                self::$noScope = true;

                return null;
            }
            if ($check) {
                $path = self::preloadHeaderPath();
                $head = @file_get_contents($path, false, null, 0, 1024);
                if ($head === false) {
                    throw new UsageException(['class' => 'usage', 'code' => 'ffi.header_not_found', 'message' => "cannot read the preload header {$path}", 'hint' => 'set INCWO_FFI_PRELOAD_HEADER or keep incwo.preload.h beside incwo.h (the package\'s include/, or bindings/c/include in the repository)']);
                }
                self::checkVersion($ffi, $head, $path, 'the preloaded scope ' . self::FFI_SCOPE);
            }
            self::$libraries[$key] = $ffi;
        }

        return self::$libraries[$key];
    }

    /** Whether `opcache.preload` is this package's preload.php, which checked the scope's release when PHP started. */
    private static function preloadedByThisPackage(): bool
    {
        $preload = (string) ini_get('opcache.preload');

        return $preload !== '' && realpath($preload) === realpath(dirname(__DIR__) . '/preload.php');
    }

    /** The header's text without what `FFI::cdef` rejects (preprocessor lines). */
    public static function declarations(string $header): string
    {
        return (string) preg_replace('/^[ \t]*#.*$/m', '', $header);
    }

    /** The release a header says it was generated from (`INCWO_HEADER_VERSION`), null when it does not say. */
    public static function headerVersion(string $header): ?string
    {
        return preg_match('/^[ \t]*#define[ \t]+INCWO_HEADER_VERSION[ \t]+"([^"]+)"/m', $header, $m) === 1 ? $m[1] : null;
    }

    /**
     * The path of libincwo_ffi: $INCWO_FFI_LIBRARY, then the library an
     * installed package carries for this platform ({@see NativeLibrary};
     * `ffi.unsupported_platform` when it carries none for this one), then, in
     * a checkout of the repository, the workspace's target/ (release, then
     * debug), else the bare file name (the dynamic loader's search path).
     */
    public static function libraryPath(): string
    {
        $env = getenv('INCWO_FFI_LIBRARY');
        if (is_string($env) && $env !== '') {
            return $env;
        }
        $packaged = NativeLibrary::packaged(dirname(__DIR__));
        if ($packaged !== null) {
            return $packaged;
        }
        $target = getenv('CARGO_TARGET_DIR') ?: dirname(__DIR__, 3) . '/target';
        $name = PHP_OS_FAMILY === 'Darwin' ? 'libincwo_ffi.dylib' : 'libincwo_ffi.so';
        foreach (['release', 'debug'] as $profile) {
            if (is_file("{$target}/{$profile}/{$name}")) {
                return "{$target}/{$profile}/{$name}";
            }
        }

        return $name;
    }

    /**
     * The preload header (`FFI_SCOPE`/`FFI_LIB` defines, then the
     * declarations): $INCWO_FFI_PRELOAD_HEADER, else incwo.preload.h beside
     * the package's incwo.h ({@see headerDir()}).
     */
    public static function preloadHeaderPath(): string
    {
        $env = getenv('INCWO_FFI_PRELOAD_HEADER');

        return is_string($env) && $env !== '' ? $env : self::headerDir() . '/incwo.preload.h';
    }

    private static function defaultHeaderPath(): string
    {
        $env = getenv('INCWO_FFI_HEADER');

        return is_string($env) && $env !== '' ? $env : self::headerDir() . '/incwo.h';
    }

    /** The headers' directory: the installed package's include/, else the repository's bindings/c/include. */
    private static function headerDir(): string
    {
        $packaged = dirname(__DIR__) . '/include';

        return is_file("{$packaged}/incwo.h") ? $packaged : dirname(__DIR__, 2) . '/c/include';
    }

    /**
     * The UsageException saying why PHP refuses FFI here, when it does: FFI
     * disabled (`ffi.enable=0`), or allowed only in preloaded code
     * (`ffi.enable=preload`, PHP's default, outside the CLI) and this class
     * not preloaded. Null: PHP allows FFI here, the failure is another one.
     */
    private static function ffiRefusal(string $libraryPath, \FFI\Exception $e): ?UsageException
    {
        $mode = strtolower((string) ini_get('ffi.enable'));
        if (in_array($mode, ['1', 'on', 'true', 'yes'], true)) {
            return null;
        }
        if ($mode !== 'preload') {
            return new UsageException(['class' => 'usage', 'code' => 'ffi.disabled', 'message' => "cannot load {$libraryPath}: PHP's FFI is disabled (ffi.enable={$mode})", 'hint' => 'set ffi.enable=preload (PHP\'s default) and preload the connector (see the package README), or ffi.enable=1 in the CLI'], '', $e);
        }
        if (PHP_SAPI === 'cli' || self::preloadedClass()) {
            return null;
        }
        $preload = dirname(__DIR__) . '/preload.php';

        return new UsageException([
            'class' => 'usage',
            'code' => 'ffi.not_preloaded',
            'message' => sprintf('cannot load %s: PHP allows FFI only in preloaded code here (ffi.enable=preload, SAPI %s) and the connector was not preloaded', $libraryPath, PHP_SAPI),
            'hint' => "preload it in php.ini: opcache.preload={$preload} and opcache.preload_user=<the pool's user>; when PHP-FPM's master runs as root, also ffi.preload=" . self::preloadHeaderPath() . ' with libincwo_ffi.so on the loader path (see the package README)',
        ], '', $e);
    }

    /** Whether this class was preloaded (opcache's preload statistics; false when opcache does not say). */
    private static function preloadedClass(): bool
    {
        $status = function_exists('opcache_get_status') ? @opcache_get_status(false) : false;

        return is_array($status) && in_array(self::class, (array) ($status['preload_statistics']['classes'] ?? []), true);
    }

    /** Refuses a header and a library of different releases. */
    private static function checkVersion(\FFI $ffi, string $header, string $headerPath, string $library): void
    {
        $expected = self::headerVersion($header);
        if ($expected === null) {
            throw new UsageException(['class' => 'usage', 'code' => 'ffi.header_version_missing', 'message' => "the C header {$headerPath} does not say which release it declares (no INCWO_HEADER_VERSION)", 'hint' => 'use the headers of bindings/c/include generated with the library you load']);
        }
        $actual = (string) $ffi->incwo_version();
        if ($actual !== $expected) {
            throw new UsageException(['class' => 'usage', 'code' => 'ffi.version_mismatch', 'message' => "the C header {$headerPath} declares release {$expected} but {$library} is release {$actual}", 'hint' => 'load the library and the header of the same release (rebuild with `cargo build -p incwo-ffi`, or point INCWO_FFI_LIBRARY and INCWO_FFI_HEADER at one release); restart PHP-FPM after an upgrade so that it preloads the new library']);
        }
    }

    /** The library's version. */
    public function version(): string
    {
        return $this->ffi->incwo_version();
    }

    /**
     * Validates a record: `{kind, valid, violations, record?}`.
     *
     * @param string|array<string, mixed>|object $record the record (JSON text or value)
     *
     * @return array<string, mixed>
     */
    public function validate(string $kind, string|array|object $record): array
    {
        return Json::decode($this->validateJson($kind, Json::text($record)));
    }

    /** {@see validate()} on JSON text, returning JSON text. */
    public function validateJson(string $kind, string $record): string
    {
        return $this->invoke(fn ($out) => $this->ffi->incwo_core_validate($this->handle(), $kind, $record, $out));
    }

    /**
     * Maps a record to incwo XML: `{resource, xml, totals?, warnings}`;
     * an invalid record throws a ContractException with the violations.
     *
     * @param string|array<string, mixed>|object $record
     *
     * @return array<string, mixed>
     */
    public function map(string $kind, string|array|object $record): array
    {
        return Json::decode($this->mapJson($kind, Json::text($record)));
    }

    /** {@see map()} on JSON text, returning JSON text. */
    public function mapJson(string $kind, string $record): string
    {
        return $this->invoke(fn ($out) => $this->ffi->incwo_core_map($this->handle(), $kind, $record, $out));
    }

    /**
     * The incwo XML a record becomes: the `xml` of {@see map()}, with the same
     * bytes, returned as is (no JSON document to decode). An invalid record
     * throws as map() does (a ContractException with the violations).
     *
     * @param string|array<string, mixed>|object $record   the record (JSON text or value)
     * @param list<array<string, mixed>>|null     $warnings set to the record's warnings (the `warnings` of map(); an empty list for none)
     */
    public function mapXml(string $kind, string|array|object $record, ?array &$warnings = null): string
    {
        $record = Json::text($record);
        [$out, $length, $warningsOut] = $this->xmlOut();
        $status = $this->ffi->incwo_core_map_xml($this->handle(), $kind, $record, strlen($record), \FFI::addr($out), \FFI::addr($length), \FFI::addr($warningsOut));
        $text = $this->takeBytes($out, $length);
        $warnings = $this->takeWarnings($warningsOut) ?? [];
        if ($status !== 0) {
            $this->fail($status, $text);
        }

        return (string) $text;
    }

    /**
     * Maps many records of one kind in one native call: for each record, in
     * order and under its key, its XML (as {@see mapXml()}) or, for a record
     * that was not mapped, its exception (returned, not thrown: the others
     * are mapped all the same). Throws only when the call itself is refused
     * (an unknown kind).
     *
     * @param array<array-key, string|array<string, mixed>|object>        $records  records (JSON text or values)
     * @param array<array-key, list<array<string, mixed>>>|null           $warnings set to the warnings of the records that have some, by key
     *
     * @return array<array-key, string|IncwoException>
     */
    public function mapMany(string $kind, array $records, ?array &$warnings = null): array
    {
        $warnings = [];
        $count = count($records);
        if ($count === 0) {
            return [];
        }
        $lengths = $this->ffi->new("size_t[{$count}]");
        $texts = [];
        $i = 0;
        foreach ($records as $record) {
            $text = is_string($record) ? $record : Json::text($record);
            $texts[] = $text;
            $lengths[$i++] = strlen($text);
        }
        $data = implode('', $texts);
        unset($texts);
        $statuses = $this->ffi->new("enum IncwoStatus[{$count}]");
        [$out, $length, $warningsOut, $failed] = $this->xmlOut();
        $status = $this->ffi->incwo_core_map_many($this->handle(), $kind, $data, strlen($data), $lengths, $count, $statuses, \FFI::addr($out), \FFI::addr($length), \FFI::addr($failed), \FFI::addr($warningsOut));
        $text = $this->takeBytes($out, $length);
        $listed = $this->takeWarnings($warningsOut);
        if ($status !== 0) {
            $this->fail($status, $text);
        }
        $items = explode("\0", (string) $text, $count + 1);
        array_pop($items);
        if ($failed->cdata > 0) {
            for ($i = 0; $i < $count; ++$i) {
                if ($statuses[$i] !== 0) {
                    $items[$i] = self::exception($this->ffi->incwo_status_name($statuses[$i]), $items[$i]);
                }
            }
        }
        $keys = array_is_list($records) ? null : array_keys($records);
        foreach ($listed ?? [] as $entry) {
            $warnings[$keys === null ? $entry['index'] : $keys[$entry['index']]] = $entry['warnings'];
        }

        return $keys === null ? $items : array_combine($keys, $items);
    }

    /**
     * The out-parameters of the XML calls, made on first use.
     *
     * @return array{\FFI\CData, \FFI\CData, \FFI\CData, \FFI\CData}
     */
    private function xmlOut(): array
    {
        return $this->xmlOut ??= [$this->ffi->new('uint8_t*'), $this->ffi->new('size_t'), $this->ffi->new('char*'), $this->ffi->new('size_t')];
    }

    /** The bytes a call wrote (null: none), freed in the library (the next call sets the pointer again, NULL first). */
    private function takeBytes(\FFI\CData $out, \FFI\CData $length): ?string
    {
        if (\FFI::isNull($out)) {
            return null;
        }
        $size = $length->cdata;
        $text = $size === 0 ? '' : \FFI::string($out, $size);
        $this->ffi->incwo_bytes_free($out, $size);

        return $text;
    }

    /**
     * The warnings a call wrote (null: none), freed in the library (the next call sets the pointer again, NULL first).
     *
     * @return list<array<string, mixed>>|null
     */
    private function takeWarnings(\FFI\CData $out): ?array
    {
        if (\FFI::isNull($out)) {
            return null;
        }
        $text = \FFI::string($out);
        $this->ffi->incwo_string_free($out);

        return Json::decode($text);
    }

    /**
     * The JSON Schema of a kind.
     *
     * @return array<string, mixed>
     */
    public function schema(string $kind): array
    {
        return Json::decode($this->schemaJson($kind));
    }

    /** {@see schema()} as JSON text. */
    public function schemaJson(string $kind): string
    {
        return $this->invoke(fn ($out) => $this->ffi->incwo_core_schema($this->handle(), $kind, $out));
    }

    /**
     * Parses an incwo XML document of a resource (`firms`, `bill_sheets`…).
     *
     * @return array<string, mixed>
     */
    public function parse(string $resource, string $xml): array
    {
        return Json::decode($this->parseJson($resource, $xml));
    }

    /** {@see parse()} returning JSON text. */
    public function parseJson(string $resource, string $xml): string
    {
        $length = strlen($xml);
        $buffer = null;
        if ($length > 0) {
            $buffer = $this->ffi->new("uint8_t[{$length}]");
            \FFI::memcpy($buffer, $xml, $length);
        }

        return $this->invoke(fn ($out) => $this->ffi->incwo_parse($resource, $buffer, $length, $out));
    }

    /**
     * Checks a mapping profile: the profile with its defaults, or a UsageException.
     *
     * @return array<string, mixed>
     */
    public function checkProfile(string $profile): array
    {
        return Json::decode($this->invoke(fn ($out) => $this->ffi->incwo_check_profile($profile, $out)));
    }

    /**
     * One of the core's JSON calls by name: `request`, `classify`, `retry`,
     * `retry.decide`, `telemetry.render`, `telemetry.redact`,
     * `telemetry.normalize_endpoint`, `telemetry.log`… `debug.panic`
     * (`['message' => '…']`) is the self-test of the panic barrier: it throws
     * a UsageException `usage.internal_panic` and the core goes on; never use
     * it in production.
     *
     * @param string|array<string, mixed>|object $args
     *
     * @return array<string, mixed>
     */
    public function call(string $name, string|array|object $args): array
    {
        return Json::decode($this->callJson($name, Json::text($args)));
    }

    /** {@see call()} on JSON text, returning JSON text. */
    public function callJson(string $name, string $args): string
    {
        return $this->invoke(fn ($out) => $this->ffi->incwo_call($name, $args, $out));
    }

    /**
     * Renders metric events in Prometheus text format (`telemetry.render`).
     *
     * @param list<array<string, mixed>> $events
     */
    public function renderMetrics(array $events): string
    {
        return (string) ($this->call('telemetry.render', ['events' => $events])['text'] ?? '');
    }

    /**
     * The queue of a family of records (quote, order, stock, billing,
     * referential), e.g. `erp.incwo.order.acme.eur`, or its quarantine.
     *
     * @param array{company?: string, currency?: string, warehouse?: string} $segments
     */
    public function queueName(string $family, array $segments = [], bool $quarantine = false): string
    {
        $args = Json::text(['family' => $family, 'quarantine' => $quarantine] + $segments);

        return (string) Json::decode($this->invoke(fn ($out) => $this->ffi->incwo_queue_name($args, $out)))['queue'];
    }

    /**
     * Starts a flow (or resumes it when `$args['checkpoint']` is set). `$args`:
     * `config`, `records` or `jsonl`, `now`, and optionally `options`, `seed`,
     * `checkpoint`; the core's profile is used unless `profile` is given.
     *
     * @param array<string, mixed> $args
     */
    public function startFlow(array $args): Flow
    {
        if (!array_key_exists('profile', $args) && $this->profile !== null) {
            $args['profile'] = $this->profile;
        }
        $json = Json::text($args);
        $handle = $this->ffi->new('IncwoFlow*');
        $this->invoke(fn ($out) => $this->ffi->incwo_flow_start($json, \FFI::addr($handle), $out));

        return new Flow($this, $handle);
    }

    /**
     * Calls a native function that writes JSON to `char **out` and returns
     * the text, or throws the typed exception of its status.
     *
     * @param callable(\FFI\CData): int $call
     *
     * @internal used by Flow
     */
    public function invoke(callable $call): string
    {
        $out = $this->ffi->new('char*');
        $status = (int) $call(\FFI::addr($out));
        $text = null;
        if (!\FFI::isNull($out)) {
            $text = \FFI::string($out);
            $this->ffi->incwo_string_free($out);
        }
        if ($status === 0) {
            return $text ?? '';
        }
        $this->fail($status, $text);
    }

    /**
     * Throws the typed exception of a failed call's status and error document.
     *
     * @param string|null $text the error document the call wrote (null: none)
     */
    private function fail(int $status, ?string $text): never
    {
        $name = $this->ffi->incwo_status_name($status);
        if ($text !== null && in_array($name, ['panic', 'usage', 'contract', 'technical', 'business'], true)) {
            throw self::exception($name, $text);
        }
        if ($name === 'panic') {
            throw self::exception('panic', '');
        }
        $error = ['class' => 'usage', 'code' => "ffi.{$name}", 'message' => "the incwo library refused the call: {$name}"];
        if ($name === 'interior_nul') {
            throw new TechnicalException(['class' => 'technical'] + $error);
        }
        throw new UsageException($error);
    }

    /**
     * The exception of an error document, by the status of its class
     * (`panic`: a panic inside the core, a bug or the `debug.panic`
     * self-test, caught by the C ABI; its document is the core's
     * `usage.internal_panic` error, and the process and this core go on).
     */
    private static function exception(string $status, string $text): IncwoException
    {
        $document = json_decode($text, true);
        if (is_array($document) && is_array($document['error'] ?? null)) {
            return IncwoException::fromError($document['error'], $text);
        }
        $error = $status === 'panic'
            ? ['class' => 'usage', 'code' => 'usage.internal_panic', 'message' => 'the connector core panicked', 'hint' => 'report it to the connector\'s maintainers with the input that caused it']
            : ['class' => $status, 'code' => "ffi.{$status}", 'message' => 'unreadable error document'];

        return IncwoException::fromError($error, $text);
    }

    /** @internal the FFI instance, for Flow */
    public function ffi(): \FFI
    {
        return $this->ffi;
    }

    private function handle(): \FFI\CData
    {
        if ($this->handle === null) {
            throw new UsageException(['class' => 'usage', 'code' => 'usage.invalid_handle', 'message' => 'this core was released', 'hint' => 'create a new Core']);
        }

        return $this->handle;
    }
}

<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

use PHPUnit\Framework\Assert;

/**
 * A private MariaDB server for tests: a fresh data directory under the
 * system temp dir, a Unix socket there, no TCP port, stopped and removed on
 * destruction. Debian's `mariadb-server` (installed by scripts/suites/php.sh).
 * As root (CI containers) the server needs `--user=root`: it refuses to run
 * as root otherwise, and there is no other account to switch to.
 */
final class MariaDb
{
    public readonly string $dsn;

    private readonly string $dir;

    /** @var resource */
    private $process;

    private function __construct(string $dir)
    {
        $this->dir = $dir;
        $this->dsn = "mysql:unix_socket={$dir}/mysqld.sock;dbname=incwo";
    }

    /**
     * A started server, or the test skipped when Debian's MariaDB is not
     * installed (failed under CI, where scripts/suites/php.sh installs it).
     */
    public static function startOrSkip(): self
    {
        if (!self::available()) {
            if (getenv('CI') === 'true') {
                Assert::fail('MariaDB is not installed: scripts/suites/php.sh installs mariadb-server and php8.2-mysql');
            }
            Assert::markTestSkipped('mariadb-server / php8.2-mysql not installed');
        }

        return self::start();
    }

    /** Whether Debian's MariaDB server is installed. */
    public static function available(): bool
    {
        return is_executable('/usr/sbin/mariadbd') && is_executable('/usr/bin/mariadb-install-db') && extension_loaded('pdo_mysql');
    }

    /** Initialises a data directory, starts the server and creates the database `incwo`. */
    public static function start(): self
    {
        $dir = sys_get_temp_dir() . '/incwo-mariadb-' . getmypid() . '-' . bin2hex(random_bytes(3));
        mkdir($dir, 0o700, true);
        $user = function_exists('posix_geteuid') && posix_geteuid() === 0 ? ['--user=root'] : [];
        $install = array_merge(['/usr/bin/mariadb-install-db', '--no-defaults', "--datadir={$dir}/data", '--auth-root-authentication-method=normal', '--skip-test-db'], $user);
        exec(implode(' ', array_map('escapeshellarg', $install)) . ' >' . escapeshellarg("{$dir}/install.log") . ' 2>&1', $out, $status);
        if ($status !== 0) {
            throw new \RuntimeException("mariadb-install-db failed ({$status}), see {$dir}/install.log");
        }
        $db = new self($dir);
        $server = array_merge(['/usr/sbin/mariadbd', '--no-defaults', "--datadir={$dir}/data", "--socket={$dir}/mysqld.sock", '--skip-networking', "--pid-file={$dir}/mysqld.pid", "--log-error={$dir}/error.log", '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M'], $user);
        $process = proc_open($server, [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'a'], 2 => ['file', '/dev/null', 'a']], $pipes);
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start mariadbd');
        }
        $db->process = $process;
        $deadline = microtime(true) + 30;
        while (true) {
            try {
                $pdo = new \PDO("mysql:unix_socket={$dir}/mysqld.sock", 'root', '');
                $pdo->exec('CREATE DATABASE IF NOT EXISTS incwo');

                return $db;
            } catch (\PDOException $e) {
                if (microtime(true) > $deadline || !proc_get_status($process)['running']) {
                    $db->stop();
                    throw new \RuntimeException("mariadbd did not start: see {$dir}/error.log", 0, $e);
                }
                usleep(100_000);
            }
        }
    }

    /** A new connection to the database `incwo`. */
    public function pdo(): \PDO
    {
        return new \PDO($this->dsn, 'root', '');
    }

    /** Stops the server and removes its directory (idempotent). */
    public function stop(): void
    {
        if (isset($this->process) && is_resource($this->process)) {
            proc_terminate($this->process);
            $deadline = microtime(true) + 20;
            while (proc_get_status($this->process)['running'] && microtime(true) < $deadline) {
                usleep(100_000);
            }
            proc_close($this->process);
            exec('rm -rf ' . escapeshellarg($this->dir));
        }
    }

    public function __destruct()
    {
        $this->stop();
    }
}

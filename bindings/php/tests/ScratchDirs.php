<?php

declare(strict_types=1);

namespace Incwo\Connector\Tests;

/**
 * Scratch directories for a test: each `scratch()` call makes a private
 * (0700) directory under the system temp dir, removed after the test.
 */
trait ScratchDirs
{
    /** @var list<string> scratch directories of the current test */
    private array $scratchDirs = [];

    protected function tearDown(): void
    {
        foreach ($this->scratchDirs as $dir) {
            exec('rm -rf ' . escapeshellarg($dir));
        }
        $this->scratchDirs = [];
    }

    /** A new scratch directory; `$name` goes into its name, to tell them apart. */
    private function scratch(string $name = 'test'): string
    {
        $dir = sys_get_temp_dir() . "/incwo-{$name}-" . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($dir, 0o700, true);
        $this->scratchDirs[] = $dir;

        return $dir;
    }
}
